"""Phase maps of the default phantom: blobs from smoothed random fields, mixed boundary bands."""

from __future__ import annotations

import numpy as np

from .._errors import bad_value
from ._sampling import _KEY_LABELS, _check_seed, _rng

#: Fraction of the map left to the matrix (phase 0) before any missing phase is stamped in.
MATRIX_FRACTION = 0.4


def _check_shape(shape, n_phases: int) -> tuple[int, int]:
    try:
        h, w = (int(n) for n in shape)
    except (TypeError, ValueError):
        raise bad_value("shape", shape, "a pair (H, W) of positive ints") from None
    if h < 1 or w < 1 or h * w < 2 * n_phases:
        raise bad_value(
            "shape", tuple(shape), f"a pair (H, W) of positive ints with H*W >= {2 * n_phases}"
        )
    return h, w


def phase_map(shape, n_phases: int, *, seed: int = 0, smoothness: float | None = None):
    """Spatially coherent ``(H, W)`` labels ``0..n_phases-1`` from smoothed random fields.

    Phase 0 is the matrix (about 40 % of the map); every phase is present.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)``.
    n_phases : int
    seed : int
    smoothness : float, optional
        Gaussian smoothing (pixels) of the fields; default ``max(1.5, min(H, W) / 12)``.

    Examples
    --------
    >>> lab = phase_map((20, 30), 4, seed=1)
    >>> lab.shape, sorted(np.unique(lab).tolist())
    ((20, 30), [0, 1, 2, 3])
    """
    from scipy.ndimage import gaussian_filter

    if int(n_phases) != n_phases or n_phases < 1:
        raise bad_value("n_phases", n_phases, "a positive int")
    n_phases = int(n_phases)
    h, w = _check_shape(shape, n_phases)
    seed = _check_seed(seed)
    if n_phases == 1:
        return np.zeros((h, w), dtype=np.int32)
    sig = float(smoothness) if smoothness else max(1.5, min(h, w) / 12.0)
    rng = _rng(seed, _KEY_LABELS)
    fields = rng.standard_normal((n_phases - 1, h, w), dtype=np.float32)
    for f in fields:
        f[...] = gaussian_filter(f, sig, mode="reflect")
        f -= f.mean()
        f /= max(float(f.std()), 1e-12)
    top = fields.max(axis=0)
    labels = np.where(top > np.quantile(top, MATRIX_FRACTION), fields.argmax(axis=0) + 1, 0)
    labels = labels.astype(np.int32)
    # Stamp any phase the fields left out: the pixels nearest its field's maximum.
    area = max(1, (h * w) // (4 * n_phases))
    for p in range(n_phases):
        if np.any(labels == p):
            continue
        src = fields[p - 1] if p > 0 else -top
        yy, xx = np.unravel_index(int(np.argmax(src)), (h, w))
        d = np.hypot(*np.meshgrid(np.arange(h) - yy, np.arange(w) - xx, indexing="ij"))
        order = np.argsort(d, axis=None, kind="stable")[:area]
        # never take every pixel of another phase: keep the farthest pixel of each
        victims = labels.flat[order]
        last = np.zeros(victims.size, dtype=bool)
        last[np.unique(victims[::-1], return_index=True)[1]] = True
        keep = order[~last[::-1]]
        labels.flat[keep] = p
    return labels


def mixed_abundances(labels: np.ndarray, n_phases: int, boundary_width: int = 0) -> np.ndarray:
    """``(H, W, P)`` float32 abundances: one-hot labels averaged over a ``2w+1`` box.

    Examples
    --------
    >>> lab = np.array([[0, 0, 1, 1]])
    >>> mixed_abundances(lab, 2, 1)[0, :, 1].round(3)
    array([0.   , 0.333, 0.667, 1.   ], dtype=float32)
    """
    from scipy.ndimage import uniform_filter

    if int(boundary_width) != boundary_width or boundary_width < 0:
        raise bad_value("boundary_width", boundary_width, "a non-negative int (pixels)")
    onehot = (labels[..., None] == np.arange(n_phases)).astype(np.float32)
    if boundary_width == 0:
        return onehot
    size = 2 * int(boundary_width) + 1
    ab = uniform_filter(onehot, size=(size, size, 1), mode="nearest")
    ab[ab < 1e-6] = 0.0
    ab /= ab.sum(axis=-1, keepdims=True)
    return ab.astype(np.float32)
