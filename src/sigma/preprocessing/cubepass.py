"""Everything the pre-processing needs from a spectrum cube, in one read of it.

:func:`summarise_cube` streams an ``(H, W, C)`` cube once, in blocks of whole rows
(:func:`sigma._blocks.map_row_blocks`: a lazy cube's chunks are computed once, all in one
graph; a NumPy cube's blocks run on every core), and gives per pixel its total counts, whether
its spectrum holds NaN/inf, its counts in any number of channel windows (the X-ray line maps),
the sum spectrum of the valid pixels, and optionally the binned cube.

The per-block work is one fused integer kernel (numba, compiled once per dtype and cached on
disk, releasing the GIL): every value is read once from memory, the pixel's spectrum then
stays in the L1 cache for the window sums, the spectrum and the bin sums. ``uint16`` counts
read from a byte-shuffled ``.hspy`` file reach it as their two byte planes, put together as
they are read (no unshuffle pass). NaN and inf count as zero everywhere.

A pixel is **valid** when its spectrum is finite, its total is positive, and the reader's
scanned-area mask (if any) includes it. Invalid pixels are left out of the sum spectrum; the
binned cube, totals and window sums still hold what they contain (NaN as zero), so counts are
conserved.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import numpy as np

from .._blocks import map_row_blocks, thread_buffer
from .._errors import bad_value
from .binning import _check_factors, _exact_range, sum_dtype
from .sparsecube import SparseCounts, block_to_csr

log = logging.getLogger(__name__)

_KERNEL = None


def _kernel():
    """The numba kernel (:mod:`._cubepass_kernels`), imported on first use."""
    global _KERNEL
    if _KERNEL is None:
        from ._cubepass_kernels import summarise_block

        _KERNEL = summarise_block
    return _KERNEL


@dataclass
class CubeSummary:
    """What :func:`summarise_cube` read from a cube.

    Attributes
    ----------
    totals : ndarray, shape (H, W), float64
        Each pixel's counts over every channel (NaN as zero).
    norm_totals : ndarray, shape (H, W), float64
        Its counts over channels ``total_from:`` (the same array as ``totals`` when 0).
    bad : ndarray, shape (H, W), bool
        The pixel's spectrum holds NaN or inf.
    valid : ndarray, shape (H, W), bool
        Finite, positive total, and inside the reader's mask.
    spectrum : ndarray, shape (C,), float64
        Sum of the valid pixels' spectra.
    windows : dict
        ``(lo, hi)`` channel range → ``(H, W)`` float32 counts in channels ``lo:hi``.
    binned : ndarray or None
        ``(H // fy, W // fx, C)`` bin sums when ``bin_size`` was given, in the narrowest
        dtype that holds them exactly (``uint8`` when every bin of unsigned counts is below
        256, else the exact dtype of :func:`sigma.preprocessing.binning.sum_dtype`).
    sparse : SparseCounts or None
        With ``sparse_limit``: the same counts on the binned (or, without ``bin_size``, the
        full) grid as a :class:`~sigma.preprocessing.sparsecube.SparseCounts` (same dtype
        rule), or ``None`` when they took more than ``sparse_limit`` bytes.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((1, 2, 3), np.float32)
    >>> x[0, 1, 0] = np.nan
    >>> s = summarise_cube(x)
    >>> s.bad.tolist(), s.valid.tolist(), s.spectrum.tolist()  # the NaN pixel stays out
    ([[False, True]], [[True, False]], [1.0, 1.0, 1.0])
    """

    totals: np.ndarray
    norm_totals: np.ndarray
    bad: np.ndarray
    valid: np.ndarray
    spectrum: np.ndarray
    windows: dict = field(default_factory=dict)
    binned: np.ndarray | None = None
    sparse: SparseCounts | None = None


def _narrow_dtype(dtype, factor):
    """The dtype the binned cube is written in first: one byte for unsigned counts (a bin of
    sparse EDS counts rarely reaches 256 in one channel), the input's own for signed ones.
    A block whose bins do not fit is binned again in the exact wide dtype, and the whole cube
    then takes that dtype, so the result is always exact."""
    dtype = np.dtype(dtype)
    if dtype.kind == "u":
        return np.dtype(np.uint8)
    if dtype.kind == "i":
        return np.promote_types(dtype, np.int16)
    return sum_dtype(dtype, factor)


def summarise_cube(
    data, windows=(), *, total_from: int = 0, valid=None, bin_size=None,
    desc: str = "reading the cube", progress: bool | None = None, sparse_limit: int | None = None,
) -> CubeSummary:
    """Totals, finite flags, window sums, sum spectrum and (optionally) bins in one pass.

    Parameters
    ----------
    data : array_like, shape (H, W, C)
        NumPy or dask cube of counts (any integer or float dtype).
    windows : sequence of (int, int)
        Channel ranges ``[lo, hi)`` to sum per pixel.
    total_from : int
        First channel of :attr:`CubeSummary.norm_totals`.
    valid : array_like of bool, shape (H, W), optional
        The reader's scanned-area mask.
    bin_size : (int, int), optional
        Also bin the cube (the partial edge block is dropped, see
        :mod:`sigma.preprocessing.binning`): into one NumPy array for a NumPy cube, or only
        into :attr:`CubeSummary.sparse` for a dask cube (which needs ``sparse_limit``).
    desc, progress
        Progress bar of a lazy cube's pass.
    sparse_limit : int, optional
        Also keep the counts on the binned grid (the full grid without ``bin_size``) as
        :class:`~sigma.preprocessing.sparsecube.SparseCounts`, as long as they take at most
        this many bytes (:attr:`CubeSummary.sparse`; ``None`` beyond). Integer counts only.

    Returns
    -------
    CubeSummary

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(2 * 3 * 4, dtype=np.uint16).reshape(2, 3, 4)
    >>> s = summarise_cube(x, [(1, 3)], bin_size=(2, 2))
    >>> s.totals.tolist(), s.windows[(1, 3)][0].tolist()
    ([[6.0, 22.0, 38.0], [54.0, 70.0, 86.0]], [3.0, 11.0, 19.0])
    >>> int(s.valid.sum()), s.spectrum.tolist() == x.sum((0, 1)).tolist()
    (6, True)
    >>> s.binned[..., 0].tolist(), s.binned.dtype
    ([[32]], dtype('uint8'))
    """
    if getattr(data, "ndim", None) != 3:
        raise bad_value("data", getattr(data, "shape", data), "an (H, W, C) spectrum image")
    h, w, c = (int(n) for n in data.shape)
    wins = [(int(lo), int(hi)) for lo, hi in dict.fromkeys(tuple(x) for x in windows)]
    for lo, hi in wins:
        if not 0 <= lo < hi <= c:
            raise bad_value("windows", (lo, hi), f"channel ranges inside [0, {c}]")
    total_from = int(total_from)
    if not 0 <= total_from < c:
        raise bad_value("total_from", total_from, f"a channel in [0, {c})")
    lazy = hasattr(data, "dask")
    sparse = sparse_limit is not None
    if sparse and np.dtype(data.dtype).kind not in "ui":
        raise bad_value("sparse_limit", sparse_limit, "None for a cube of non-integer values")
    if bin_size is not None and lazy and not sparse:
        raise bad_value("bin_size", bin_size, "None for a dask cube (bin it with rebin_cube), or a sparse_limit")
    fy, fx = (1, 1) if bin_size is None else _check_factors(bin_size, data.shape)
    hb, wb = (h // fy, w // fx) if (bin_size is not None or sparse) else (0, 0)
    valid_in = np.ones((h, w), bool) if valid is None else np.asarray(valid, dtype=bool)
    if valid_in.shape != (h, w):
        raise bad_value("valid", valid_in.shape, f"an ({h}, {w}) mask")
    los = np.asarray([lo for lo, _ in wins], np.int64)
    his = np.asarray([hi for _, hi in wins], np.int64)
    wide = sum_dtype(data.dtype, fy * fx, _exact_range(data, fy * fx) if bin_size else None)
    narrow = _narrow_dtype(data.dtype, fy * fx)
    out = np.empty((hb, wb, c), narrow) if bin_size is not None and not sparse else None
    kept = {"bytes": 0, "over": False}  # the sparse copy's size so far (blocks run in threads)
    lock = threading.Lock() if sparse else None  # (a lock cannot travel to dask workers)
    # the binned block the sparse copy is made from: one per thread, reused (thread_buffer)
    scratch = threading.local() if sparse else None
    # integer accumulators for integer counts (exact, and no conversion per value)
    kind = np.dtype(data.dtype).kind
    acc = np.dtype({"u": np.uint64, "i": np.int64}.get(kind, np.float64))
    lim, wlim = _limits(narrow, acc), _limits(wide, acc)
    kernel = _kernel()

    def work(blk, r0, r1):
        blk = np.asarray(blk)  # values (n, w, c), or uint16's byte planes (2, n, w, c)
        if blk.dtype.kind not in "uif":
            blk = blk.astype(np.float32)
        n = r1 - r0
        tot = np.empty((n, w), np.float64)
        ntot = np.empty((n, w), np.float64) if total_from else tot
        bad = np.empty((n, w), np.bool_)
        spec = np.zeros(c, acc)
        sums = np.empty((n, w, len(wins)), np.float32)
        buf = np.zeros(c, acc)
        nb = (n // fy) if (out is not None or sparse) else 0
        if sparse:
            target = thread_buffer(scratch, nb * wb * c, narrow).reshape(nb, wb, c)
        else:
            target = out[r0 // fy : r0 // fy + nb] if nb else np.empty((0, 0, c), narrow)
        keep = None
        over = kernel(blk, acc.type(0), total_from, los, his, fy, fx, valid_in[r0:r1], tot,
                      ntot, bad, spec, sums, target, buf, lim[0], lim[1])
        if over:  # a bin holds more than the narrow dtype can: redo the block in the wide one
            keep = np.empty((nb, wb, c), wide)
            kernel(blk, acc.type(0), total_from, los, his, fy, fx, valid_in[r0:r1], tot, ntot,
                   bad, spec * 0, sums, keep, buf, wlim[0], wlim[1])
        if sparse:
            keep = _sparse_part(target if keep is None else keep, kept, lock, sparse_limit)
        return tot, (ntot if total_from else None), bad, spec, sums, keep

    # uint16 counts from a byte-shuffled file come as their two byte planes, which the kernel
    # reads as it goes: no unshuffle pass, no second buffer (``map_row_blocks(planes=True)``)
    parts = map_row_blocks(work, data, align=fy, desc=desc, progress=progress,
                           planes=np.dtype(data.dtype) == np.uint16)
    totals = np.concatenate([p[0] for p in parts])
    norm_totals = np.concatenate([p[1] for p in parts]) if total_from else totals
    bad = np.concatenate([p[2] for p in parts])
    spectrum = np.sum([p[3] for p in parts], axis=0).astype(np.float64)
    sums = np.concatenate([p[4] for p in parts])
    binned = out
    sp = None
    if sparse and not kept["over"]:
        sp = SparseCounts.from_blocks([p[5] for p in parts], (hb, wb, c))
    elif sparse:
        log.info("the counts take more than %.0f MiB even as a sparse copy; not kept in memory",
                 sparse_limit / 2**20)
    if out is not None and any(p[5] is not None for p in parts):
        # a bin holds more than the input dtype can: the exact wide dtype after all
        log.info("binned counts exceed %s; keeping them as %s", narrow, wide)
        binned = out.astype(wide)
        for (r0, _r1), p in zip(_ranges(parts, data, fy), parts, strict=True):
            if p[5] is not None:
                binned[r0 // fy : r0 // fy + len(p[5])] = p[5]
    valid_px = ~bad & (totals > 0) & valid_in
    return CubeSummary(
        totals=totals, norm_totals=norm_totals, bad=bad, valid=valid_px, spectrum=spectrum,
        windows={wn: sums[..., i] for i, wn in enumerate(wins)}, binned=binned, sparse=sp,
    )


def _sparse_part(block, kept, lock, limit):
    """:func:`~sigma.preprocessing.sparsecube.block_to_csr` of one block, or ``None`` once the
    copy would exceed ``limit`` bytes (then every later block is dropped too)."""
    if kept["over"]:
        return None
    part = block_to_csr(block)
    size = sum(a.nbytes for a in part) + 2 * part[0].nbytes  # + the row pointers (int64)
    with lock:
        kept["bytes"] += size
        if kept["bytes"] > limit:
            kept["over"] = True
    return None if kept["over"] else part


def _limits(dtype, acc):
    """Bounds of ``dtype`` in the accumulator's type (none for a float output)."""
    if acc.kind == "f":
        lo, hi = (-np.inf, np.inf) if np.dtype(dtype).kind == "f" else (
            np.iinfo(dtype).min, np.iinfo(dtype).max)
        return acc.type(lo), acc.type(hi)
    ai = np.iinfo(acc)
    if np.dtype(dtype).kind not in "ui":
        return acc.type(ai.min), acc.type(ai.max)
    info = np.iinfo(dtype)
    return acc.type(max(int(info.min), int(ai.min))), acc.type(min(int(info.max), int(ai.max)))


def _ranges(parts, data, fy):
    edges = np.cumsum([0] + [len(p[0]) for p in parts]).tolist()
    return list(zip(edges[:-1], edges[1:], strict=True))
