"""Summing spectrum images and images over blocks of pixels."""

from __future__ import annotations

import logging

import numpy as np

from .._errors import bad_value

log = logging.getLogger(__name__)


def _check_factors(size, shape) -> tuple[int, int]:
    try:
        fy, fx = (int(size[0]), int(size[1]))
        ok = fy == size[0] and fx == size[1]
    except (TypeError, IndexError, ValueError):
        ok = False
    if not ok or fy < 1 or fx < 1:
        raise bad_value("size", size, "a pair of positive integers (ny, nx), such as (2, 2)")
    if fy > shape[0] or fx > shape[1]:
        raise bad_value(
            "size", size, f"bin factors no larger than the map, which has {shape[0]} × {shape[1]} pixels"
        )
    return fy, fx


def _sum_dtype(dtype, factor: int, maxval=None):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.float32 if dtype.itemsize <= 4 else dtype
    if dtype.kind in "ui":
        top = np.iinfo(dtype).max if maxval is None else maxval
        need = int(top) * factor
        for cand in (np.uint16, np.uint32, np.uint64):
            if need <= np.iinfo(cand).max and np.dtype(cand).itemsize >= dtype.itemsize:
                return cand
    return np.float32


def rebin_cube(data, size=(2, 2)):
    """Sum ``(H, W, C)`` counts over blocks of ``size = (ny, nx)`` pixels.

    Counts are conserved: the output dtype is the narrowest unsigned integer that cannot
    overflow (float32 for float input). Rows and columns that do not fill a whole block are
    dropped, with a log message saying how many.

    Parameters
    ----------
    data
        ``(H, W, C)`` NumPy or dask array.
    size
        Bin factors along rows and columns.

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
    """
    if data.ndim != 3:
        raise bad_value("data", data.shape, "an (H, W, C) spectrum image")
    fy, fx = _check_factors(size, data.shape)
    h, w = (data.shape[0] // fy) * fy, (data.shape[1] // fx) * fx
    if (h, w) != data.shape[:2]:
        log.warning(
            "rebin %s: dropping %d row(s) and %d column(s) that do not fill a %d × %d block",
            data.shape[:2], data.shape[0] - h, data.shape[1] - w, fy, fx,
        )
    out_dtype = _sum_dtype(data.dtype, fy * fx)
    if hasattr(data, "dask"):
        import dask.array as da

        rows = max(fy, (data.chunksize[0] // fy) * fy)
        x = data[:h, :w].rechunk((rows, w, data.shape[2]))
        return da.coarsen(np.sum, x, {0: fy, 1: fx}, trim_excess=True, dtype=out_dtype).astype(out_dtype)
    x = data[:h, :w]
    out = np.empty((h // fy, w // fx, data.shape[2]), dtype=out_dtype)
    # Row blocks keep the temporaries small and cache-friendly.
    step = max(1, int(2**25 // max(1, w * data.shape[2] * fy * data.itemsize)))
    for r0 in range(0, h // fy, step):
        r1 = min(h // fy, r0 + step)
        blk = x[r0 * fy : r1 * fy].reshape(r1 - r0, fy, w // fx, fx, data.shape[2])
        np.sum(blk, axis=(1, 3), dtype=out_dtype, out=out[r0:r1])
    return out


def bin_image(img, size=(2, 2)):
    """Sum a 2-D image over blocks, exactly as :func:`rebin_cube` bins the map.

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
    return img[:h, :w].reshape(h // fy, fy, w // fx, fx).sum(axis=(1, 3), dtype=np.float32)
