"""Files are accepted or refused by their content, whatever their name says."""

from __future__ import annotations

import pytest

from portfolio.evidence.validation import (
    FileInspector,
    UploadRefused,
    UploadTooLarge,
    classify,
    clean_filename,
)
from tests.evidence import samples

ACCEPTED = [
    ("photo.jpg", samples.jpeg, "image/jpeg"),
    ("diagram.png", samples.png, "image/png"),
    ("shot.webp", samples.webp, "image/webp"),
    ("anim.gif", samples.gif, "image/gif"),
    ("IMG_0001.HEIC", samples.heic, "image/heic"),
    ("report.pdf", samples.pdf, "application/pdf"),
    ("clip.mp4", samples.mp4, "video/mp4"),
    ("clip.webm", samples.webm, "video/webm"),
    ("clip.mov", samples.quicktime, "video/quicktime"),
    ("voice.mp3", samples.mp3, "audio/mpeg"),
    ("voice.m4a", samples.m4a, "audio/x-m4a"),
    ("voice.ogg", samples.ogg, "audio/ogg"),
    ("voice.wav", samples.wav, "audio/x-wav"),
    (
        "plan.docx",
        samples.docx,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (
        "sheet.xlsx",
        samples.xlsx,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    (
        "deck.pptx",
        samples.pptx,
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    ("notes.odt", samples.odt, "application/vnd.oasis.opendocument.text"),
    ("sheet.ods", samples.ods, "application/vnd.oasis.opendocument.spreadsheet"),
    ("notes.txt", samples.text, "text/plain"),
]


def inspect(data: bytes, chunk: int = 4096, max_bytes: int = 10**9) -> FileInspector:
    inspector = FileInspector(max_bytes=max_bytes)
    for i in range(0, len(data), chunk):
        inspector.feed(data[i : i + chunk])
    return inspector


@pytest.mark.parametrize(("name", "make_file", "expected"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_every_allowed_family_is_recognized(name: str, make_file, expected: str) -> None:
    assert classify(inspect(make_file()), name).media_type == expected


@pytest.mark.parametrize("make_file", [samples.docx, samples.xlsx, samples.pptx])
def test_reordered_ooxml_is_recognized_by_its_content_types_part(make_file) -> None:
    import magic

    data = make_file(reordered=True)
    assert magic.from_buffer(data, mime=True) == "application/zip"
    # Tiny chunks: the zip headers are parsed across chunk boundaries.
    media_type = classify(inspect(data, chunk=7), "x.bin").media_type
    assert media_type == classify(inspect(make_file()), "x.bin").media_type


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("report.pdf", samples.html(), "is an HTML page, not a PDF"),
        ("holiday.jpg", samples.exe(), "is a Windows program, not a JPEG photo"),
        ("logo.svg", samples.svg(), "is an SVG drawing"),
        ("bundle.zip", samples.plain_zip(), "is a zip archive"),
        ("empty.txt", b"", "is empty"),
        ("run.txt", b"#!/bin/sh\nrm -rf /\n", "is a shell script, not a plain text file"),
    ],
)
def test_refused_files_say_what_they_really_are(name: str, data: bytes, message: str) -> None:
    with pytest.raises(UploadRefused) as exc:
        classify(inspect(data), name)
    assert message in exc.value.message


def test_inspector_stops_at_the_size_limit_and_hashes_what_it_saw() -> None:
    import hashlib

    data = samples.jpeg()
    inspector = inspect(data)
    assert inspector.size == len(data)
    assert inspector.sha256 == hashlib.sha256(data).hexdigest()
    with pytest.raises(UploadTooLarge):
        inspect(data, max_bytes=len(data) - 1)


def test_filenames_are_cleaned_for_display() -> None:
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("..\\..\\evil\x00\x1b[31m.pdf") == "evil[31m.pdf"
    assert clean_filename("re\u202eport\u202c.pdf") == "report.pdf"
    assert clean_filename("..") == "file"
