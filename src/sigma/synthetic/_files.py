"""Output-file helpers of the phantom writers: chunk shapes, compression and path checks."""

from __future__ import annotations

from pathlib import Path

from .._errors import bad_value

#: Target size (bytes) of one HDF5 chunk when saving: whole rows, every channel.
CHUNK_BYTES = 8 * 2**20


def _divisor_at_most(n: int, target: int) -> int:
    """Largest divisor of ``n`` that is at most ``target`` (file chunks that tile a block)."""
    return max(d for d in range(1, int(n) + 1) if n % d == 0 and d <= max(1, target))


def _row_chunks(shape, itemsize: int, target: int = CHUNK_BYTES) -> tuple[int, int, int]:
    h, w, c = shape
    rows = int(max(1, min(h, target // max(w * c * itemsize, 1))))
    return (rows, w, c)


def _check_compression(compression):
    if compression not in (None, "gzip", "lzf", "szip"):
        raise bad_value("compression", compression, "None, 'lzf' or 'gzip'")


def _check_out_path(path, suffix: str, overwrite: bool) -> Path:
    p = Path(path)
    if p.suffix.lower() != suffix:
        raise bad_value("path", str(path), f"a file name ending in {suffix!r}")
    if p.exists() and not overwrite:
        raise bad_value("overwrite", overwrite, f"True to replace the existing file '{p}'")
    return p
