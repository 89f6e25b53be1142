"""Baking Open Badges into images and extracting them again (Badge Baking, OB 2.0 and 3.0).

PNG: one uncompressed `iTXt` chunk, keyword `openbadges` (2.0, the assertion JSON or URL) or
`openbadgecredential` (3.0, the credential JSON), replacing any earlier one.
SVG: an `openbadges:assertion` (2.0, namespace http://openbadges.org) or `openbadges:credential`
(3.0, namespace https://purl.imsglobal.org/ob/v3p0) element right after the `<svg>` start tag,
holding the JSON in CDATA.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree

Version = Literal["2.0", "3.0"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_KEYWORDS: Mapping[str, str] = {"2.0": "openbadges", "3.0": "openbadgecredential"}
SVG_NAMESPACES: Mapping[str, str] = {
    "2.0": "http://openbadges.org",
    "3.0": "https://purl.imsglobal.org/ob/v3p0",
}
SVG_ELEMENTS: Mapping[str, str] = {"2.0": "assertion", "3.0": "credential"}
_TEXT_CHUNKS = {b"tEXt", b"iTXt", b"zTXt"}


class BakingError(ValueError):
    """The image is not a PNG/SVG that can carry (or does carry) a badge."""


@dataclass(frozen=True)
class BakedBadge:
    """What an image carries: the Open Badges version and the payload text (JSON or a URL)."""

    version: Version
    payload: str

    @property
    def document(self) -> dict[str, Any] | None:
        """The payload parsed as a JSON object, or None when it is a URL or not an object."""
        try:
            data = json.loads(self.payload)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


def _payload(document: Mapping[str, Any] | str) -> str:
    if isinstance(document, str):
        return document
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


# -- PNG -----------------------------------------------------------------------------------


def _chunks(png: bytes) -> Iterator[tuple[bytes, bytes, bytes]]:
    """Yield (type, data, raw chunk bytes) and check every CRC."""
    if not png.startswith(PNG_SIGNATURE):
        raise BakingError("not a PNG image")
    pos = len(PNG_SIGNATURE)
    while pos < len(png):
        if pos + 12 > len(png):
            raise BakingError("truncated PNG chunk")
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(png):
            raise BakingError("truncated PNG chunk")
        data = png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[end - 4 : end])
        if zlib.crc32(kind + data) != crc:
            raise BakingError(f"bad CRC in PNG chunk {kind!r}")
        yield kind, data, png[pos:end]
        pos = end
        if kind == b"IEND":
            return
    raise BakingError("PNG has no IEND chunk")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _text_keyword(kind: bytes, data: bytes) -> str | None:
    if kind not in _TEXT_CHUNKS or b"\x00" not in data:
        return None
    return data.split(b"\x00", 1)[0].decode("latin-1")


def _itxt(keyword: str, text: str) -> bytes:
    # keyword NUL, compression flag 0 (uncompressed), method 0, empty language tag NUL,
    # empty translated keyword NUL, UTF-8 text.
    return keyword.encode("latin-1") + b"\x00\x00\x00\x00\x00" + text.encode("utf-8")


def bake_png(image: bytes, document: Mapping[str, Any] | str, *, version: Version) -> bytes:
    """Return `image` with the badge (a JSON document or, for 2.0, an assertion URL) in an
    uncompressed iTXt chunk, replacing any badge chunk of the same keyword already there."""
    keyword = PNG_KEYWORDS[version]
    out = [PNG_SIGNATURE]
    for kind, data, raw in _chunks(image):
        if _text_keyword(kind, data) == keyword:
            continue
        if kind == b"IEND":
            out.append(_chunk(b"iTXt", _itxt(keyword, _payload(document))))
        out.append(raw)
    return b"".join(out)


#: Largest badge document accepted from a compressed chunk: a few kilobytes are normal; the bound
#: stops a small "zip bomb" image from expanding into gigabytes in memory.
MAX_BAKED_TEXT = 1024 * 1024


def _itxt_text(data: bytes) -> str:
    try:
        keyword_end = data.index(b"\x00")
        flag, method = data[keyword_end + 1], data[keyword_end + 2]
        rest = data[keyword_end + 3 :]
        _language, _, rest = rest.partition(b"\x00")
        _translated, _, text = rest.partition(b"\x00")
        if flag == 1:
            if method != 0:
                raise BakingError("unknown iTXt compression method")
            inflater = zlib.decompressobj()
            text = inflater.decompress(text, MAX_BAKED_TEXT)
            if inflater.unconsumed_tail:
                raise BakingError("the baked badge is too large")
        return text.decode("utf-8")
    except (ValueError, IndexError, zlib.error) as exc:
        raise BakingError(f"damaged badge chunk: {exc}") from exc


def extract_png(image: bytes) -> BakedBadge | None:
    """Return the badge baked into a PNG (3.0 preferred over 2.0), or None if there is none."""
    found: dict[str, str] = {}
    for kind, data, _raw in _chunks(image):
        keyword = _text_keyword(kind, data)
        version = next((v for v, k in PNG_KEYWORDS.items() if k == keyword), None)
        if version is None:
            continue
        if kind == b"iTXt":
            found[version] = _itxt_text(data)
        elif kind == b"tEXt":  # Older bakers wrote 2.0 badges as tEXt (Latin-1).
            found[version] = data.split(b"\x00", 1)[1].decode("latin-1")
    for version in ("3.0", "2.0"):
        if version in found:
            return BakedBadge(version, found[version])  # type: ignore[arg-type]
    return None


# -- SVG -----------------------------------------------------------------------------------

_SVG_START = re.compile(r"<svg(?=[\s>/])[^>]*>")
_BADGE_ELEMENT = re.compile(
    r"<(?P<prefix>[A-Za-z_][\w.-]*):(?:assertion|credential)\b[^>]*?(?:/>|>.*?</(?P=prefix):"
    r"(?:assertion|credential)\s*>)\s*",
    re.DOTALL,
)


def _cdata(text: str) -> str:
    # "]]>" cannot appear inside CDATA: split it across two sections.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml_attr(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


def _strip_badges(svg: str) -> str:
    namespaces = set(SVG_NAMESPACES.values())

    def drop(match: re.Match[str]) -> str:
        prefix = match.group("prefix")
        declared = re.search(rf'xmlns:{re.escape(prefix)}\s*=\s*["\']([^"\']*)["\']', svg)
        return "" if declared and declared.group(1) in namespaces else match.group(0)

    return _BADGE_ELEMENT.sub(drop, svg)


def bake_svg(
    svg: str | bytes,
    document: Mapping[str, Any] | str,
    *,
    version: Version,
    verify_url: str | None = None,
) -> str:
    """Return the SVG with the badge embedded right after the `<svg>` start tag.

    For 2.0, `verify_url` (the hosted assertion URL) goes into the `verify` attribute. Any badge
    already embedded (of either version: both use the `openbadges` prefix) is replaced.
    """
    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    if _parse_svg(text) is None:
        raise BakingError("not an SVG image")
    text = _strip_badges(text)
    match = _SVG_START.search(text)
    if match is None:
        raise BakingError("no <svg> start tag")
    start_tag, begin, end = match.group(0), match.start(), match.end()
    namespace = SVG_NAMESPACES[version]
    tag = start_tag
    declared = re.search(r'xmlns:openbadges\s*=\s*["\']([^"\']*)["\']', tag)
    if declared and declared.group(1) != namespace:
        tag = tag[: declared.start()] + f'xmlns:openbadges="{namespace}"' + tag[declared.end() :]
    elif not declared:
        close = len(tag) - (2 if tag.endswith("/>") else 1)
        tag = tag[:close].rstrip() + f' xmlns:openbadges="{namespace}"' + tag[close:]
    if tag.endswith("/>"):
        raise BakingError("an empty <svg/> has nowhere to hold a badge")
    name = f"openbadges:{SVG_ELEMENTS[version]}"
    verify = f' verify="{_xml_attr(verify_url)}"' if verify_url else ""
    element = f"<{name}{verify}>{_cdata(_payload(document))}</{name}>"
    return text[:begin] + tag + element + text[end:]


def _parse_svg(text: str) -> Element | None:
    try:
        # defusedxml: the SVG may come from anyone (the public verification endpoint), so
        # entity expansion and external entities are refused.
        root: Element = SafeElementTree.fromstring(text)
    except (ParseError, DefusedXmlException, ValueError):
        return None
    return root if root.tag in ("{http://www.w3.org/2000/svg}svg", "svg") else None


def extract_svg(svg: str | bytes) -> BakedBadge | None:
    """Return the badge embedded in an SVG (3.0 preferred over 2.0), or None if there is none.

    For a 2.0 element without content the `verify` URL is returned as the payload.
    """
    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    root = _parse_svg(text)
    if root is None:
        raise BakingError("not an SVG image")
    for version in ("3.0", "2.0"):
        element = root.find(f"{{{SVG_NAMESPACES[version]}}}{SVG_ELEMENTS[version]}")
        if element is None:
            continue
        payload = (element.text or "").strip() or element.get("verify", "")
        if payload:
            return BakedBadge(version, payload)  # type: ignore[arg-type]
    return None
