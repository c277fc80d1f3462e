"""Reading a pass code from a photo of a phone screen or a printed pass (zxing-cpp).

zxing-cpp wants pixels, not files. The guard's page turns the photo into a grayscale Netpbm
image (PGM, "P5") in the browser, which is read here without decoding anything; a colour PPM
("P6") is accepted too. JPEG, PNG and the other formats phones and gate cameras send are
decoded with Pillow.
"""

from __future__ import annotations

import io
import re

import zxingcpp
from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 16_000_000
_HEADER = re.compile(rb"^(P[56])\s+(?:#[^\n]*\n\s*)*(\d+)\s+(\d+)\s+(\d+)\s")


class PhotoError(Exception):
    pass


def _netpbm(data: bytes) -> tuple[bytes, int, int]:
    match = _HEADER.match(data)
    if match is None:
        raise PhotoError("not a PGM or PPM image")
    kind, width, height, maxval = match[1], int(match[2]), int(match[3]), int(match[4])
    if not (width > 0 and height > 0 and width * height <= MAX_PIXELS and maxval == 255):
        raise PhotoError("image too large or not 8-bit")
    pixels = data[match.end() :]
    channels = 3 if kind == b"P6" else 1
    if len(pixels) < width * height * channels:
        raise PhotoError("image data truncated")
    if channels == 3:
        # Green alone is a good enough grey for black-on-white codes.
        pixels = pixels[1 : width * height * 3 : 3]
    return pixels[: width * height], width, height


def _with_pillow(data: bytes) -> list[str]:
    try:
        image = Image.open(io.BytesIO(data))
        # Checked before decoding: a small file can claim a huge canvas (a decompression bomb).
        if image.width * image.height > MAX_PIXELS:
            raise PhotoError("image too large")
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise PhotoError("not an image") from exc
    return [r.text for r in zxingcpp.read_barcodes(image.convert("L"))]


def codes_in(data: bytes) -> list[str]:
    """Every QR code found in the image, as text (most photos hold exactly one)."""
    if data[:2] in (b"P5", b"P6"):
        pixels, width, height = _netpbm(data)
        view = zxingcpp.ImageView(pixels, width, height, zxingcpp.ImageFormat.Lum)
        return [r.text for r in zxingcpp.read_barcodes(view)]
    return _with_pillow(data)
