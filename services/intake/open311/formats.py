"""Open311 documents in JSON or XML, as the GeoReport v2 specification shapes them.

Each document is a list of records (or one record for discovery and a service
definition) of plain values, lists and nested records. XML is built with ElementTree:
a list becomes its plural element with one child per item (``services``/``service``,
``service_requests``/``request``, ``attributes``/``attribute``, ``values``/``value``,
``errors``/``error``, ``endpoints``/``endpoint``, ``formats``/``format``); ``None`` is an
empty element; booleans are ``true``/``false``. Every XML document parses whatever the
stored text holds: a character XML 1.0 forbids (a control character, U+FFFE, U+FFFF, a
lone surrogate, from rows stored before intake refused them) is written as U+FFFD.
Pure; no I/O.
"""
import json
import re
from xml.etree import ElementTree

FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
#: a list's element name → the name of each of its items
ITEM_NAMES = {"services": "service", "service_requests": "request", "attributes": "attribute",
              "values": "value", "errors": "error", "endpoints": "endpoint", "formats": "format",
              "keywords": "keyword"}
#: what XML 1.0 does not allow anywhere in a document (its Char production's complement)
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(document, root, fmt):
    """``(body, content type)`` of ``document`` (a list or a record) named ``root``."""
    if fmt == "json":
        return json.dumps(document, ensure_ascii=False, default=str), CONTENT_TYPES["json"]
    element = ElementTree.Element(root)
    _fill(element, root, document)
    body = ElementTree.tostring(element, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>' + body, CONTENT_TYPES["xml"]


def errors_document(status, description):
    return [{"code": status, "description": description}]


def _fill(element, name, value):
    if isinstance(value, list):
        item_name = ITEM_NAMES.get(name, "item")
        for item in value:
            _fill(ElementTree.SubElement(element, item_name), item_name, item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _fill(ElementTree.SubElement(element, key), key, item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = NOT_XML.sub("\ufffd", str(value))
