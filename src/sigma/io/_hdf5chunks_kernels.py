"""Numba kernels of :mod:`sigma.io._hdf5chunks`: HDF5's byte unshuffle and LZF decompression.

Module-level functions (so numba's on-disk cache keeps them), imported on first use. Both
release the GIL, so the chunks of a lazy cube decode in parallel threads.
"""

import numba
import numpy as np

__all__ = ["unshuffle", "lzf_decompress"]


@numba.njit(nogil=True, cache=True)
def unshuffle(src, out, itemsize):  # pragma: no cover - compiled
    """Undo HDF5's shuffle filter: byte ``j`` of element ``i`` is stored at ``j * n + i``.

    A trailing remainder (fewer bytes than one element) is stored as is.
    """
    n = src.size // itemsize
    for j in range(itemsize):
        base = j * n
        for i in range(n):
            out[i * itemsize + j] = src[base + i]
    for k in range(n * itemsize, src.size):
        out[k] = src[k]


@numba.njit(nogil=True, cache=True)
def lzf_decompress(src, out):  # pragma: no cover - compiled
    """Decompress an LZF block (liblzf's format, as h5py's LZF filter writes it).

    Returns the number of bytes written, or -1 if the data are corrupt or do not fit.
    """
    ip = 0
    op = 0
    n_in = src.size
    n_out = out.size
    while ip < n_in:
        ctrl = np.int64(src[ip])
        ip += 1
        if ctrl < 32:  # a run of ctrl + 1 literal bytes
            ctrl += 1
            if op + ctrl > n_out or ip + ctrl > n_in:
                return -1
            for k in range(ctrl):
                out[op + k] = src[ip + k]
            op += ctrl
            ip += ctrl
        else:  # a back reference
            length = ctrl >> 5
            if length == 7:
                if ip >= n_in:
                    return -1
                length += np.int64(src[ip])
                ip += 1
            if ip >= n_in:
                return -1
            ref = op - ((ctrl & 0x1F) << 8) - np.int64(src[ip]) - 1
            ip += 1
            length += 2
            if ref < 0 or op + length > n_out:
                return -1
            for k in range(length):  # byte by byte: the source may overlap the output
                out[op + k] = out[ref + k]
            op += length
    return op
