"""Submitting an admin page's form as a browser would, from the HTML the page rendered.

``form_data`` reads the page's main form the way a browser builds its submission: text inputs and textareas with
their values, checked checkboxes and radios, and for each single select the selected option — or, when the page
marked none selected, the *first* option, as browsers do. That last rule is what makes a stored value that does not
round-trip through its widget visible: the page shows a blank choice and a browser silently submits it.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

_SKIPPED_INPUT_TYPES = {"submit", "button", "image", "reset", "file"}


class _FormParser(HTMLParser):
    def __init__(self, form_id: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self._wanted = form_id
        self._depth = 0  # > 0 while inside the wanted form
        self.fields: list[tuple[str, str]] = []
        self._select: dict[str, Any] | None = None
        self._option: dict[str, Any] | None = None
        self._textarea: dict[str, Any] | None = None
        self.found = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            if self._depth:
                self._depth += 1
            elif self._wanted is None or attributes.get("id") == self._wanted:
                self._depth, self.found = 1, True
            return
        if not self._depth or "disabled" in attributes:
            return
        name = attributes.get("name")
        if tag == "input" and name:
            kind = attributes.get("type", "text").lower()
            if kind in _SKIPPED_INPUT_TYPES:
                return
            if kind in {"checkbox", "radio"}:
                if "checked" in attributes:
                    self.fields.append((name, attributes.get("value", "on")))
                return
            self.fields.append((name, attributes.get("value", "")))
        elif tag == "select" and name:
            self._select = {"name": name, "multiple": "multiple" in attributes, "options": [], "selected": []}
        elif tag == "option" and self._select is not None:
            self._option = {"value": attributes.get("value"), "text": "", "selected": "selected" in attributes}
        elif tag == "textarea" and name:
            self._textarea = {"name": name, "text": ""}

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._textarea["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._depth:
            self._depth -= 1
        elif tag == "option" and self._option is not None and self._select is not None:
            self._close_option()
        elif tag == "select" and self._select is not None:
            if self._option is not None:
                self._close_option()
            select, self._select = self._select, None
            values = select["selected"] or ([] if select["multiple"] else select["options"][:1])
            self.fields.extend((select["name"], value) for value in values)
        elif tag == "textarea" and self._textarea is not None:
            text = self._textarea["text"]
            self.fields.append((self._textarea["name"], text[1:] if text.startswith("\n") else text))
            self._textarea = None

    def _close_option(self) -> None:
        assert self._option is not None and self._select is not None
        option, self._option = self._option, None
        value = option["value"] if option["value"] is not None else option["text"].strip()
        self._select["options"].append(value)
        if option["selected"]:
            self._select["selected"].append(value)


def form_data(html: str, *, form_id: str | None = None) -> dict[str, list[str]]:
    """The submission a browser would send for the page's form (``form_id``, or the first form), by field name."""
    parser = _FormParser(form_id)
    parser.feed(html)
    assert parser.found, f"no form {form_id or ''} on the page"
    data: dict[str, list[str]] = {}
    for name, value in parser.fields:
        data.setdefault(name, []).append(value)
    return data


def admin_change_form_data(html: str, *, model_name: str) -> dict[str, list[str]]:
    """The unchanged submission of an admin change page's main form (``<model>_form``), with its Save button."""
    data = form_data(html, form_id=f"{model_name}_form")
    data["_save"] = ["Save"]
    return data
