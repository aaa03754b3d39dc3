"""One block/chunk utility for every pass over a spectrum cube.

Every pass over an ``(H, W, C)`` cube (binning, pixel totals, line-window sums, per-pixel
normalisation, cluster spectra, abundances, refinement) works on blocks of whole map rows with
every channel, so that each block is one contiguous read and a lazy file's chunks are read once:

- :func:`get_chunking` chooses the rows of a block the way kikuchipy does, with
  :func:`dask.array.core.normalize_chunks` (``{rows: "auto", columns: -1, channels: -1}`` under
  a byte limit), rounded to a multiple of ``align`` (the rows of one file chunk, or a bin
  factor) so that no file chunk and no bin straddles two blocks;
- :func:`row_blocks` gives the ``(r0, r1)`` ranges of one pass: a dask cube's own row chunks
  (merged up to the limit), or :func:`get_chunking`'s blocks for a NumPy cube;
- :func:`map_row_blocks` applies a function to every block in one pass. A dask cube is
  computed **once**: all blocks go to the scheduler in one graph, so a source shared by the
  blocks (a ``.bcf`` decoded by one task, an HDF5 file) is read once per pass, not once per
  block. A NumPy cube's blocks are views handed to a thread pool (the kernels release the GIL).
  A dask cube that is a file's rows as they are stored (:func:`register_row_source`) is read
  by that thread pool too, each thread into one buffer it keeps for the pass: a new block
  array per task costs the kernel a page fault per page of every block (fresh memory is
  zeroed before it is written), as much again as the read itself.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Callable, Sequence

import numpy as np

from ._errors import bad_value

#: Bytes of one block of rows (every channel) read by one task of a pass.
BLOCK_BYTES = 64 * 2**20
#: Bytes of one block of a row source that reads any rows at the cost of their own bytes
#: (``fine_rows``): small enough that a thread's block and its stored bytes stay in the CPU's
#: cache between the read and the kernel, and little fresh memory is touched.
FINE_BLOCK_BYTES = 8 * 2**20


_ROW_SOURCES: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def register_row_source(array, source) -> None:
    """Let :func:`map_row_blocks` read the dask ``array``'s rows from ``source`` directly.

    ``source`` has ``shape``, ``dtype`` and ``read_rows(r0, r1, out, scratch=None)``, which
    fills ``out`` (C-contiguous, ``(r1 - r0,) + shape[1:]``, ``dtype``) with rows ``r0:r1`` of
    exactly the values ``array`` holds; ``scratch``, a ``threading.local`` of the pass, may
    keep its working buffers (see :func:`thread_buffer`). A source whose ``fine_rows`` is true
    reads any rows at the cost of their own bytes: a pass then goes in blocks of
    ``FINE_BLOCK_BYTES`` rather than of whole file chunks. Only that very array (its dask
    name) is read this way; anything computed from it goes through dask. The entry lives as
    long as ``source``.
    """
    _ROW_SOURCES[array.name] = source


def _row_source(data):
    src = _ROW_SOURCES.get(getattr(data, "name", None))
    if src is None or tuple(src.shape) != tuple(data.shape) or np.dtype(src.dtype) != data.dtype:
        return None
    return src


def _threads_compute(in_process: bool) -> bool:
    """Whether dask would compute in this process's threads (no ``distributed`` client)."""
    from ._progress import local_scheduler

    if in_process:
        return True
    import dask.threaded

    if local_scheduler(None) is dask.threaded.get:
        return True
    from dask.base import get_scheduler

    return get_scheduler() in (None, dask.threaded.get)


def thread_buffer(local, n: int, dtype, name: str = "buf") -> np.ndarray:
    """``n`` values of ``dtype`` from the buffer this thread keeps in ``local`` (a
    ``threading.local`` made for one pass) under ``name``, grown when it is too small.

    A pass reuses it block after block: fresh memory costs the kernel a page fault per page,
    zeroed before it is written, on every block.

    Examples
    --------
    >>> import threading
    >>> local = threading.local()
    >>> a = thread_buffer(local, 6, np.uint8)
    >>> b = thread_buffer(local, 4, np.uint8)
    >>> a.size, b.size, np.shares_memory(a, b)
    (6, 4, True)
    """
    dtype = np.dtype(dtype)
    buf = getattr(local, name, None)
    if buf is None or buf.size < n or buf.dtype != dtype:
        buf = np.empty(max(int(n), 1), dtype)
        setattr(local, name, buf)
    return buf[:n]


