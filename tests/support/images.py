"""Real image bytes made with Pillow, so that validation sees what uploaders send."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw


def image_bytes(width: int = 200, height: int = 150, fmt: str = "JPEG", seed: int = 0) -> bytes:
    image = Image.new("RGB", (width, height), color=(40 + seed % 200, 120, 200))
    draw = ImageDraw.Draw(image)
    draw.rectangle((width // 4, height // 4, width // 2, height // 2), fill=(250, 200, 20))
    draw.text((5, 5), f"img {seed}", fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def jpeg_with_large_exif(width: int = 120, height: int = 100) -> bytes:
    """A JPEG whose frame header sits after a ~60 KB APP segment (beyond a small first read)."""
    plain = image_bytes(width, height, "JPEG")
    app = b"\xff\xe2" + (60_002).to_bytes(2, "big") + b"\x00" * 60_000
    return plain[:2] + app + plain[2:]
