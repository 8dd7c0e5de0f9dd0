"""Whole files: one file's job (`files`), batches of them on local processes (`batch`) or on
a Dask cluster (`cluster`), and the memory check before a file is opened."""
