"""Per-pixel spectrum normalisation."""

from __future__ import annotations

import logging

import numpy as np

from .._blocks import map_row_blocks

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
