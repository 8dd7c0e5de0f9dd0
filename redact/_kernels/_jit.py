"""Numba flags live here and nowhere else."""
import numba

# nogil: the pipeline runs kernels in threads beside decode/encode.
# cache: a new process loads compiled code from disk instead of re-compiling (~seconds).
# No fastmath: the tests compare bit-for-bit (within 1 grey level) against NumPy references.
jit = numba.njit(nogil=True, cache=True)
# Per-pixel helpers are inlined in Numba's IR: an ordinary call that takes an array costs a
# reference-count round trip, which was most of the time spent on feathered edges.
jit_inline = numba.njit(nogil=True, cache=True, inline="always")
