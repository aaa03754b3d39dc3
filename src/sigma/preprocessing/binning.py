"""Summing spectrum images and images over blocks of pixels.

Convention for the partial edge block (shared with the mask upscaler of
:mod:`sigma.clustering.masks`): binning by ``(fy, fx)`` sums the pixels of each whole
``fy × fx`` block and **drops** the rows and columns that do not fill one, as HyperSpy's
``rebin(scale=..., crop=True)`` does. Original pixel ``(r, c)`` belongs to bin
``(r // fy, c // fx)`` when ``r < (H // fy) * fy`` and ``c < (W // fx) * fx``, and to no bin
otherwise (mapped back to the full-resolution grid, its label is ``-1``). Counts are conserved
over the binned area: ``rebin_cube(x).sum() == x[:H // fy * fy, :W // fx * fx].sum()``.
Scikit-image's ``block_reduce`` pads the partial block instead; SIGMA2 does not, because a
padded bin holds fewer counts than its neighbours and would look like another phase.

The binned navigation axes follow HyperSpy's ``rebin``: scale ``× f``, offset shifted by
``(f - 1) * scale / 2`` to the centre of the first bin (:func:`binned_axis`).
"""

from __future__ import annotations

import logging

import numpy as np

from .._blocks import map_row_blocks
from .._errors import bad_value

log = logging.getLogger(__name__)


def _check_factors(size, shape) -> tuple[int, int]:
    try:
        fy, fx = (int(size[0]), int(size[1]))
        ok = fy == size[0] and fx == size[1] and len(size) == 2
    except (TypeError, IndexError, ValueError):
        ok = False
    if not ok or fy < 1 or fx < 1:
        raise bad_value("size", size, "a pair of positive integers (ny, nx), such as (2, 2)")
    if fy > shape[0] or fx > shape[1]:
        raise bad_value(
            "size", size, f"bin factors no larger than the map, which has {shape[0]} × {shape[1]} pixels"
        )
    return fy, fx


def binned_shape(shape, size) -> tuple[int, int]:
    """``(H // fy, W // fx)``: the grid binning by ``size`` gives (partial blocks dropped).

    Examples
    --------
    >>> binned_shape((31, 37), (3, 3))
    (10, 12)
    """
    fy, fx = _check_factors(size, shape)
    return int(shape[0]) // fy, int(shape[1]) // fx


def binned_axis(scale: float, offset: float, factor: int) -> tuple[float, float]:
    """Scale and offset of a navigation axis binned by ``factor``, as HyperSpy's ``rebin``.

    The offset moves to the centre of the first bin.

    Examples
    --------
    >>> binned_axis(0.5, 10.0, 3)
    (1.5, 10.5)
    """
    f = int(factor)
    return float(scale) * f, float(offset) + (f - 1) * float(scale) / 2


