"""Feature normalisations applied to ``(H, W, F)`` feature maps, in the tutorial's order.

Each function takes an ``(H, W, F)`` array and returns a new float32 array; the input is never
modified. They are meant to be chained, e.g. ``[neighbour_averaging, zscore]``.

``neighbour_averaging`` and ``zscore`` accept ``mask``, an ``(H, W)`` bool array of the valid
(scanned, finite, non-empty) pixels: invalid pixels then neither enter a neighbour's average
nor the mean and standard deviation, and their own output is 0. :func:`apply_chain` passes the
mask to every step whose signature has a ``mask`` parameter (a user's own function without one
is called with the maps alone).
"""

from __future__ import annotations

import inspect

import numpy as np

from .._errors import bad_value


def _check(x, name="data"):
    x = np.asarray(x)
    if x.ndim != 3:
        raise bad_value(name, x.shape, "an (H, W, F) stack of feature maps")
    return x


def _check_mask(mask, x):
    if mask is None:
        return None
    m = np.asarray(mask, dtype=bool)
    if m.shape != x.shape[:2]:
        raise bad_value("mask", m.shape, f"an {x.shape[:2]} bool array of valid pixels")
    return None if m.all() else m


def _box3(a):
    """3 × 3 sum over the two leading axes with zero padding (vectorised, no loops over pixels)."""
    p = np.pad(a, ((1, 1), (1, 1)) + ((0, 0),) * (a.ndim - 2))
    c = p[:, :-2] + p[:, 1:-1] + p[:, 2:]
    return c[:-2] + c[1:-1] + c[2:]


def neighbour_averaging(data, mask=None):
    """Mean over each pixel's 3 × 3 neighbourhood; border pixels average only in-image neighbours.

    With ``mask``, only valid neighbours are averaged and invalid pixels become 0.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(9, dtype=np.float32).reshape(3, 3, 1)
    >>> neighbour_averaging(x)[..., 0]
    array([[2. , 2.5, 3. ],
           [3.5, 4. , 4.5],
           [5. , 5.5, 6. ]], dtype=float32)
    >>> m = np.ones((3, 3), bool); m[1, 1] = False
    >>> neighbour_averaging(x, mask=m)[..., 0]
    array([[1.3333334, 2.2      , 2.6666667],
           [3.4      , 0.       , 4.6      ],
           [5.3333335, 5.8      , 6.6666665]], dtype=float32)
    """
    x = _check(data).astype(np.float32, copy=False)
    m = _check_mask(mask, x)
    if m is None:
        counts = _box3(np.ones(x.shape[:2], np.float32))
        return (_box3(x) / counts[..., None]).astype(np.float32)
    w = m.astype(np.float32)
    counts = _box3(w)
    out = _box3(x * w[..., None]) / np.maximum(counts, 1)[..., None]
    out[~m] = 0.0
    return out.astype(np.float32, copy=False)


def zscore(data, mean=None, std=None, mask=None):
    """Standardise each feature to zero mean and unit standard deviation over the map.

    A constant feature becomes zeros (not NaN). With ``mask``, the mean and standard deviation
    are those of the valid pixels, and invalid pixels become 0.

    Parameters
    ----------
    data : array_like, shape (H, W, F)
    mean, std : array_like, shape (F,), optional
        Statistics to use instead of this map's, e.g. :func:`pooled_mean_std` of several
        maps so a value means the same in each (a ``std`` of 0 gives zeros).
    mask : array_like of bool, shape (H, W), optional
        Valid pixels: the statistics are theirs, and the other pixels become 0.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.stack([np.array([[1., 3.]]), np.array([[5., 5.]])], axis=-1)
    >>> zscore(x)
    array([[[-1.,  0.],
            [ 1.,  0.]]], dtype=float32)
    >>> zscore(x, mean=[0, 5], std=[1, 2])[..., 0]
    array([[1., 3.]], dtype=float32)
    >>> zscore(x, mask=np.array([[True, False]]))
    array([[[0., 0.],
            [0., 0.]]], dtype=float32)
    """
    x = _check(data).astype(np.float32, copy=False)
    m = _check_mask(mask, x)
    if (mean is None) != (std is None):
        raise bad_value("mean", mean, "given together with std, or both None")
    if mean is None:
        flat = x.reshape(-1, x.shape[-1]) if m is None else x[m]
        if flat.shape[0] == 0:
            return np.zeros(x.shape, np.float32)
        mean, std = _mean_std(flat)
    else:
        mean, std = np.asarray(mean, np.float64), np.asarray(std, np.float64)
        if mean.shape != (x.shape[-1],) or std.shape != mean.shape:
            raise bad_value("mean", mean.shape, f"mean and std of shape ({x.shape[-1]},)")
    safe = np.where(std > 0, std, 1.0)
    out = (x - mean.astype(np.float32)) / safe.astype(np.float32)
    out[..., std == 0] = 0.0
    if m is not None:
        out[~m] = 0.0
    return out.astype(np.float32, copy=False)


