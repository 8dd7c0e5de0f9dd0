"""Numba flags live here and nowhere else."""
import numba

# nogil: the pipeline runs kernels in threads beside decode/encode.
# cache: a new process loads compiled code from disk instead of re-compiling (~seconds).
# No fastmath: the tests compare bit-for-bit (within 1 grey level) against NumPy references.
jit = numba.njit(nogil=True, cache=True)
