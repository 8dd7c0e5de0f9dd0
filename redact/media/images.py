"""Still images through the same redaction path: decoded upright, written without metadata."""
from __future__ import annotations

import numpy as np

from ..core.native_output import muted_native_stderr
from .safeio import os_reason


class ImageError(RuntimeError):
    """An image that cannot be read or written; the message names the file."""


def read_image(path) -> np.ndarray:
    """RGB uint8 pixels with the EXIF orientation applied (OpenCV does this on decode).

    Alpha is dropped and 16-bit images are scaled to 8 bits.
    """
    import cv2

    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise ImageError(f"{path}: cannot read ({os_reason(exc)})") from None
    with muted_native_stderr():
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise ImageError(f"{path}: cannot decode as an image")
    _check_whole(path, data)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _check_whole(path, data: np.ndarray) -> None:
    """OpenCV decodes a cut JPEG or PNG without complaint, filling the missing part with
    grey; a damaged input is not what the user meant to redact, so say so instead. The
    format is read from the bytes, not the name."""
    head, tail = data[:8].tobytes(), data[-4096:].tobytes()
    if head.startswith(b"\xff\xd8\xff"):
        last = data.tobytes().rfind(b"\xff\xd9")
        # Phones append a video after the image's end marker ("motion photos"): the image
        # itself is whole when its end marker is followed by such a container.
        whole = b"\xff\xd9" in tail or (last > 0 and b"ftyp" in data[last:last + 64].tobytes())
        if not whole:
            raise ImageError(f"{path}: the JPEG ends before its end marker (truncated or damaged file)")
    elif head.startswith(b"\x89PNG") and b"IEND" not in tail:
        raise ImageError(f"{path}: the PNG ends before its IEND chunk (truncated or damaged file)")


def encode_image(rgb: np.ndarray, suffix: str) -> bytes:
    """Encode to the format of ``suffix``. PNG, BMP and WebP are lossless; JPEG quality 95.

    OpenCV writes pixels only: no EXIF, XMP, GPS or text chunks reach the output.
    """
    import cv2

    suffix = suffix.lower()
    params = {".jpg": [cv2.IMWRITE_JPEG_QUALITY, 95], ".jpeg": [cv2.IMWRITE_JPEG_QUALITY, 95],
              ".webp": [cv2.IMWRITE_WEBP_QUALITY, 101]}.get(suffix, [])
    ok, buf = cv2.imencode(suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise ImageError(f"cannot encode an image as {suffix}")
    return buf.tobytes()
