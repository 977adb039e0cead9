"""The two ways the engine refuses work: a malformed document, or an evaluation it cannot carry out."""

from __future__ import annotations


class EngineError(Exception):
    """The check cannot be evaluated; Schematic's engine answers these with an error code (PROTOCOL.md §5.4 F16)."""


class DocumentError(EngineError):
    """A wire document does not have the shape the engine accepts; ``path`` names the offending field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
