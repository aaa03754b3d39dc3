"""Read a hyperslab of an HDF5 dataset chunk by chunk, decoding the chunks outside HDF5.

HDF5 (and so h5py) decodes a dataset's chunks one at a time, in the calling thread, under a
library-wide lock: reading a gzip-compressed or byte-shuffled spectrum cube from several
threads is no faster than from one. :func:`read_chunked` instead fetches each chunk's stored
bytes itself and undoes the filters itself: zlib's inflate releases the GIL, and the byte
unshuffle and LZF decoders are numba kernels that release it too, so the blocks of a lazy cube
decode on every core at once.

The stored bytes of a chunk are read with ``os.preadv`` at the chunk's address in the file
(HDF5's own chunk index, ``get_chunk_info_by_coord``) when the file is a plain local file
(HDF5's default ``sec2`` driver, no user block): that read releases the GIL and takes no HDF5
lock, so the threads copy from the page cache in parallel. (``read_direct_chunk``, used
otherwise, holds HDF5's lock for the whole copy.)

Handled filter pipelines: any combination of shuffle (2), deflate/gzip (1) and LZF (32000).
Anything else (szip, scale-offset, Fletcher checksums, external plugins) and any selection
that is not a plain hyperslab is read by h5py as usual.
"""

from __future__ import annotations

import itertools
import os
import zlib

import numpy as np

try:  # zlib-ng's inflate: the same bytes as zlib's, 3.5x faster (and it releases the GIL too)
    from zlib_ng import zlib_ng as _zlib
except ImportError:  # pragma: no cover - zlib-ng is a dependency; plain zlib if it is missing
    _zlib = zlib
_ZLIB_ERRORS = (zlib.error, _zlib.error)

__all__ = ["read_chunked", "read_planes", "decodable"]

DEFLATE, SHUFFLE, LZF = 1, 2, 32000
_KERNELS = None


def _read_buffer(nbytes: int, scratch=None) -> np.ndarray:
    """A buffer for one stored chunk: the one this thread keeps in ``scratch`` (a
    ``threading.local`` that lives as long as one pass over a cube), else a new one.

    A new buffer is fresh memory, which the kernel zeroes page by page as the read first
    touches it: a pass over a 3 GB shuffled cube read chunk after chunk into new buffers
    spent 6-7 % of its CPU time zeroing them. A buffer kept for the life of the process (a
    plain thread-local) would hold a chunk's worth of memory per thread for good.
    """
    if scratch is None:
        return np.empty(nbytes, np.uint8)
    from .._blocks import thread_buffer

    return thread_buffer(scratch, nbytes, np.uint8, name="stored_chunk")


def _file_handle(ds):
    """The OS file descriptor of ``ds``'s file when chunk addresses are file offsets (HDF5's
    ``sec2`` driver, no user block), else ``None``."""
    try:
        if ds.file.driver == "sec2" and ds.file.userblock_size == 0 and hasattr(
                ds.id, "get_chunk_info_by_coord"):
            fd = ds.file.id.get_vfd_handle()
            return fd if isinstance(fd, int) else None
    except (OSError, ValueError, TypeError):
        pass
    return None


def _chunk_source(ds):
    """``read(origin, buffer) -> (filter_mask, stored bytes)`` for the chunks of ``ds``.

    By ``os.preadv`` at the chunk's file address when the file is a plain local file with no
    user block (addresses are then file offsets); else by h5py's ``read_direct_chunk``.
    ``buffer`` must be large enough for the stored chunk; the bytes returned may be a view of
    it. An unwritten chunk raises ``OSError``.
    """
    dsid = ds.id
    fd = _file_handle(ds)
    if fd is None:
        return lambda origin, buf: dsid.read_direct_chunk(origin, out=buf)

    def read(origin, buf):
        info = dsid.get_chunk_info_by_coord(origin)
        if info.byte_offset is None or info.size > buf.size:
            raise OSError(f"chunk {origin} is not stored, or is larger than expected")
        view = buf[: info.size]
        if os.preadv(fd, [view], info.byte_offset) != info.size:
            raise OSError(f"chunk {origin} is cut short")
        return info.filter_mask, view

    return read


