"""Numba kernels of :mod:`sigma.io._hdf5chunks`: HDF5's byte unshuffle and LZF decompression.

Module-level functions (so numba's on-disk cache keeps them), imported on first use. Both
release the GIL, so the chunks of a lazy cube decode in parallel threads.
"""

import sys

import numba
import numpy as np

__all__ = ["unshuffle", "lzf_decompress"]


def unshuffle(src, out, itemsize):
    """Undo HDF5's shuffle filter: byte ``j`` of element ``i`` is stored at ``j * n + i``.

    A trailing remainder (fewer bytes than one element) is stored as is. Elements of 2, 4 or
    8 bytes are put together from their byte planes with shifts in one pass (8x faster than
    byte by byte: the compiler vectorises it) on a little-endian machine; other sizes go byte
    by byte.
    """
    n = src.size // itemsize
    join, word = {2: (_join2, np.uint16), 4: (_join4, np.uint32), 8: (_join8, np.uint64)}.get(
        int(itemsize), (None, None))
    if join is not None and sys.byteorder == "little" and out.ctypes.data % itemsize == 0 and n:
        join(src, out[: n * itemsize].view(word))
        out[n * itemsize:] = src[n * itemsize:]
    else:
        _unshuffle_bytes(src, out, itemsize)


@numba.njit(nogil=True, cache=True)
def _join2(src, w):  # pragma: no cover - compiled
    n = w.size
    for i in range(n):
        w[i] = np.uint16(src[i]) | (np.uint16(src[n + i]) << np.uint16(8))


@numba.njit(nogil=True, cache=True)
def _join4(src, w):  # pragma: no cover - compiled
    n = w.size
    for i in range(n):
        w[i] = (np.uint32(src[i]) | (np.uint32(src[n + i]) << np.uint32(8))
                | (np.uint32(src[2 * n + i]) << np.uint32(16)) | (np.uint32(src[3 * n + i]) << np.uint32(24)))


@numba.njit(nogil=True, cache=True)
def _join8(src, w):  # pragma: no cover - compiled
    n = w.size
    for i in range(n):
        v = np.uint64(0)
        for j in range(8):
            v |= np.uint64(src[j * n + i]) << np.uint64(8 * j)
        w[i] = v


@numba.njit(nogil=True, cache=True)
def _unshuffle_bytes(src, out, itemsize):  # pragma: no cover - compiled
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
