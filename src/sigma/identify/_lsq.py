"""Weighted, ridge-penalised least squares of the spectrum fit (:mod:`sigma.identify.fitting`):
solution with non-negative background terms, covariance, and the score test of a new column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .fitting import LinearFit


def _sym_inverse(ms: np.ndarray) -> np.ndarray:
    """Inverse of a scaled (unit-diagonal) normal matrix: Cholesky when it is well
    conditioned, else a symmetric pseudo-inverse, so that directions the data do not constrain
    get no (infinite) variance instead of round-off noise."""
    from scipy.linalg import LinAlgError, cho_factor, cho_solve

    try:
        fac = cho_factor(ms, lower=True, check_finite=False)
        # reciprocal condition estimate from the factor's diagonal; fall back when poor
        d = np.diag(fac[0])
        if float(d.min()) ** 2 > 1e-10 * float(d.max()) ** 2:
            return cho_solve(fac, np.eye(ms.shape[0]), check_finite=False)
    except LinAlgError:
        pass
    ev, vec = np.linalg.eigh(ms)
    keep = ev > 1e-10 * max(float(ev.max()), 1e-300)
    return (vec[:, keep] / ev[keep]) @ vec[:, keep].T


def _solve(x: np.ndarray, w: np.ndarray, y: np.ndarray, pen: np.ndarray, nonneg: int = 0):
    """Weighted, ridge-penalised least squares; returns (coef, covariance).

    The first ``nonneg`` coefficients (the background splines) are kept >= 0 by an active
    set: those fitted negative are fixed at zero and the rest refitted.
    """
    xw = x * w[:, None]
    m_all = x.T @ xw
    m_all[np.diag_indices_from(m_all)] += pen
    v_all = xw.T @ y
    p = x.shape[1]
    free = np.ones(p, dtype=bool)
    for _ in range(12):
        idx = np.where(free)[0]
        m = m_all[np.ix_(idx, idx)]
        s = np.sqrt(np.maximum(np.diag(m), 1e-300))
        ms = m / s[:, None] / s[None, :]
        inv = _sym_inverse(ms)
        inv = inv / s[:, None] / s[None, :]
        c = inv @ v_all[idx]
        neg = (idx < nonneg) & (c < 0)
        if not neg.any():
            break
        free[idx[neg]] = False
    coef = np.zeros(p)
    coef[idx] = c
    cov = np.zeros((p, p))
    cov[np.ix_(idx, idx)] = inv
    return coef, cov


def score_test(fit: LinearFit, y: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Signed χ² gain of adding each candidate column (columns of ``candidates``) to a fit.

    The score statistic :math:`(g^T W r)^2 / (g^T W g - g^T W X M^{-1} X^T W g)`, signed by
    :math:`g^T W r` (negative when the candidate would need a negative amplitude).
    """
    w = fit.weights
    r = y - fit.model
    wg = candidates * w[:, None]
    num = wg.T @ r
    xtwg = fit.columns.T @ wg
    den = np.einsum("ij,ij->j", candidates, wg) - np.einsum("ij,ij->j", xtwg, fit.cov @ xtwg)
    den = np.maximum(den, 1e-12)
    return np.sign(num) * num**2 / den
