"""A pixel budget for every image the app opens, checked before any pixel is decoded.

A PNG of 13,000 by 13,000 pixels of one colour compresses to about 20 KB and decodes to 500 MB or
more: such "decompression bombs" pass every size limit on the file. So the number of pixels is read
from the image's header (Pillow reads only the header on `Image.open`; PNG dimensions are in its
first chunk) and refused above `MAX_IMAGE_PIXELS` before anything is decoded: thumbnails,
evidence previews, credential images, organization logos, badge baking and the verification of
uploaded badge images all go through here.
"""

from __future__ import annotations

import io
import struct
import warnings
from typing import IO

from PIL import Image, PngImagePlugin, UnidentifiedImageError

from portfolio.core.errors import DomainError

#: Largest image, in pixels, the app decodes or accepts: 50 megapixels covers a 50 MP phone
#: photo (8160 by 6120 pixels) and keeps a decoded image under about 200 MB.
MAX_IMAGE_PIXELS = 50_000_000

# Pillow's own guard, as a second line: it warns above the limit and refuses above twice it.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
# PNG text chunks ("chunk bombs"): at most 1 MB inflated per chunk, 4 MB per image.
PngImagePlugin.MAX_TEXT_CHUNK = 1024 * 1024
PngImagePlugin.MAX_TEXT_MEMORY = 4 * 1024 * 1024

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ImageTooLarge(DomainError):
    """An image with more pixels than the budget, refused before decoding."""


def _megapixels(n: int) -> str:
    return f"{n / 1_000_000:.0f}" if n >= 10_000_000 else f"{n / 1_000_000:.1f}"


def check_pixels(width: int, height: int, *, what: str = "The image") -> None:
    """`ImageTooLarge` when width by height is above the budget, saying by how much."""
    pixels = width * height
    if width <= 0 or height <= 0 or pixels > MAX_IMAGE_PIXELS:
        raise ImageTooLarge(
            f"{what} is {width:,} by {height:,} pixels ({_megapixels(pixels)} megapixels); at "
            f"most {_megapixels(MAX_IMAGE_PIXELS)} megapixels are accepted. Save a smaller copy "
            "and try again."
        )


def png_dimensions(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk (the first one), or None if it is not a PNG."""
    if not data.startswith(PNG_SIGNATURE) or len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def check_png(data: bytes, *, what: str = "The image") -> None:
    """Refuse a PNG above the budget by its header alone (no Pillow, no decoding)."""
    size = png_dimensions(data)
    if size is not None:
        check_pixels(*size, what=what)


def open_checked(source: bytes | IO[bytes], *, what: str = "The image") -> Image.Image:
    """`Image.open` (header only) that refuses images above the budget before any pixel is
    decoded. Raises `ImageTooLarge`, or the usual Pillow errors for files it cannot read."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    # PNG dimensions straight from the header, so the message can name them.
    start = stream.tell()
    check_png(stream.read(32), what=what)
    stream.seek(start)
    with warnings.catch_warnings():
        # Between one and two budgets Pillow only warns: the check below refuses those.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(stream)
        except Image.DecompressionBombError as exc:
            raise ImageTooLarge(
                f"{what} has far more than {_megapixels(MAX_IMAGE_PIXELS)} megapixels; save a "
                "smaller copy and try again."
            ) from exc
    try:
        check_pixels(*img.size, what=what)
    except ImageTooLarge:
        img.close()
        raise
    return img


def check_image_header(source: bytes | IO[bytes], *, what: str = "The image") -> bool:
    """Refuse an image above the budget from its header; True when the header could be read,
    False when Pillow does not know the format or the header is cut off (nothing decoded)."""
    try:
        img = open_checked(source, what=what)
    except ImageTooLarge:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, struct.error):
        return False
    img.close()
    return True
