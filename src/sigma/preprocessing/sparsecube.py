"""An exact in-memory copy of a sparse counts cube, kept from the one read of a lazy file.

EDS counts are sparse: a pixel with 100 counts over 2048 channels has at most 100 non-zero
channels. A lazy dataset's cube is read once for its summary
(:func:`sigma.preprocessing.cubepass.summarise_cube`); in that same pass the counts on the
analysis grid can be kept as a compressed sparse row matrix (one row per pixel, the channel
index and the count of every non-zero channel) at a few percent of the cube's size. Every later
pass (energy-band counts, cluster spectra, abundances) then reads memory instead of the file,
and the counts are the same integers, so the results are the same.

:class:`SparseCounts` holds the matrix; :meth:`SparseCounts.to_dask` presents it as a dask
``(H, W, C)`` cube whose blocks of rows are made dense on demand, so every kernel that takes a
dask cube takes it unchanged.

Examples
--------
>>> import numpy as np
>>> cube = np.zeros((4, 3, 6), np.uint8)
>>> cube[1, 2, 4] = 7; cube[3, 0, 0] = 1
>>> s = SparseCounts.from_blocks([block_to_csr(cube[:2]), block_to_csr(cube[2:])], cube.shape)
>>> s.nnz, bool((s.to_dask().compute() == cube).all())
(2, True)
"""

from __future__ import annotations

import numpy as np

from .._errors import bad_value

__all__ = ["SparseCounts", "block_to_csr", "copy_budget"]

#: The copy is kept while it takes at most this share of the cube's bytes (read from the file)…
COPY_SHARE = 1 / 16
#: …or this many bytes, whichever is larger.
COPY_MIN_BYTES = 256 * 2**20


def copy_budget(nbytes: int) -> int:
    """Most bytes an in-memory copy of a cube of ``nbytes`` bytes may take.

    Examples
    --------
    >>> copy_budget(8 * 2**30) // 2**20, copy_budget(2**30) // 2**20
    (512, 256)
    """
    return int(max(int(nbytes) * COPY_SHARE, COPY_MIN_BYTES))


def _index_dtype(c: int):
    return np.dtype(np.int16) if c <= np.iinfo(np.int16).max else np.dtype(np.int32)


def block_to_csr(block) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(row_nnz, indices, data)`` of an ``(n, W, C)`` block: per pixel (row-major) its number
    of non-zero channels, then their channel indices and values in pixel order.

    Examples
    --------
    >>> import numpy as np
    >>> nnz, idx, val = block_to_csr(np.array([[[0, 2, 0], [5, 0, 1]]], np.uint8))
    >>> nnz.tolist(), idx.tolist(), val.tolist()
    ([1, 2], [1, 0, 2], [2, 5, 1])
    """
    from ._cubepass_kernels import block_csr, block_csr_bytes  # numba, imported on first use

    b = np.ascontiguousarray(block)
    c = b.shape[-1]
    if b.size == 0 or c == 0:
        return np.zeros(b.size // c if c else 0, np.int32), np.zeros(0, _index_dtype(c)), np.zeros(0, b.dtype)
    flat, proto = b.reshape(-1), np.zeros(0, _index_dtype(c))
    if b.dtype.itemsize == 1 and c % 8 == 0 and flat.ctypes.data % 8 == 0:
        return block_csr_bytes(flat, flat.view(np.uint64), c, proto)  # eight channels at a time
    return block_csr(flat, c, proto)


class SparseCounts:
    """A ``(H, W, C)`` counts cube stored as compressed sparse rows (one row per pixel).

    Parameters
    ----------
    indptr : ndarray of int64, shape (H * W + 1,)
    indices : ndarray of int16 or int32
        Channel of each stored value.
    data : ndarray
        The values (the cube's dtype).
    shape : (int, int, int)

    Examples
    --------
    >>> import numpy as np
    >>> cube = np.random.default_rng(0).poisson(0.2, (5, 4, 8)).astype(np.uint8)
    >>> s = SparseCounts.from_blocks([block_to_csr(cube)], cube.shape)
    >>> bool((s[1:3] == cube[1:3]).all()), s.dtype
    (True, dtype('uint8'))
    """

    def __init__(self, indptr, indices, data, shape):
        self.indptr, self.indices, self.data = indptr, indices, data
        self.shape = tuple(int(n) for n in shape)
        self.dtype, self.ndim = np.dtype(data.dtype), 3
        if len(self.shape) != 3 or indptr.shape != (self.shape[0] * self.shape[1] + 1,):
            raise bad_value("shape", shape, f"an (H, W, C) shape with H * W = {indptr.size - 1}")

    @classmethod
    def from_blocks(cls, parts, shape) -> SparseCounts:
        """Join :func:`block_to_csr` results of consecutive row blocks into one matrix."""
        nnz = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int32)
        indptr = np.zeros(nnz.size + 1, np.int64)
        np.cumsum(nnz, out=indptr[1:])
        c = int(shape[2])
        indices = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, _index_dtype(c))
        data = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.uint8)
        return cls(indptr, indices, data, shape)

    @property
    def nnz(self) -> int:
        """Stored (non-zero) values."""
        return int(self.data.size)

    @property
    def nbytes(self) -> int:
        """Bytes held."""
        return int(self.indptr.nbytes + self.indices.nbytes + self.data.nbytes)

    def __getitem__(self, key) -> np.ndarray:
        """A dense NumPy block (rows first; any further indexing applied to that block)."""
        if not isinstance(key, tuple):
            key = (key,)
        rows = key[0] if key else slice(None)
        if not isinstance(rows, slice) or rows.step not in (None, 1):
            return self[:][key]
        r0, r1, _ = rows.indices(self.shape[0])
        r1 = max(r0, r1)
        h, w, c = self.shape
        out = np.zeros((r1 - r0, w, c), self.dtype)
        a, b = int(self.indptr[r0 * w]), int(self.indptr[r1 * w])
        if b > a:
            counts = np.diff(self.indptr[r0 * w : r1 * w + 1])
            pix = np.repeat(np.arange((r1 - r0) * w, dtype=np.int64), counts)
            out.reshape(-1)[pix * c + self.indices[a:b]] = self.data[a:b]
        rest = key[1:]
        return out[(slice(None), *rest)] if rest else out

    def sum_spectrum(self) -> np.ndarray:
        """Sum of every pixel's spectrum, float64 (exact for integer counts).

        Examples
        --------
        >>> import numpy as np
        >>> cube = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
        >>> SparseCounts.from_blocks([block_to_csr(cube)], cube.shape).sum_spectrum().tolist()
        [18.0, 22.0, 26.0]
        """
        return np.bincount(self.indices, weights=self.data, minlength=self.shape[2]).astype(np.float64)

    def to_dask(self, limit: int | None = None):
        """The cube as a dask array of row blocks of about ``limit`` bytes, made dense when
        computed (default: an eighth of :data:`sigma._blocks.BLOCK_BYTES`, so that a block
        converted to float64 by a kernel is one such block)."""
        import uuid

        import dask.array as da

        from .._blocks import BLOCK_BYTES, get_chunking

        limit = BLOCK_BYTES // 8 if limit is None else int(limit)
        return da.from_array(self, chunks=get_chunking(self.shape, self.dtype, limit=limit),
                             asarray=False, meta=np.empty((0, 0, 0), self.dtype),
                             name=f"sparse-counts-{uuid.uuid4().hex}")

    def __repr__(self) -> str:
        h, w, c = self.shape
        return f"<SparseCounts {h}×{w}×{c} {self.dtype}, {self.nnz} values, {self.nbytes / 2**20:.1f} MiB>"
