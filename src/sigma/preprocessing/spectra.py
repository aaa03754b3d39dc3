"""Per-pixel spectrum normalisation."""

from __future__ import annotations

import logging
import math

import numpy as np

from .._blocks import map_row_blocks
from .._errors import bad_value

log = logging.getLogger(__name__)


def _normalise_block(block):
    x = np.asarray(block, dtype=np.float32)
    tot = x.sum(axis=-1, keepdims=True, dtype=np.float64)
    ok = np.isfinite(tot) & (tot > 0)
    scale = np.where(ok, 1.0 / np.where(ok, tot, 1.0), 0.0).astype(np.float32)
    out = x * scale
    if not ok.all():
        out[~ok[..., 0]] = 0.0
    return out


def normalise_spectra(data):
    """Divide each pixel's spectrum by its total so that it sums to 1.

    Pixels with no counts, or with NaN (outside a scanned area), become all-zero spectra
    rather than NaN. Output is float32; dask in, dask out (a cube chunked along the channels
    is first rechunked to whole spectra, since a pixel's total needs all its channels).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1, 3], [0, 0]]], dtype=np.uint8)
    >>> normalise_spectra(x)
    array([[[0.25, 0.75],
            [0.  , 0.  ]]], dtype=float32)
    """
    if hasattr(data, "dask"):
        return data.rechunk({data.ndim - 1: -1}).map_blocks(_normalise_block, dtype=np.float32)
    out = np.empty(data.shape, dtype=np.float32)

    def work(blk, r0, r1):
        out[r0:r1] = _normalise_block(blk)

    map_row_blocks(work, data)
    return out


def isig_index(value: float, offset: float, scale: float, size: int) -> int:
    """The channel HyperSpy's ``isig[value:]`` starts at on a uniform energy axis.

    The same rule as :meth:`hyperspy.axes.UniformDataAxis.value2index` (the index truncated
    to 12 decimals, then rounded half towards zero for a non-negative value, half away from
    zero for a negative one), without its numba kernels: loading them costs 0.3 s in a
    fresh process, for one number.

    Examples
    --------
    >>> isig_index(0.1, -0.2, 0.01, 2048), isig_index(0.105, 0.0, 0.01, 2048)
    (30, 10)
    """
    if not (np.isfinite(value) and scale > 0):
        raise bad_value("value", value, "a finite energy on an axis of positive scale")
    x = math.trunc((value - offset) / scale * 1e12) / 1e12
    i = math.ceil(x - 0.5) if value >= 0 else math.floor(x + 0.5)
    if not 0 <= i < size:
        raise bad_value("value", value, f"an energy on the axis [{offset}, {offset + scale * (size - 1)}] keV")
    return int(i)
