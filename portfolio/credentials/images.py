"""Badge images: PNG checked by content, SVG cleaned with a strict allowlist.

An SVG is a document that can carry scripts, event handlers, embedded HTML (foreignObject) and
links to other sites. We keep only drawing elements and presentation attributes, drop every
reference that is not to a fragment of the same file (or an inline raster image), and serve the
result with a sandboxing CSP as a second line of defence.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from xml.etree.ElementTree import (
    Element,
    register_namespace,
    tostring,
)

import magic
from defusedxml import ElementTree as SafeET
from PIL import UnidentifiedImageError

from portfolio.core.errors import DomainError
from portfolio.core.images import ImageTooLarge, check_image_header, open_checked

MAX_IMAGE_BYTES = 1024 * 1024
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
register_namespace("", SVG_NS)
register_namespace("xlink", XLINK_NS)

ALLOWED_ELEMENTS = frozenset(
    {
        "svg",
        "g",
        "defs",
        "title",
        "desc",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "textPath",
        "linearGradient",
        "radialGradient",
        "stop",
        "clipPath",
        "mask",
        "pattern",
        "symbol",
        "use",
        "image",
        "marker",
        "filter",
        "feGaussianBlur",
        "feOffset",
        "feBlend",
        "feColorMatrix",
        "feMerge",
        "feMergeNode",
        "feFlood",
        "feComposite",
        "feDropShadow",
    }
)
ALLOWED_ATTRIBUTES = frozenset(
    {
        "id",
        "class",
        "viewBox",
        "width",
        "height",
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "d",
        "points",
        "transform",
        "fill",
        "fill-opacity",
        "fill-rule",
        "stroke",
        "stroke-width",
        "stroke-opacity",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-dasharray",
        "stroke-dashoffset",
        "stroke-miterlimit",
        "opacity",
        "font-family",
        "font-size",
        "font-weight",
        "font-style",
        "text-anchor",
        "dominant-baseline",
        "letter-spacing",
        "gradientUnits",
        "gradientTransform",
        "offset",
        "stop-color",
        "stop-opacity",
        "fx",
        "fy",
        "spreadMethod",
        "clip-path",
        "clipPathUnits",
        "mask",
        "maskUnits",
        "patternUnits",
        "preserveAspectRatio",
        "version",
        "href",
        "dx",
        "dy",
        "rotate",
        "textLength",
        "markerWidth",
        "markerHeight",
        "refX",
        "refY",
        "orient",
        "marker-start",
        "marker-mid",
        "marker-end",
        "filter",
        "stdDeviation",
        "in",
        "in2",
        "result",
        "mode",
        "values",
        "type",
        "flood-color",
        "flood-opacity",
        "operator",
        "visibility",
        "display",
        "color",
        "vector-effect",
        "shape-rendering",
        "startOffset",
        "baseline-shift",
    }
)
#: Attributes that may hold url(...) references: only `url(#fragment)` is kept.
_URL_RE = re.compile(r"url\s*\(", re.IGNORECASE)
_LOCAL_URL_RE = re.compile(r"^\s*url\(\s*['\"]?#[A-Za-z0-9_.:-]+['\"]?\s*\)\s*$")
_DATA_IMAGE_RE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+$")


def _local_name(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def _clean(element: Element) -> None:
    for child in list(element):
        if not isinstance(child.tag, str):
            element.remove(child)  # comments and processing instructions
            continue
        ns, name = _local_name(child.tag)
        if ns != SVG_NS or name not in ALLOWED_ELEMENTS:
            element.remove(child)  # script, foreignObject, style, anything unknown
            continue
        _clean(child)
    for attr in list(element.attrib):
        value = element.attrib[attr]
        ns, name = _local_name(attr)
        keep = ns in ("", XLINK_NS) and name in ALLOWED_ATTRIBUTES and (ns == "" or name == "href")
        if keep and name == "href":
            _, tag_name = _local_name(element.tag)
            keep = value.startswith("#") or (
                tag_name == "image"
                and bool(_DATA_IMAGE_RE.match(value))
                and _embedded_image_fits(value)
            )
        if keep and _URL_RE.search(value):
            keep = bool(_LOCAL_URL_RE.match(value))
        if not keep:
            del element.attrib[attr]


def _embedded_image_fits(data_url: str) -> bool:
    """An image embedded in an SVG is decoded by every browser that shows the badge: the same
    pixel budget as for a PNG upload (`ImageTooLarge` above it)."""
    try:
        raw = base64.b64decode("".join(data_url.split(",", 1)[1].split()), validate=True)
    except (ValueError, binascii.Error):
        return False
    check_image_header(raw, what="An image inside the SVG")
    return True


def sanitize_svg(data: bytes) -> bytes:
    """A cleaned copy of an SVG, or `DomainError` when it is not a well-formed SVG."""
    try:
        # defusedxml refuses DTDs, entity expansion and external entities.
        root = SafeET.fromstring(data, forbid_dtd=True)
    except Exception as exc:
        raise DomainError("The image is not a well-formed SVG file.") from exc
    if root.tag != f"{{{SVG_NS}}}svg":
        raise DomainError("The image is not an SVG file (its root element is not <svg>).")
    _clean(root)
    for attr in list(root.attrib):
        if attr.startswith("on"):
            del root.attrib[attr]
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(
        root, encoding="utf-8", xml_declaration=False
    )


def check_badge_image(data: bytes) -> tuple[bytes, str]:
    """The bytes to store and their type, after checking the content (not the name)."""
    if not data:
        raise DomainError("The image file is empty.")
    if len(data) > MAX_IMAGE_BYTES:
        raise DomainError("The image is larger than 1 MB.")
    detected = magic.from_buffer(data[:8192], mime=True)
    if detected == "image/png":
        try:
            # The pixel budget first, from the header; verify() then reads every chunk (CRCs,
            # text chunks bounded by Pillow's limits) without decoding the pixels.
            with open_checked(data, what="The image") as img:
                img.verify()
        except ImageTooLarge:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error) as exc:
            raise DomainError("The PNG image is damaged or carries too much text data.") from exc
        return data, "image/png"
    if detected in {"image/svg+xml", "text/xml", "application/xml", "text/plain", "text/html"}:
        return sanitize_svg(data), "image/svg+xml"
    raise DomainError(f"The image must be a PNG or SVG file; this file is {detected}.")


#: Served with SVG images: no script, no plugins, no outside requests, even if opened directly.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
