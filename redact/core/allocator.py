"""Hand large buffers back to the system when they are freed (glibc's ``malloc``).

glibc serves an allocation above its *mmap threshold* with a mapping of its own, unmapped
again when freed. By default that threshold moves: freeing such a mapping raises it to the
size freed (up to 32 MiB on 64-bit Linux). After the first frame, frame-sized buffers (a
1080p RGB frame is 6 MiB) therefore come from the heaps of the threads that allocate them
(decode, detection lanes, obscure and encode), and a heap keeps what is freed in it, scattered
between smaller live blocks, for the rest of the run. Measured: the default command at 1080p
(facenet clip x3, 315 frames) held 118 MB of freed heap at frame 80, and its peak RSS fell
from 951 to 872 MB with the threshold fixed at `MMAP_THRESHOLD`.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

#: Allocations from this size get a mapping of their own, returned to the system when freed.
MMAP_THRESHOLD = 1 << 20
#: ``mallopt`` parameter number of the threshold (glibc's <malloc.h>); setting it also stops
#: glibc from moving it.
_M_MMAP_THRESHOLD = -3


@functools.cache
def return_large_blocks() -> bool:
    """Fix this process's mmap threshold at `MMAP_THRESHOLD` (once; every later call is free).

    Returns whether it was set: False where the C library is not glibc (no ``mallopt``),
    which leaves the process as it was.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