def _chunk_rows_source(ds, filters):
    """``read(origin, lo, hi, buffer) -> (filter_mask, stored bytes)``: only rows ``lo:hi``
    (first axis) of an uncompressed chunk, as they would be stored in a chunk of that many
    rows; or ``None`` when that cannot be done (a compressed dataset, a chunk that does not
    span the trailing axes, a file whose chunk addresses are not file offsets).

    Byte-shuffled values are stored one byte plane after another (every value's first byte,
    then every value's second byte, ...): the rows' part of each plane is one contiguous read,
    and the planes read one after another form a shuffled chunk of ``hi - lo`` rows. So a pass
    can go over a cube in blocks smaller than its chunks (that stay in the CPU's cache),
    reading each byte once.
    """
    if not set(filters) <= {SHUFFLE} or tuple(ds.chunks[1:]) != tuple(ds.shape[1:]):
        return None
    fd = _file_handle(ds)
    if fd is None:
        return None
    dsid, item = ds.id, ds.dtype.itemsize
    row_values, n_values = int(np.prod(ds.chunks[1:])), int(np.prod(ds.chunks))

    def read(origin, lo, hi, buf=None, planes=None):
        """Into ``buf`` (the planes one after another, as a shuffled chunk of these rows),
        or with ``planes`` (one destination per byte plane) each plane into its own, which
        a chunk stored without its shuffle cannot give (``OSError``)."""
        info = dsid.get_chunk_info_by_coord(origin)
        if info.byte_offset is None or info.size != n_values * item:
            raise OSError(f"chunk {origin} is not stored as {n_values * item} plain bytes")
        m = (hi - lo) * row_values
        shuffled = item > 1 and any(f == SHUFFLE and not info.filter_mask & (1 << i)
                                    for i, f in enumerate(filters))
        # the rows' part of each byte plane (the whole rows, when not shuffled)
        offsets = [p * n_values + lo * row_values for p in range(item)] if shuffled else [lo * row_values * item]
        if planes is not None:
            if not shuffled:
                raise OSError(f"chunk {origin} is stored without its shuffle")
            dests = planes
        elif m * item > buf.size:
            raise OSError(f"a buffer of {buf.size} bytes cannot hold rows {lo}:{hi} of chunk {origin}")
        else:
            size = m if shuffled else m * item
            dests = [buf[at: at + size] for at in range(0, m * item, size)]
        for dest, offset in zip(dests, offsets, strict=True):
            if os.preadv(fd, [dest], info.byte_offset + offset) != dest.size:
                raise OSError(f"chunk {origin} is cut short")
        return info.filter_mask, None if buf is None else buf[: m * item]

    return read


def _kernels():
    global _KERNELS
    if _KERNELS is None:
        from ._hdf5chunks_kernels import lzf_decompress, unshuffle

        _KERNELS = (lzf_decompress, unshuffle)
    return _KERNELS


def decodable(ds) -> tuple[int, ...] | None:
    """The filter ids of a chunked dataset whose chunks this module can decode, else ``None``.

    Examples
    --------
    >>> import tempfile, h5py, numpy as np
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "a.h5"
    >>> with h5py.File(p, "w") as f:
    ...     d = f.create_dataset("x", data=np.zeros((4, 4), np.uint16), chunks=(2, 4),
    ...                          compression="gzip", shuffle=True)
    ...     decodable(d)
    (2, 1)
    """
    if ds.chunks is None:
        return None
    plist = ds.id.get_create_plist()
    ids = tuple(int(plist.get_filter(i)[0]) for i in range(plist.get_nfilters()))
    if not set(ids) <= {DEFLATE, SHUFFLE, LZF} or ds.dtype.kind not in "uif":
        return None
    return ids


