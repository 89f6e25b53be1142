"""Badge images: a credential's own image (PNG or cleaned SVG) or a generated default, and the
base image a badge is baked into."""

from __future__ import annotations

import hashlib
import io
from typing import Any

from portfolio.credentials.models import Credential
from portfolio.storage import get_storage


def default_badge_png(cred: Credential, size: int = 256) -> bytes:
    """A plain generated badge (a coloured disc with the credential's initials)."""
    from PIL import Image, ImageDraw, ImageFont

    hue = int(hashlib.sha256(cred.public_id.encode()).hexdigest()[:2], 16)
    colour = (40 + hue % 80, 80 + (hue * 3) % 100, 140 + (hue * 7) % 100)
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, size - 8, size - 8), fill=colour, outline=(20, 30, 60), width=8)
    text = _initials(cred.name)
    try:
        font: Any = ImageFont.load_default(size=size // 3)
    except TypeError:  # Pillow < 10.1 has no sized default font
        font = ImageFont.load_default()
    draw.text((size / 2, size / 2), text, fill="white", font=font, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _initials(name: str) -> str:
    words = [w for w in name.replace("-", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:3]).upper() or "B"


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def default_badge_svg(cred: Credential) -> str:
    """The generated badge as SVG."""
    hue = int(hashlib.sha256(cred.public_id.encode()).hexdigest()[:2], 16) * 360 // 256
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">'
        f"<title>{_xml_text(cred.name)}</title>"
        f'<circle cx="128" cy="128" r="116" fill="hsl({hue},45%,40%)" stroke="#14203c" '
        'stroke-width="8"/>'
        '<text x="128" y="128" font-family="sans-serif" font-size="80" fill="#fff" '
        f'text-anchor="middle" dominant-baseline="central">{_xml_text(_initials(cred.name))}'
        "</text></svg>"
    )


def badge_image(cred: Credential) -> tuple[bytes, str]:
    """The credential's image (PNG or cleaned SVG) or the generated default PNG."""
    if cred.image_key:
        try:
            data = b"".join(get_storage().iter_chunks(cred.image_key))
            return data, cred.image_content_type or "image/png"
        except KeyError:
            pass
    return default_badge_png(cred), "image/png"


def base_image(cred: Credential, fmt: str) -> bytes | str:
    import base64

    data, content_type = badge_image(cred) if cred.image_key else (b"", "")
    if fmt == "png":
        return data if content_type == "image/png" else default_badge_png(cred)
    if content_type == "image/svg+xml":
        return data.decode("utf-8")
    if content_type == "image/png":
        encoded = base64.b64encode(data).decode("ascii")
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" '
            f'viewBox="0 0 256 256"><image width="256" height="256" '
            f'href="data:image/png;base64,{encoded}"/></svg>'
        )
    return default_badge_svg(cred)
