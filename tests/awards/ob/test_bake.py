"""Baking badges into PNG and SVG images and extracting them again, OB 2.0 and 3.0."""

from __future__ import annotations

import io
import json
import struct
import zlib
from typing import Any

import pytest
from PIL import Image

from portfolio.awards.ob import bake, ob2
from portfolio.awards.ob.types import AchievementInfo, AwardInfo

SVG = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<!-- badge artwork -->\n"
    '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" viewBox="0 0 100 100">'
    '<circle cx="50" cy="50" r="40" fill="#c60"/></svg>\n'
)


def png_image() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (64, 64), (200, 100, 0, 255)).save(buffer, format="PNG")
    return buffer.getvalue()


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        out.append((png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


@pytest.fixture
def assertion(award: AwardInfo, achievement: AchievementInfo) -> dict[str, Any]:
    return ob2.assertion(award, achievement)


@pytest.mark.parametrize("version", ["2.0", "3.0"])
def test_png_round_trip(
    version: bake.Version, assertion: dict[str, Any], signed_credential: dict[str, Any]
) -> None:
    document = assertion if version == "2.0" else signed_credential
    baked = bake.bake_png(png_image(), document, version=version)
    found = bake.extract_png(baked)
    assert found is not None
    assert found.version == version
    assert found.document == document
    with Image.open(io.BytesIO(baked)) as image:
        image.load()  # decodes all pixel data, checking every chunk
        assert image.size == (64, 64)
        assert json.loads(image.text[bake.PNG_KEYWORDS[version]]) == document


def test_png_chunk_is_one_uncompressed_itxt_before_iend(assertion: dict[str, Any]) -> None:
    baked = bake.bake_png(png_image(), assertion, version="2.0")
    kinds = [kind for kind, _ in chunks(baked)]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and kinds[-2] == b"iTXt"
    data = chunks(baked)[-2][1]
    assert data.startswith(b"openbadges\x00\x00\x00")  # keyword, NUL, flag 0, method 0
    assert data.split(b"\x00", 5)[-1] == json.dumps(assertion, separators=(",", ":")).encode()


def test_png_rebaking_replaces_the_chunk(
    assertion: dict[str, Any], signed_credential: dict[str, Any]
) -> None:
    once = bake.bake_png(png_image(), assertion, version="2.0")
    twice = bake.bake_png(once, {**assertion, "id": "https://other/1"}, version="2.0")
    itxt = [data for kind, data in chunks(twice) if kind == b"iTXt"]
    assert len(itxt) == 1
    found = bake.extract_png(twice)
    assert found is not None and found.document is not None
    assert found.document["id"] == "https://other/1"
    # Both versions can live side by side; 3.0 is preferred when extracting.
    both = bake.bake_png(twice, signed_credential, version="3.0")
    assert sum(1 for kind, _ in chunks(both) if kind == b"iTXt") == 2
    found = bake.extract_png(both)
    assert found is not None and found.version == "3.0"


def test_png_with_an_assertion_url(award: AwardInfo) -> None:
    baked = bake.bake_png(png_image(), award.id, version="2.0")
    found = bake.extract_png(baked)
    assert found is not None and found.payload == award.id and found.document is None


def test_png_reads_legacy_text_chunks() -> None:
    data = b"openbadges\x00https://example.org/a/1"
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + data))
    png = png_image()
    legacy = png[:-12] + chunk + png[-12:]
    found = bake.extract_png(legacy)
    assert found is not None and found.payload == "https://example.org/a/1"


def test_png_without_badge_and_broken_pngs() -> None:
    assert bake.extract_png(png_image()) is None
    with pytest.raises(bake.BakingError):
        bake.extract_png(b"GIF89a")
    corrupt = bytearray(png_image())
    corrupt[20] ^= 0xFF  # inside IHDR: the CRC no longer matches
    with pytest.raises(bake.BakingError, match="CRC"):
        bake.bake_png(bytes(corrupt), "https://example.org/a/1", version="2.0")


@pytest.mark.parametrize("version", ["2.0", "3.0"])
def test_svg_round_trip(
    version: bake.Version,
    assertion: dict[str, Any],
    signed_credential: dict[str, Any],
    award: AwardInfo,
) -> None:
    document = assertion if version == "2.0" else signed_credential
    verify_url = award.id if version == "2.0" else None
    baked = bake.bake_svg(SVG, document, version=version, verify_url=verify_url)
    namespace = bake.SVG_NAMESPACES[version]
    element = "assertion" if version == "2.0" else "credential"
    assert f'xmlns:openbadges="{namespace}"' in baked
    start = baked.index("<svg")
    after_tag = baked[baked.index(">", start) + 1 :]
    assert after_tag.startswith(f"<openbadges:{element}")
    if verify_url:
        assert f'<openbadges:assertion verify="{verify_url}"><![CDATA[' in baked
    found = bake.extract_svg(baked)
    assert found is not None and found.version == version and found.document == document
    assert "<circle" in baked


def test_svg_rebake_replaces_and_escapes_cdata_end(assertion: dict[str, Any]) -> None:
    once = bake.bake_svg(SVG, assertion, version="2.0", verify_url=assertion["id"])
    tricky = {**assertion, "narrative": "ends with ]]> inside <b>&</b>"}
    twice = bake.bake_svg(once, tricky, version="2.0", verify_url=assertion["id"])
    assert twice.count("<openbadges:assertion") == 1
    assert twice.count('xmlns:openbadges="http://openbadges.org"') == 1
    found = bake.extract_svg(twice)
    assert found is not None and found.document == tricky


def test_svg_verify_url_only() -> None:
    baked = bake.bake_svg(SVG, "", version="2.0", verify_url="https://example.org/a/1")
    found = bake.extract_svg(baked)
    assert found is not None and found.payload == "https://example.org/a/1"


def test_svg_without_badge_and_hostile_svgs() -> None:
    assert bake.extract_svg(SVG) is None
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><svg xmlns="http://www.w3.org/2000/svg">&b;</svg>'
    )
    with pytest.raises(bake.BakingError):
        bake.extract_svg(bomb)
    with pytest.raises(bake.BakingError):
        bake.bake_svg("<html></html>", {"a": 1}, version="3.0")