def _decode(raw: bytes, filters, mask: int, chunk_shape, dtype, dest=None) -> np.ndarray:
    """Undo ``filters`` (in reverse order) on one stored chunk.

    ``dest``, a C-contiguous array of ``chunk_shape`` and ``dtype``, receives the result of
    the last step without another copy (it is returned).
    """
    dtype = np.dtype(dtype)
    n_values = int(np.prod(chunk_shape))
    n = n_values * dtype.itemsize
    steps = [filters[i] for i in range(len(filters) - 1, -1, -1) if not mask & (1 << i)]
    if dtype.itemsize == 1:
        steps = [f for f in steps if f != SHUFFLE]
    buf = raw
    for k, f in enumerate(steps):
        last = k == len(steps) - 1
        if f == DEFLATE:
            buf = _zlib.decompress(buf, bufsize=n)  # its size is known: no regrowing
            continue
        out = dest.reshape(-1).view(np.uint8) if (last and dest is not None) else np.empty(n, np.uint8)
        if f == LZF:
            lzf, _ = _kernels()
            got = lzf(np.frombuffer(buf, np.uint8), out)
            if got != n:
                raise ValueError(f"an LZF chunk decoded to {got} bytes, expected {n}")
        else:  # SHUFFLE
            _, unshuffle = _kernels()
            src = np.frombuffer(buf, np.uint8)
            if src.size != n:
                raise ValueError(f"a shuffled chunk holds {src.size} bytes, expected {n}")
            unshuffle(src, out, dtype.itemsize)
        buf = out
    if dest is not None and steps and steps[-1] != DEFLATE:
        return dest  # the last step wrote into it
    arr = np.frombuffer(buf, dtype=dtype)
    if arr.size != n_values:
        raise ValueError(f"a chunk decoded to {arr.size} values, expected {n_values}")
    if dest is None:
        return arr.reshape(chunk_shape)
    dest.reshape(-1)[:] = arr
    return dest


