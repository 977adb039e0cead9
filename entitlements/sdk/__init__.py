"""The SDK door: the Schematic-protocol routes at the host root (``/flags/…/check``, ``/flags/check``, ``/batch``),
the parsing of check requests and of captured events."""
