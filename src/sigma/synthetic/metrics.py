"""Scores against a phantom's ground truth."""

from __future__ import annotations

import numpy as np

from .._errors import bad_value


def ground_truth_ari(labels_pred, phantom, *, ignore_noise: bool = True) -> float:
    """Adjusted Rand index between predicted labels and a phantom's true phase map.

    Parameters
    ----------
    labels_pred : array_like
        ``(H, W)`` (or flat ``(H*W,)``) predicted labels; ``-1`` marks noise / unassigned.
    phantom : Phantom or array_like
        A :class:`~sigma.synthetic.Phantom` or its ``(H, W)`` true labels.
    ignore_noise : bool
        True (default): pixels predicted ``-1`` are left out of the score (report the noise
        fraction separately). False: ``-1`` counts as one more cluster, so noise lowers the score.

    Returns
    -------
    float
        1 for a perfect partition (label names do not matter), about 0 for chance.

    Examples
    --------
    >>> truth = np.array([[0, 0, 1, 1]])
    >>> ground_truth_ari(np.array([[5, 5, 2, 2]]), truth)
    1.0
    >>> ground_truth_ari(np.array([[5, 5, 2, -1]]), truth)
    1.0
    >>> round(ground_truth_ari(np.array([[5, 5, 2, -1]]), truth, ignore_noise=False), 3)
    0.571
    """
    from sklearn.metrics import adjusted_rand_score

    truth = np.asarray(getattr(phantom, "labels", phantom))
    pred = np.asarray(labels_pred)
    if pred.size != truth.size:
        raise bad_value("labels_pred", pred.shape, f"labels of shape {truth.shape}")
    pred, truth = pred.ravel(), truth.ravel()
    if ignore_noise:
        keep = pred != -1
        pred, truth = pred[keep], truth[keep]
        if pred.size == 0:
            return 0.0
    return float(adjusted_rand_score(truth, pred))


def spectral_angle(a, b) -> np.ndarray | float:
    """Angle in degrees between spectra (along the last axis; broadcasts).

    Examples
    --------
    >>> spectral_angle([1, 0], [0, 2]), spectral_angle([1, 1], [2, 2])
    (90.0, 0.0)
    >>> spectral_angle(np.eye(2), [1, 0]).tolist()
    [0.0, 90.0]
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    try:
        a, b = np.broadcast_arrays(a, b)
    except ValueError:
        raise bad_value("b", b.shape, f"spectra broadcastable with shape {a.shape}") from None
    na = np.linalg.norm(a, axis=-1, keepdims=True)
    nb = np.linalg.norm(b, axis=-1, keepdims=True)
    if np.any(na == 0) or np.any(nb == 0):
        raise bad_value("a", "a zero spectrum", "spectra with a non-zero norm")
    ua, ub = a / na, b / nb
    # Kahan's form, accurate near 0 and 180 degrees (arccos of the cosine is not)
    ang = np.degrees(
        2 * np.arctan2(np.linalg.norm(ua - ub, axis=-1), np.linalg.norm(ua + ub, axis=-1))
    )
    return float(ang) if np.ndim(ang) == 0 else ang
