"""A small validator of GeoReport v2 responses, written from the spec (wiki.open311.org/GeoReport_v2).

Every Open311 response in the tests goes through ``check``: the content type and UTF-8, the XML
declaration and the root/child element names, the fields each method must return and no others,
the values the spec enumerates, and W3C date-times with a time zone.
"""

from __future__ import annotations

import json
import re
from typing import Any
from xml.etree import ElementTree

import httpx

W3C_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")

SERVICE = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
SERVICE_TYPES = {"realtime", "batch", "blackbox"}
ATTRIBUTE = {
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
}
DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}
REQUEST = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}
REQUEST_MAY_BE_LEFT_OUT = {"status_notes", "agency_responsible", "service_notice", "expected_datetime"}
REQUEST_DATETIMES = {"requested_datetime", "updated_datetime", "expected_datetime"}
CREATED = {"service_request_id", "token", "service_notice", "account_id"}
TOKEN = {"service_request_id", "token"}

ROOTS = {
    "services": ("services", "service"),
    "requests": ("service_requests", "request"),
    "created": ("service_requests", "request"),
    "token": ("service_requests", "request"),
    "errors": ("errors", "error"),
}


class Invalid(AssertionError):
    pass


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise Invalid(message)


def _bool(value: Any, where: str) -> None:
    _require(value in (True, False, "true", "false"), f"{where} must be true or false, not {value!r}")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _check_fields(item: dict[str, Any], required: set[str], allowed: set[str], where: str) -> None:
    missing = required - item.keys()
    _require(not missing, f"{where}: missing {sorted(missing)}")
    extra = item.keys() - allowed
    _require(not extra, f"{where}: fields outside the spec {sorted(extra)}")


def _service(item: dict[str, Any], where: str) -> None:
    _check_fields(item, SERVICE, SERVICE, where)
    _require(bool(_text(item["service_code"])), f"{where}: empty service_code")
    _bool(item["metadata"], f"{where}.metadata")
    _require(item["type"] in SERVICE_TYPES, f"{where}.type {item['type']!r} not in {SERVICE_TYPES}")


def _request(item: dict[str, Any], where: str) -> None:
    _check_fields(item, REQUEST - REQUEST_MAY_BE_LEFT_OUT, REQUEST, where)
    _require(bool(_text(item["service_request_id"])), f"{where}: empty service_request_id")
    _require(item["status"] in ("open", "closed"), f"{where}.status {item['status']!r} is not open/closed")
    for name in REQUEST_DATETIMES & item.keys():
        value = item[name]
        if value is None and name == "expected_datetime":
            continue
        _require(
            isinstance(value, str) and bool(W3C_DATETIME.match(value)),
            f"{where}.{name} {value!r} is not a W3C date-time with a time zone",
        )
    description = item.get("description")
    _require(description is None or len(description) <= 4000, f"{where}.description over 4000 characters")


def _created(item: dict[str, Any], where: str) -> None:
    _check_fields(item, set(), CREATED, where)
    _require(
        ("service_request_id" in item) != ("token" in item),
        f"{where}: exactly one of service_request_id and token",
    )


def _token(item: dict[str, Any], where: str) -> None:
    _check_fields(item, TOKEN, TOKEN, where)


def _error(item: dict[str, Any], where: str) -> None:
    _check_fields(item, {"code", "description"}, {"code", "description"}, where)
    _require(str(item["code"]).isdigit(), f"{where}.code {item['code']!r} is not a number")
    _require(bool(item["description"]), f"{where}: empty description")


def _definition(item: dict[str, Any], where: str) -> None:
    _check_fields(item, {"service_code", "attributes"}, {"service_code", "attributes"}, where)
    orders = []
    for i, attribute in enumerate(item["attributes"]):
        at = f"{where}.attributes[{i}]"
        _check_fields(attribute, ATTRIBUTE - {"values"}, ATTRIBUTE, at)
        _bool(attribute["variable"], f"{at}.variable")
        _bool(attribute["required"], f"{at}.required")
        _require(attribute["datatype"] in DATATYPES, f"{at}.datatype {attribute['datatype']!r}")
        order = int(attribute["order"])
        _require(order >= 1, f"{at}.order must be a positive integer")
        orders.append(order)
        if attribute["datatype"] in ("singlevaluelist", "multivaluelist"):
            values = attribute.get("values") or []
            _require(bool(values), f"{at}: a {attribute['datatype']} needs values")
            for value in values:
                _check_fields(value, {"key", "name"}, {"key", "name"}, f"{at}.values")
    _require(len(orders) == len(set(orders)), f"{where}: attribute orders must be unique")


ITEM_CHECKS = {
    "services": _service,
    "requests": _request,
    "created": _created,
    "token": _token,
    "errors": _error,
}


def _xml_items(element: ElementTree.Element) -> dict[str, Any]:
    """An XML element's children as a dict (the JSON shape): lists for the spec's plural elements."""
    item: dict[str, Any] = {}
    for child in element:
        if child.tag in ("attributes", "values"):
            item[child.tag] = [_xml_items(grandchild) for grandchild in child]
        else:
            item[child.tag] = child.text
    return item


def _parse_xml(response: httpx.Response, root: str) -> ElementTree.Element:
    _require(
        response.headers["content-type"].replace(" ", "").lower() == "text/xml;charset=utf-8",
        f"XML content type is {response.headers['content-type']!r}",
    )
    text = response.content.decode("utf-8")
    _require(
        re.match(r'^<\?xml version="1\.0" encoding="utf-8"\?>', text, re.IGNORECASE) is not None,
        "XML must start with the declaration naming encoding UTF-8",
    )
    document = ElementTree.fromstring(response.content)
    _require(document.tag == root, f"XML root is <{document.tag}>, the spec says <{root}>")
    _require(not document.tag.startswith("{"), "XML must carry no namespace")
    return document


def check(response: httpx.Response, kind: str) -> list[dict[str, Any]] | dict[str, Any]:
    """Validate an Open311 response of ``kind`` (services, definition, requests, created, token,
    errors) in whichever format it came; returns its items in the JSON shape."""
    is_xml = response.request.url.path.endswith(".xml")
    if kind == "definition":
        if is_xml:
            document = _parse_xml(response, "service_definition")
            item = _xml_items(document)
        else:
            item = json.loads(response.content)
        _definition(item, "service_definition")
        return item
    root, child = ROOTS[kind]
    if is_xml:
        document = _parse_xml(response, root)
        tags = {element.tag for element in document}
        _require(tags <= {child}, f"<{root}> holds {sorted(tags)}, the spec says only <{child}>")
        items = [_xml_items(element) for element in document]
    else:
        _require(
            response.headers["content-type"].startswith("application/json"),
            f"JSON content type is {response.headers['content-type']!r}",
        )
        items = json.loads(response.content)
        _require(isinstance(items, list), f"a {kind} response is a JSON array")
    for i, item in enumerate(items):
        ITEM_CHECKS[kind](item, f"{child}[{i}]")
    if kind in ("errors", "created", "token"):
        _require(len(items) >= 1, f"a {kind} response holds at least one <{child}>")
    return items