def sum_dtype(dtype, factor: int, value_range=None) -> np.dtype:
    """Narrowest dtype that holds the sum of ``factor`` values of ``dtype`` exactly.

    Unsigned counts stay unsigned, signed stay signed (a negative value never wraps), floats
    become float32 (float64 stays float64). ``value_range = (lo, hi)``, when known, bounds the
    values more tightly than the dtype does.

    Examples
    --------
    >>> sum_dtype("uint8", 4), sum_dtype("int16", 4), sum_dtype("uint16", 4, (0, 100))
    (dtype('uint16'), dtype('int32'), dtype('uint16'))
    >>> sum_dtype("float64", 9), sum_dtype("uint64", 4)
    (dtype('float64'), dtype('float64'))
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.dtype(np.float32 if dtype.itemsize <= 4 else dtype)
    if dtype.kind == "b":
        dtype = np.dtype(np.uint8)
    if dtype.kind not in "ui":
        return np.dtype(np.float32)
    info = np.iinfo(dtype)
    lo, hi = (int(info.min), int(info.max)) if value_range is None else (int(value_range[0]), int(value_range[1]))
    lo, hi = min(lo, 0) * int(factor), max(hi, 0) * int(factor)
    cands = (np.uint8, np.uint16, np.uint32, np.uint64) if dtype.kind == "u" else (
        np.int8, np.int16, np.int32, np.int64)
    for cand in cands:
        ci = np.iinfo(cand)
        if ci.min <= lo and hi <= ci.max and (value_range is not None or np.dtype(cand).itemsize >= dtype.itemsize):
            return np.dtype(cand)
    return np.dtype(np.float64)


def _exact_range(data, factor, value_range=None):
    """``value_range``, or the data's own (min, max) when the dtype's range alone would push a
    64-bit integer cube to float64 (NumPy cubes only; counts this large are never real)."""
    dtype = np.dtype(data.dtype)
    if value_range is not None or dtype.kind not in "ui" or hasattr(data, "dask") or data.size == 0:
        return value_range
    if sum_dtype(dtype, factor).kind != "f":
        return None
    return int(np.min(data)), int(np.max(data))


def _warn_dropped(shape, fy, fx):
    h, w = (shape[0] // fy) * fy, (shape[1] // fx) * fx
    if (h, w) != tuple(shape[:2]):
        log.warning(
            "rebin %s: dropping %d row(s) and %d column(s) that do not fill a %d × %d block",
            tuple(shape[:2]), shape[0] - h, shape[1] - w, fy, fx,
        )
    return h, w


def bin_block(block, fy: int, fx: int, out_dtype, out=None):
    """Sum one ``(h, W, C)`` block of whole bin rows (``h`` a multiple of ``fy``) over bins.

    ``out`` (``(h // fy, W // fx, C)``) receives the result without a temporary copy.

    Examples
    --------
    >>> import numpy as np
    >>> bin_block(np.ones((2, 5, 1), np.int8), 2, 2, np.int16)[..., 0]
    array([[4, 4]], dtype=int16)
    """
    h, w = block.shape[0], (block.shape[1] // fx) * fx
    x = block[: (h // fy) * fy, :w]
    x = x.reshape(h // fy, fy, w // fx, fx, *block.shape[2:])
    return np.sum(x, axis=(1, 3), dtype=out_dtype, out=out)


def rebin_cube(data, size=(2, 2), *, value_range=None):
    """Sum ``(H, W, C)`` counts over blocks of ``size = (ny, nx)`` pixels.

    Counts are conserved over the binned area (see the module notes for the partial edge
    block, which is dropped with a log message). The output dtype is the narrowest that
    cannot overflow (:func:`sum_dtype`; signed input stays signed); float input gives
    float32.

    Parameters
    ----------
    data
        ``(H, W, C)`` NumPy or dask array.
    size
        Bin factors along rows and columns.
    value_range : (lo, hi), optional
        Known bounds of the values (a narrower output dtype).

    Returns
    -------
    array
        ``(H // ny, W // nx, C)``; dask in, dask out.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(4 * 6 * 2, dtype=np.uint8).reshape(4, 6, 2)
    >>> b = rebin_cube(x, (2, 3))
    >>> b.shape, b.dtype, int(b.sum()) == int(x.sum())
    ((2, 2, 2), dtype('uint16'), True)
    >>> rebin_cube(np.full((2, 2, 1), -1, np.int16), (2, 2)).ravel()
    array([-4], dtype=int32)
    """
    if data.ndim != 3:
        raise bad_value("data", data.shape, "an (H, W, C) spectrum image")
    fy, fx = _check_factors(size, data.shape)
    h, w = _warn_dropped(data.shape, fy, fx)
    value_range = _exact_range(data, fy * fx, value_range)
    out_dtype = sum_dtype(data.dtype, fy * fx, value_range)
    if hasattr(data, "dask"):
        import dask.array as da

        from .._blocks import row_blocks

        # whole bins per block, and the file's chunks kept whole where they already are
        edges = [r1 for _, r1 in row_blocks(data[:h], align=fy)]
        sizes = np.diff([0, *edges]).tolist()
        x = data[:h, :w].rechunk((tuple(sizes), w, data.shape[2]))
        return da.map_blocks(
            bin_block, x, fy, fx, out_dtype, dtype=out_dtype,
            chunks=(tuple(s // fy for s in sizes), (w // fx,), (data.shape[2],)),
        )
    out = np.empty((h // fy, w // fx, data.shape[2]), dtype=out_dtype)

    def work(blk, r0, r1):
        bin_block(blk, fy, fx, out_dtype, out=out[r0 // fy : r1 // fy])

    map_row_blocks(work, data[:h], align=fy)
    return out


def bin_image(img, size=(2, 2)):
    """Sum a 2-D image over blocks, exactly as :func:`rebin_cube` bins the map.

    Float32 out (float64 stays float64).

    Examples
    --------
    >>> import numpy as np
    >>> bin_image(np.ones((4, 5), np.float32), (2, 2))
    array([[4., 4.],
           [4., 4.]], dtype=float32)
    """
    img = np.asarray(img)
    fy, fx = _check_factors(size, img.shape)
    h, w = (img.shape[0] // fy) * fy, (img.shape[1] // fx) * fx
    dt = np.float64 if img.dtype == np.float64 else np.float32
    return img[:h, :w].reshape(h // fy, fy, w // fx, fx, *img.shape[2:]).sum(axis=(1, 3), dtype=dt)
