"""Video in and out through PyAV (FFmpeg): exact timestamps, rotation, side channels dropped."""
from .reader import VideoInfo, VideoReader
from .writer import VideoWriter

__all__ = ["VideoInfo", "VideoReader", "VideoWriter"]
