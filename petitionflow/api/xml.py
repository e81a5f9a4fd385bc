"""GeoReport v2 XML: the JSON shapes mapped to elements the spec's way (the Spark convention).

A list becomes a plural element holding one singular element per item (``services`` → ``service``),
None an empty element, booleans ``true``/``false``. No namespace, UTF-8, with the XML declaration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from xml.etree import ElementTree

from fastapi import Response

UNPRINTABLE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""What XML 1.0 cannot hold: control characters other than tab, newline and carriage return,
lone surrogates, U+FFFE and U+FFFF. PostgreSQL cannot hold U+0000 either."""
UNPRINTABLE_REASON = "must not contain control characters (other than tab, newline, carriage return)"


Fields = Mapping[str, Any]
"""Element name → a scalar, a datetime, None (an empty element) or a list of nested ``Fields``."""

_SINGULAR = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}
CONTENT_TYPE = "text/xml; charset=utf-8"


def _text(value: str | int | float | bool | datetime) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return w3c(value)
    # What XML 1.0 cannot carry even escaped becomes U+FFFD: one stored control character (from
    # before the door refused them) must not make a whole list unparseable.
    return UNPRINTABLE.sub("\ufffd", str(value))


def w3c(moment: datetime) -> str:
    """A moment in the W3C profile of ISO 8601 with its offset (UTC as ``Z``), to the second."""
    text = moment.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _fill(parent: ElementTree.Element, fields: Fields) -> None:
    for name, value in fields.items():
        child = ElementTree.SubElement(parent, name)
        if value is None:
            continue
        if isinstance(value, Sequence) and not isinstance(value, str):
            _items(child, _SINGULAR[name], value)
        else:
            child.text = _text(value)


def _items(parent: ElementTree.Element, tag: str, items: Sequence[Fields | str]) -> None:
    for item in items:
        child = ElementTree.SubElement(parent, tag)
        if isinstance(item, str):
            child.text = _text(item)  # discovery's <formats><format>text/xml</format>…
        else:
            _fill(child, item)


def _document(root: ElementTree.Element) -> bytes:
    body = ElementTree.tostring(root, encoding="unicode", short_empty_elements=True)
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode("utf-8")


def render_list(root: str, items: Sequence[Fields]) -> bytes:
    """``<root><item>…</item>…</root>``, the item tag being the singular of ``root``."""
    element = ElementTree.Element(root)
    _items(element, _SINGULAR[root], items)
    return _document(element)


def render_object(root: str, fields: Fields) -> bytes:
    element = ElementTree.Element(root)
    _fill(element, fields)
    return _document(element)


def response(content: bytes, status: int = 200) -> Response:
    return Response(content, status_code=status, media_type=CONTENT_TYPE)