def _mean_std(flat):
    return flat.mean(axis=0, dtype=np.float64), flat.std(axis=0, dtype=np.float64)


def pooled_mean_std(arrays, masks=None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each feature over all pixels of several maps.

    Every pixel weighs the same (a larger map weighs more); the per-map statistics are
    combined exactly, without concatenating the maps.

    Parameters
    ----------
    arrays : sequence of array_like, each (H_i, W_i, F)
    masks : sequence of (array_like of bool, shape (H_i, W_i)) or None, optional
        Valid pixels of each map (``None``: all); only they enter the statistics.

    Returns
    -------
    mean, std : ndarray of float64, shape (F,)

    Examples
    --------
    >>> import numpy as np
    >>> a, b = np.zeros((1, 2, 1)), np.full((1, 2, 1), 2.0)
    >>> pooled_mean_std([a, b])
    (array([1.]), array([1.]))
    """
    n_tot, mean, m2 = 0, None, None
    arrays = list(arrays)
    masks = [None] * len(arrays) if masks is None else list(masks)
    for a, mk in zip(arrays, masks, strict=True):
        a = _check(a, "arrays")
        mk = _check_mask(mk, a)
        flat = a.reshape(-1, a.shape[-1]) if mk is None else a[mk]
        n = flat.shape[0]
        if n == 0:
            continue
        mu, sd = _mean_std(flat)
        if mean is None:
            n_tot, mean, m2 = n, mu, sd**2 * n
            continue
        if mu.shape != mean.shape:
            raise bad_value("arrays", np.shape(a), f"maps with {mean.shape[0]} features each")
        delta = mu - mean
        total = n_tot + n
        mean = mean + delta * n / total
        m2 = m2 + sd**2 * n + delta**2 * n_tot * n / total
        n_tot = total
    if mean is None:
        raise bad_value("arrays", "no pixels", "at least one map with pixels")
    return mean, np.sqrt(m2 / n_tot)


def softmax(data):
    """Softmax across the features of each pixel (max-subtracted, so it never overflows).

    Examples
    --------
    >>> import numpy as np
    >>> y = softmax(np.array([[[1000.0, 1000.0]]]))
    >>> y
    array([[[0.5, 0.5]]], dtype=float32)
    """
    x = _check(data).astype(np.float32, copy=False)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def apply_chain(data, norm_list, mask=None) -> np.ndarray:
    """Apply the normalisations in order; strings name the functions of this module.

    ``mask`` (valid pixels) goes to every step that takes a ``mask`` argument; afterwards the
    invalid pixels are set to 0 whatever the steps did.

    Examples
    --------
    >>> import numpy as np
    >>> apply_chain(np.ones((2, 2, 1)), ["zscore"]).sum()
    np.float32(0.0)
    """
    out = np.asarray(data, dtype=np.float32)
    m = None if mask is None else _check_mask(mask, _check(out))
    for f in norm_list or []:
        fn = _resolve(f)
        out = fn(out, mask=m) if (m is not None and _takes_mask(fn)) else fn(out)
    if m is not None:
        out = np.array(out, dtype=np.float32)
        out[~m] = 0.0
    return out


def _takes_mask(fn) -> bool:
    try:
        return "mask" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


_BY_NAME = {"neighbour_averaging": neighbour_averaging, "zscore": zscore, "softmax": softmax}


def _resolve(f):
    if callable(f):
        return f
    if isinstance(f, str) and f in _BY_NAME:
        return _BY_NAME[f]
    raise bad_value("normalisation", f, "a function or one of " + ", ".join(repr(k) for k in _BY_NAME))


def chain_names(norm_list) -> list[str]:
    """Names of the steps of a normalisation chain (for logs and state files).

    Examples
    --------
    >>> chain_names([neighbour_averaging, "zscore", softmax])
    ['neighbour_averaging', 'zscore', 'softmax']
    >>> chain_names(None)
    []
    """
    return [getattr(_resolve(f), "__name__", str(f)) for f in norm_list or []]