def n_threads() -> int:
    """Threads a pass over a NumPy cube uses: the CPUs this process may run on.

    Examples
    --------
    >>> n_threads() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def get_chunking(
    shape: Sequence[int], dtype, *, limit: int = BLOCK_BYTES, align: int = 1
) -> tuple[tuple[int, ...], ...]:
    """Dask chunks of an ``(H, W, ...)`` cube in blocks of whole rows of about ``limit`` bytes.

    Built on :func:`dask.array.core.normalize_chunks` with ``"auto"`` rows and whole other
    axes. ``align`` makes every block but the last a multiple of that many rows (a block is
    never smaller than ``align`` rows, nor larger than ``H``; a cube that fits in one block
    is one block).

    Parameters
    ----------
    shape : sequence of int
        Shape of the cube, rows first.
    dtype : numpy dtype
        Its dtype (the limit is in bytes).
    limit : int
        Target bytes of one block.
    align : int
        Rows of one file chunk or one bin.

    Returns
    -------
    tuple of tuple of int
        Dask ``chunks``.

    Examples
    --------
    >>> get_chunking((100, 50, 2048), "uint16", limit=2**20)[0][:3]
    (5, 5, 5)
    >>> get_chunking((100, 50, 2048), "uint16", limit=2**20, align=4)[0][:3]
    (4, 4, 4)
    >>> get_chunking((10, 50, 2048), "uint16", limit=2**20, align=3)[0]
    (3, 3, 3, 1)
    """
    from dask.array.core import normalize_chunks

    shape = tuple(int(n) for n in shape)
    if len(shape) < 2 or min(shape) < 0:
        raise bad_value("shape", shape, "the shape of an (H, W, ...) cube")
    dtype = np.dtype(dtype)
    align = max(1, int(align))
    row_bytes = max(1, int(np.prod(shape[1:])) * dtype.itemsize)
    if shape[0] == 0:
        return ((0,), *((n,) for n in shape[1:]))
    # normalize_chunks will not go below one row; at least one row per block.
    auto = normalize_chunks(
        ("auto",) + (-1,) * (len(shape) - 1), shape=shape, limit=max(int(limit), row_bytes),
        dtype=dtype,
    )
    rows = int(max(auto[0]))
    if rows < shape[0]:  # the whole cube fits in one block: no boundary to align
        rows = min(shape[0], max(align, rows // align * align))
    return _even(shape[0], rows), *((n,) for n in shape[1:])


def _even(h: int, rows: int) -> tuple[int, ...]:
    full, rest = divmod(h, rows)
    return (rows,) * full + ((rest,) if rest else ())


def row_blocks(data, *, limit: int = BLOCK_BYTES, align: int = 1) -> list[tuple[int, int]]:
    """Row ranges ``(r0, r1)`` of one pass over ``data``.

    A dask cube's row chunks are kept whole and merged up to ``limit`` bytes (so no chunk is
    read twice); with ``align`` > 1 a boundary falls only where it is a multiple of ``align``
    rows. A NumPy cube is cut by :func:`get_chunking`.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> row_blocks(np.zeros((10, 4, 8), np.uint8), limit=64)
    [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]
    >>> row_blocks(da.zeros((10, 4, 8), chunks=(3, 4, 8), dtype=np.uint8), limit=64)
    [(0, 3), (3, 6), (6, 9), (9, 10)]
    >>> row_blocks(da.zeros((10, 4, 8), chunks=(3, 4, 8), dtype=np.uint8), limit=64, align=2)
    [(0, 6), (6, 10)]
    """
    h = int(data.shape[0])
    align = max(1, int(align))
    chunks = getattr(data, "chunks", None)
    if not chunks or not hasattr(data, "dask"):
        sizes = get_chunking(data.shape, data.dtype, limit=limit, align=align)[0]
        edges = np.cumsum((0,) + tuple(sizes)).tolist()
        return [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]
    row_bytes = max(1, int(np.prod(data.shape[1:])) * np.dtype(data.dtype).itemsize)
    target = max(1, int(limit) // row_bytes)
    out, start, end = [], 0, 0
    for n in chunks[0]:
        end += int(n)
        if end - start >= target and (end % align == 0 or end == h):
            out.append((start, end))
            start = end
    if end > start:
        out.append((start, end))
    return out


class _NoCopy:
    """A NumPy array seen through ``__getitem__`` only, so that :func:`dask.array.from_array`
    neither copies nor hashes it."""

    def __init__(self, a):
        self.a, self.shape, self.dtype, self.ndim = a, a.shape, a.dtype, a.ndim

    def __getitem__(self, key):
        return self.a[key]


def as_dask(array, *, limit: int = BLOCK_BYTES, align: int = 1):
    """A dask view of a NumPy cube in blocks of whole rows, without copying it.

    (:func:`dask.array.from_array` copies a NumPy array and hashes its bytes.) Blocks are
    views until computed; the array must not be changed while the dask array is in use.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(24).reshape(4, 3, 2)
    >>> d = as_dask(x, limit=96)
    >>> d.chunks[0], bool((d.compute() == x).all())
    ((2, 2), True)
    """
    import uuid

    import dask.array as da

    if hasattr(array, "dask"):
        return array
    a = np.asarray(array)
    return da.from_array(_NoCopy(a), chunks=get_chunking(a.shape, a.dtype, limit=limit, align=align),
                         asarray=False, meta=np.empty((0,) * a.ndim, a.dtype),
                         name=f"array-{uuid.uuid4().hex}")


def map_row_blocks(
    func: Callable, data, *args, limit: int = BLOCK_BYTES, align: int = 1,
    desc: str = "pass over the cube", progress: bool | None = None, threads: bool = True,
    blocks: list[tuple[int, int]] | None = None, in_process: bool = False, planes: bool = False,
) -> list:
    """``[func(block, r0, r1, *args) for each row block]`` in one pass over ``data``.

    Parameters
    ----------
    func : callable
        ``func(block, r0, r1, *args)``; ``block`` is a NumPy array ``data[r0:r1]``. It must not
        keep the block (for a NumPy cube it is a view). It should return its result: with a
        ``distributed.Client`` it runs in a worker process, where writing into an array of
        this process has no effect (unless ``in_process``).
    data : array_like, shape (H, W, ...)
        NumPy or dask cube. A dask cube is computed once, all blocks in one graph (by its
        scheduler: threads, or the workers of an active ``distributed.Client``).
    *args
        Passed to ``func`` after the row range.
    limit, align : int
        See :func:`row_blocks`.
    desc, progress
        Progress bar (dask cubes only).
    threads : bool
        Run a NumPy cube's blocks in a pool of :func:`n_threads` threads (``func`` should
        release the GIL, as NumPy's reductions do).
    blocks : list of (int, int), optional
        Row ranges to use instead of :func:`row_blocks`.
    in_process : bool
        Compute a dask cube with this process's threads even when a ``distributed.Client``
        is active (for a ``func`` that writes into an array of this process).
    planes : bool
        ``func`` also takes a block as the byte planes its values are stored in: a
        C-contiguous ``uint8`` array of shape ``(itemsize, r1 - r0) + data.shape[1:]``,
        plane ``j`` holding byte ``j`` (little-endian) of every value. A cube read from a
        byte-shuffled, uncompressed HDF5 dataset (a ``.hspy`` file as HyperSpy writes it
        without compression) then comes without an unshuffle pass; any other cube comes as
        values.

    Returns
    -------
    list
        One result per block, in row order.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> x = np.arange(24).reshape(4, 3, 2)
    >>> map_row_blocks(lambda b, r0, r1: (r0, int(b.sum())), x, limit=96)
    [(0, 66), (2, 210)]
    >>> map_row_blocks(lambda b, r0, r1: int(b.sum()), da.from_array(x, chunks=(1, 3, 2)), limit=96)
    [66, 210]
    """
    bl = row_blocks(data, limit=limit, align=align) if blocks is None else list(blocks)
    source = _row_source(data) if hasattr(data, "dask") else None
    if source is not None and _threads_compute(in_process):
        if blocks is None and getattr(source, "fine_rows", False):
            bl = row_blocks(source, limit=min(limit, FINE_BLOCK_BYTES), align=align)
        return _map_source_blocks(func, source, bl, args, desc, progress, planes)
    if hasattr(data, "dask"):
        from dask import delayed

        from ._progress import compute

        # One array graph cut into the blocks, handed over with ``to_delayed``: a task that
        # feeds every block (a file decoded in one go) runs once. (Slicing the array for each
        # delayed call instead would give every block its own copy of that task.)
        sizes = tuple(r1 - r0 for r0, r1 in bl)
        x = data.rechunk({0: sizes, **{i: -1 for i in range(1, data.ndim)}})
        parts = x.to_delayed().ravel()
        # pure=False: no hashing of ``func`` (a closure may hold a whole output array)
        fn = delayed(func, pure=False)
        tasks = [fn(b, r0, r1, *args) for b, (r0, r1) in zip(parts, bl, strict=True)]
        with one_blas_thread():
            return list(compute(*tasks, desc=desc, progress=progress,
                                scheduler="threads" if in_process else None))

    def one(r):
        return func(np.asarray(data[r[0]:r[1]]), r[0], r[1], *args)

    workers = min(n_threads(), len(bl)) if threads else 1
    if workers <= 1:
        return [one(r) for r in bl]
    from concurrent.futures import ThreadPoolExecutor

    with one_blas_thread(), ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, bl))


def _map_source_blocks(func, source, bl, args, desc, progress, planes=False):
    """:func:`map_row_blocks` over a registered row source: every thread reads its blocks into
    one buffer of its own, reused from block to block; a source that can be held open
    (``opened()``) is, for the whole pass."""
    tail = tuple(int(n) for n in source.shape[1:])
    row_items = int(np.prod(tail))
    dtype = np.dtype(source.dtype)
    local = threading.local()
    opened = getattr(source, "opened", None)
    with (opened() if opened is not None else contextlib.nullcontext(source)) as src:
        read_planes = getattr(src, "read_planes", None) if planes and dtype.itemsize > 1 else None

        def one(r):
            n = r[1] - r[0]
            if read_planes is not None:
                buf = thread_buffer(local, dtype.itemsize * n * row_items, np.uint8, name="planes")
                got = read_planes(r[0], r[1], buf.reshape((dtype.itemsize, n, *tail)))
                if got is not None:
                    return func(got, r[0], r[1], *args)
            blk = thread_buffer(local, n * row_items, dtype).reshape((n, *tail))
            src.read_rows(r[0], r[1], blk, scratch=local)
            return func(blk, r[0], r[1], *args)

        return _run_blocks(one, bl, desc, progress)


def _run_blocks(one, bl, desc, progress):
    """``[one(r) for r in bl]`` on :func:`n_threads` threads, with a progress bar."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from ._progress import progress_enabled

    show = (progress_enabled() if progress is None else progress) and len(bl) > 1
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(bl), desc=desc, leave=False)
    workers = max(1, min(n_threads(), len(bl)))
    try:
        with one_blas_thread(), ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(one, r) for r in bl]
            if bar is not None:  # updated from this thread (a notebook's widget bar)
                for _ in as_completed(futures):
                    bar.update(1)
            return [f.result() for f in futures]
    finally:
        if bar is not None:
            bar.close()


def one_blas_thread():
    """A context in which BLAS (OpenBLAS, MKL) uses one thread: the one switch for every place
    where small matrix products are repeated many times or run inside parallel blocks.

    On a few cores, and on a machine shared with other work, OpenBLAS's waiting threads spin
    while small products queue behind them. Row blocks: a block's matrix product (abundances, cluster scores) on BLAS threads inside block threads
    oversubscribes the cores; OpenBLAS's waiting threads then spin. The NNLS abundances of a
    196 608 × 1991 cube took 5.4-7.8 s so, 1.3-1.7 s with one BLAS thread per block (2 cores
    shared with other work, 2026-11-29), the same numbers.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
