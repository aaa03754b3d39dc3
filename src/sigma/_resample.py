"""The project's one image resampler: two grids over the same field of view.

An ``n_in``-pixel axis and an ``n_out``-pixel axis cover the same length, so output pixel
``i`` spans input coordinates ``[i * n_in / n_out, (i + 1) * n_in / n_out)``. Two modes use
that one geometry:

``'nearest'``
    Output pixel ``i`` takes input pixel ``floor((i + 0.5) * n_in / n_out)``, the one that
    contains its centre (integer arithmetic, no interpolation). For labels and masks: values
    are never mixed, and for an integer factor every input pixel becomes a whole block in
    place.
``'area'``
    Output pixel = the mean of the input pixels it overlaps, weighted by the overlap
    (a sparse matrix per axis, exact to rounding). For intensities (electron images): for
    an integer shrink factor it is the block mean; it never aliases when shrinking.

Pure NumPy/SciPy (scikit-image is not needed); inputs are never modified.

Examples
--------
>>> import numpy as np
>>> resample(np.arange(4.0).reshape(2, 2), (4, 4), mode="nearest")[0].tolist()
[0.0, 0.0, 1.0, 1.0]
>>> resample(np.arange(16.0).reshape(4, 4), (2, 2)).tolist()
[[2.5, 4.5], [10.5, 12.5]]
"""

from __future__ import annotations

import numpy as np

from ._errors import bad_value

__all__ = ["nearest_index", "overlap_weights", "resample"]


def _size(n, name) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise bad_value(name, n, "a positive int")
    return int(n)


def nearest_index(n_out: int, n_in: int) -> np.ndarray:
    """Input pixel whose area contains the centre of each output pixel.

    ``floor((2 i + 1) * n_in / (2 n_out))``, in integers (exact for any sizes).

    Examples
    --------
    >>> nearest_index(6, 3).tolist()
    [0, 0, 1, 1, 2, 2]
    >>> nearest_index(3, 7).tolist()
    [1, 3, 5]
    """
    n_out, n_in = _size(n_out, "n_out"), _size(n_in, "n_in")
    return ((2 * np.arange(n_out, dtype=np.int64) + 1) * n_in) // (2 * n_out)


def overlap_weights(n_out: int, n_in: int, dtype=np.float32):
    """``(n_out, n_in)`` sparse matrix of area weights; every row sums to 1.

    Entry ``(i, j)`` is the fraction of output pixel ``i`` covered by input pixel ``j``. The
    overlaps are computed in integers (lengths scaled by ``n_out``), so an integer factor
    gives exact block means.

    Examples
    --------
    >>> overlap_weights(2, 3, dtype=float).toarray().round(3).tolist()
    [[0.667, 0.333, 0.0], [0.0, 0.333, 0.667]]
    """
    import scipy.sparse as sp

    n_out, n_in = _size(n_out, "n_out"), _size(n_in, "n_in")
    i = np.arange(n_out, dtype=np.int64)
    lo, hi = i * n_in, (i + 1) * n_in  # output pixel i spans [lo, hi) / n_out
    j0 = lo // n_out
    j1 = -(-hi // n_out)  # ceil
    span = int((j1 - j0).max())
    j = j0[:, None] + np.arange(span, dtype=np.int64)[None, :]
    overlap = np.minimum(hi[:, None], (j + 1) * n_out) - np.maximum(lo[:, None], j * n_out)
    keep = (j < j1[:, None]) & (overlap > 0)
    rows = np.broadcast_to(i[:, None], j.shape)[keep]
    w = (overlap[keep] / n_in).astype(dtype)
    return sp.csr_matrix((w, (rows, j[keep])), shape=(n_out, n_in))


def resample(img, shape, *, mode: str = "area") -> np.ndarray:
    """Resample a 2-D image to ``shape`` covering the same field of view.

    Parameters
    ----------
    img : array_like, shape (H, W)
    shape : tuple of int
        ``(H_out, W_out)``, each >= 1.
    mode : {'area', 'nearest'}
        See the module notes. ``'area'`` returns float32, ``'nearest'`` keeps the dtype.

    Returns
    -------
    ndarray, shape (H_out, W_out)

    Examples
    --------
    >>> import numpy as np
    >>> resample(np.ones((3, 5)), (2, 2)).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    >>> resample(np.array([[1, 2, 3]]), (1, 2), mode="nearest").tolist()
    [[1, 3]]
    """
    a = np.asarray(img)
    if a.ndim != 2:
        raise bad_value("img", a.shape, "a 2-D (H, W) image")
    try:
        h_out, w_out = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise bad_value("shape", shape, "a pair of positive ints (H, W)") from None
    if h_out < 1 or w_out < 1:
        raise bad_value("shape", shape, "a pair of positive ints (H, W)")
    h, w = a.shape
    if mode == "nearest":
        return a[nearest_index(h_out, h)[:, None], nearest_index(w_out, w)[None, :]]
    if mode != "area":
        raise bad_value("mode", mode, "'area' or 'nearest'")
    x = a.astype(np.float32, copy=False)
    if (h_out, w_out) == (h, w):
        return x.copy()
    if h % h_out == 0 and w % w_out == 0:  # integer shrink: block mean, no matrices
        return x.reshape(h_out, h // h_out, w_out, w // w_out).mean(axis=(1, 3), dtype=np.float32)
    rows = overlap_weights(h_out, h) @ x  # (h_out, w)
    return np.asarray((overlap_weights(w_out, w) @ rows.T).T, dtype=np.float32)
