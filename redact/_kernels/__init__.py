"""Private Numba kernels: no validation, no policy, no Python objects.

Callers (``redact.pipeline.obscure``) validate inputs, allocate ``out`` and pass plain arrays. Every
kernel is tested against a slow NumPy reference in ``tests/reference.py``.
"""
