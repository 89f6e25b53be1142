"""Removing where a photo was taken, and with what, before it is stored.

Phones write the GPS position, the device's make, model and serial number, and maker notes into
every photo (EXIF, XMP, IPTC, PNG text chunks). A job-site photo shown to an employer must not
tell them where the worker lives. Photos are therefore re-written without any of that metadata
before they are hashed and stored; the orientation is applied to the pixels first, so the photo
still stands the right way up once its orientation tag is gone. The colour profile is kept (it
says nothing about a place or a person).

A photo without such metadata and with nothing to rotate is kept byte for byte.
"""

from __future__ import annotations

import io
import logging
from typing import IO

from PIL import Image, ImageOps

log = logging.getLogger(__name__)

try:  # HEIC/HEIF (the iPhone's default) through libheif
    import pillow_heif

    pillow_heif.register_heif_opener()
    HAS_HEIF = True
except ImportError:  # pragma: no cover - pillow-heif is a dependency
    HAS_HEIF = False

#: Photo types whose metadata is removed, and the Pillow format they are written back in.
PHOTO_TYPES: dict[str, str] = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/heic": "HEIF",
    "image/heif": "HEIF",
}
#: Pixels decoded at most to clean one photo (a 200-megapixel phone photo fits); larger images
#: are refused rather than decoded (a small file can declare an enormous canvas).
MAX_PHOTO_PIXELS = 200_000_000

#: `Image.info` entries that describe how the pixels are encoded, not where or by whom the
#: photo was taken. Anything else (exif, xmp, comment, photoshop/IPTC, PNG text) is metadata.
_HARMLESS_INFO = {
    "icc_profile",
    "dpi",
    "jfif",
    "jfif_version",
    "jfif_unit",
    "jfif_density",
    "adobe",
    "adobe_transform",
    "progressive",
    "progression",
    "transparency",
    "gamma",
    "srgb",
    "chromaticity",
    "interlace",
    "aspect",
    "background",
    "duration",
    "loop",
    "lossless",
    "bit_depth",
    "nclx_profile",
    "primary",
    "depth_images",
    "thumbnails",
    "original_orientation",
    "aux",
    "chroma",
}


class PhotoUnreadable(Exception):
    """The bytes passed the type check but cannot be decoded (or are far too large)."""


def _has_metadata(img: Image.Image) -> bool:
    if len(img.getexif()):
        return True
    return any(key not in _HARMLESS_INFO and img.info.get(key) for key in img.info)


def strip_photo_metadata(stream: IO[bytes], media_type: str) -> IO[bytes] | None:
    """The photo re-written without location, device and maker metadata, oriented; or None when
    it carries none (keep the bytes as they are). Raises `PhotoUnreadable`."""
    fmt = PHOTO_TYPES[media_type]
    if fmt == "HEIF" and not HAS_HEIF:  # pragma: no cover
        raise PhotoUnreadable("HEIF support is not installed")
    try:
        with Image.open(stream) as img:
            width, height = img.size
            if width * height > MAX_PHOTO_PIXELS:
                raise PhotoUnreadable(f"{width}x{height} is above the pixel budget")
            orientation = img.getexif().get(0x0112, 1)
            if not _has_metadata(img) and orientation in (1, None):
                return None
            icc = img.info.get("icc_profile")
            frames = getattr(img, "n_frames", 1)
            img.load()
            # Orientation first: the tag that says "rotate me" goes with the rest.
            clean = img if orientation in (1, None) else ImageOps.exif_transpose(img)
            # Writers fall back to `info` for some metadata (JPEG comments and XMP): empty it.
            for key in list(clean.info):
                if key not in _HARMLESS_INFO:
                    del clean.info[key]
            out = io.BytesIO()
            options: dict[str, object] = {}
            if icc:
                options["icc_profile"] = icc
            if fmt == "JPEG":
                if clean is img and img.mode in ("RGB", "L", "CMYK"):
                    # Same quantization tables as the original: no visible loss.
                    options["quality"] = "keep"
                else:
                    options["quality"] = 92
                if clean.mode not in ("RGB", "L", "CMYK"):
                    clean = clean.convert("RGB")
                # exif=b"" and no xmp: Pillow writes no APP1 segment at all.
                clean.save(out, "JPEG", exif=b"", comment=b"", optimize=True, **options)
            elif fmt == "PNG":
                if "transparency" in img.info:
                    options["transparency"] = img.info["transparency"]
                # PNG text chunks (tEXt/zTXt/iTXt, where XMP lives) are only written when a
                # pnginfo is passed; none is.
                clean.save(out, "PNG", optimize=False, **options)
            elif fmt == "WEBP":
                lossless = bool(img.info.get("lossless"))
                clean.save(out, "WEBP", exif=b"", xmp=b"", quality=90, lossless=lossless, **options)
            else:
                clean.save(out, "HEIF", exif=None, xmp=None, quality=90, **options)
            if frames > 1:
                log.info("only the first of %d frames of a photo was kept", frames)
    except PhotoUnreadable:
        raise
    except Exception as exc:  # corrupt or truncated data, decoder limits
        raise PhotoUnreadable(str(exc)) from exc
    out.seek(0)
    return out