def read_chunked(ds, selection: tuple, out: np.ndarray | None = None, scratch=None) -> np.ndarray | None:
    """``ds[selection]`` read chunk by chunk with the filters undone here, or ``None`` when the
    dataset's filters or the selection need h5py (the caller then reads it with h5py).

    ``selection`` is a tuple of slices with step 1, one per axis. ``out``, a C-contiguous
    array of the selection's shape and the dataset's dtype, receives the values (chunks that
    span the trailing axes are decoded straight into it); it is returned. ``scratch``, a
    ``threading.local`` of one pass, keeps this thread's buffer for the stored bytes from one
    call to the next (:func:`_read_buffer`).

    Examples
    --------
    >>> import tempfile, h5py, numpy as np
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "a.h5"
    >>> x = np.arange(5 * 6 * 7, dtype=np.uint16).reshape(5, 6, 7)
    >>> with h5py.File(p, "w") as f:
    ...     d = f.create_dataset("x", data=x, chunks=(2, 3, 7), compression="lzf", shuffle=True)
    ...     bool((read_chunked(d, (slice(1, 4), slice(0, 6), slice(2, 7))) == x[1:4, :, 2:]).all())
    True
    """
    filters = decodable(ds)
    if filters is None or len(selection) != ds.ndim:
        return None
    if not all(isinstance(s, slice) and (s.step in (None, 1)) for s in selection):
        return None
    ranges = [s.indices(n)[:2] for s, n in zip(selection, ds.shape, strict=True)]
    shape = tuple(max(0, b - a) for a, b in ranges)
    if out is None:
        out = np.empty(shape, dtype=ds.dtype)
    elif out.shape != shape or out.dtype != ds.dtype or not out.flags.c_contiguous:
        return None
    if out.size == 0:
        return out
    cs = ds.chunks
    starts = [range((a // c) * c, b, c) for (a, b), c in zip(ranges, cs, strict=True)]
    read = _chunk_source(ds)
    # chunks spanning every trailing axis whole land in ``out`` without a copy
    whole_tail = all(c == n and a == 0 and b == n for c, n, (a, b) in
                     zip(cs[1:], ds.shape[1:], ranges[1:], strict=True))
    # ... and of an uncompressed one, only the rows asked for are read
    read_rows = _chunk_rows_source(ds, filters) if whole_tail else None
    nbytes = int(np.prod(cs)) * ds.dtype.itemsize
    room = nbytes + nbytes // 64 + 4096  # deflate may store an incompressible chunk a bit larger
    for origin in itertools.product(*starts):
        src, dst = [], []
        for o, c, (a, b), n in zip(origin, cs, ranges, ds.shape, strict=True):
            lo, hi = max(a, o), min(b, o + c, n)
            src.append(slice(lo - o, hi - o))
            dst.append(slice(lo - a, hi - a))
        inside = whole_tail and src[0] == slice(0, cs[0])
        try:
            if read_rows is not None and not inside:  # a part of the chunk's rows
                target = out[tuple(dst)]
                lo, hi = src[0].start, src[0].stop
                if not filters:  # stored as is: straight into the block
                    read_rows(origin, lo, hi, target.reshape(-1).view(np.uint8))
                    continue
                mask, raw = read_rows(origin, lo, hi, _read_buffer(target.nbytes, scratch))
                _decode(raw, filters, mask, target.shape, ds.dtype, dest=target)
                continue
            if not filters and inside:  # stored as is: straight into the block
                view = out[tuple(dst)].reshape(-1).view(np.uint8)
                if memoryview(read(origin, view)[1]).nbytes != nbytes:
                    raise OSError(f"chunk {origin} holds fewer bytes than its shape")
                continue
            mask, raw = read(origin, _read_buffer(room, scratch))
            if inside:
                _decode(raw, filters, mask, cs, ds.dtype, dest=out[tuple(dst)])
            else:
                out[tuple(dst)] = _decode(raw, filters, mask, cs, ds.dtype)[tuple(src)]
        except (OSError, ValueError, RuntimeError, *_ZLIB_ERRORS):
            return None  # an unwritten or damaged chunk: h5py reads it, or says what is wrong
    return out


def read_planes(ds, r0: int, r1: int, out: np.ndarray) -> np.ndarray | None:
    """Rows ``r0:r1`` of a byte-shuffled, uncompressed dataset as the byte planes they are
    stored in, or ``None`` when that cannot be done.

    ``out`` is a C-contiguous ``uint8`` array of shape ``(itemsize, r1 - r0) + ds.shape[1:]``:
    ``out[j]`` receives byte ``j`` of every value (little-endian order, as HDF5's shuffle
    filter stores them). Each plane of each chunk the rows cross is one ``os.preadv`` straight
    into ``out``: a kernel that puts the values together as it reads them
    (:func:`sigma.preprocessing.cubepass.summarise_cube`) then needs no unshuffle pass and no
    second buffer. ``None``: a dataset that is compressed or not shuffled, chunks that do not
    span the trailing axes, a file whose chunk addresses are not file offsets, a chunk
    stored without its shuffle (or not at all).

    Examples
    --------
    >>> import tempfile, h5py, numpy as np
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "a.h5"
    >>> x = np.arange(4 * 2 * 3, dtype=np.uint16).reshape(4, 2, 3) * 300
    >>> with h5py.File(p, "w") as f:
    ...     d = f.create_dataset("x", data=x, chunks=(3, 2, 3), shuffle=True)
    ...     planes = read_planes(d, 1, 4, np.empty((2, 3, 2, 3), np.uint8))
    >>> bool(((planes[0] | planes[1].astype(np.uint16) << 8) == x[1:4]).all())
    True
    """
    filters = decodable(ds)
    item = ds.dtype.itemsize
    if filters != (SHUFFLE,) or item < 2 or ds.ndim < 2:
        return None
    if out.dtype != np.uint8 or out.shape != (item, r1 - r0, *ds.shape[1:]) or not out.flags.c_contiguous:
        return None
    read = _chunk_rows_source(ds, filters)
    if read is None:
        return None
    cs = int(ds.chunks[0])
    zeros = (0,) * (ds.ndim - 1)
    for c0 in range((r0 // cs) * cs, r1, cs):
        lo, hi = max(r0, c0), min(r1, c0 + cs)
        try:
            read((c0, *zeros), lo - c0, hi - c0, planes=[out[j, lo - r0: hi - r0].reshape(-1) for j in range(item)])
        except OSError:
            return None  # not stored, stored without its shuffle, or cut short
    return out
