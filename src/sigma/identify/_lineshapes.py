"""Line shapes and background basis of the spectrum fit (:mod:`sigma.identify.fitting`).

Gaussians and exponentially tailed Gaussians integrated over channels, the background's cubic
B-spline basis, the lines of a family with their Si escape peaks, and the pulse processor's
low-energy threshold.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import physics

#: Energy (keV) of Si Kα, the escape-peak offset.
SI_KA_KEV = 1.7398


def low_energy_cutoff(counts, energy, search=(0.08, 0.6)) -> float:
    """Energy (keV) above a pulse processor's low-energy threshold, or 0 when there is none.

    Many detectors discard events below ~0.1–0.25 keV: the spectrum jumps from a few counts to
    thousands in one channel. The fit must start above that jump.

    Examples
    --------
    >>> import numpy as np
    >>> e = np.arange(0, 1, 0.01)
    >>> y = np.where(e < 0.205, 1.0, 500.0)
    >>> round(low_energy_cutoff(y, e), 2)
    0.23
    """
    y = np.asarray(counts, dtype=float)
    e = np.asarray(energy, dtype=float)
    idx = np.where((e >= search[0]) & (e <= search[1]))[0]
    idx = idx[idx + 1 < y.size]
    if idx.size == 0:
        return 0.0
    ratio = y[idx + 1] / (y[idx] + 1.0)
    k = int(np.argmax(ratio))
    if ratio[k] > 10 and y[idx[k] + 1] > 50:
        return float(e[min(idx[k] + 3, e.size - 1)])
    return 0.0


def _gauss_channels(edges: np.ndarray, centres, areas, fwhms) -> np.ndarray:
    """Sum of Gaussians integrated over channels with the given edges.

    Each Gaussian is evaluated only within ±8 standard deviations of its centre (the rest is
    below 1e-15 of its area), so a line costs a few dozen channels, not the whole window.
    """
    from scipy.special import ndtr

    c = np.atleast_1d(np.asarray(centres, dtype=float))
    a = np.broadcast_to(np.asarray(areas, dtype=float), c.shape)
    sd = np.broadcast_to(np.asarray(fwhms, dtype=float), c.shape) / 2.3548200450309493
    out = np.zeros(edges.size - 1)
    lo = np.searchsorted(edges, c - 8 * sd)
    hi = np.searchsorted(edges, c + 8 * sd) + 1
    for ci, ai, si, i0, i1 in zip(c, a, sd, lo, hi, strict=True):
        i0, i1 = max(int(i0) - 1, 0), min(int(i1), edges.size)
        if i1 - i0 < 2 or ai == 0:
            continue
        out[i0 : i1 - 1] += ai * np.diff(ndtr((edges[i0:i1] - ci) / si))
    return out


def _tail_channels(edges: np.ndarray, centres, areas, fwhms) -> np.ndarray:
    """Gaussians with an exponential low-energy tail of slope one FWHM (an exponentially
    modified Gaussian), integrated over channels: incomplete charge collection."""
    from scipy.special import erfc, erfcx

    mids = 0.5 * (edges[1:] + edges[:-1])
    width = np.diff(edges)
    c = np.asarray(centres, dtype=float)[:, None]
    sd = np.asarray(fwhms, dtype=float)[:, None] / 2.3548200450309493
    beta = np.asarray(fwhms, dtype=float)[:, None]
    x = mids[None, :] - c
    # left-tailed EMG: exp(x/b + s^2/2b^2) erfc(z) / 2b, with erfcx where z > 0 (no overflow)
    z = (x / sd + sd / beta) / np.sqrt(2.0)
    zp = np.maximum(z, 0.0)
    right = np.exp(-0.5 * (x / sd) ** 2) * erfcx(zp)
    left = np.exp(np.minimum(x / beta + 0.5 * (sd / beta) ** 2, 50.0)) * erfc(np.minimum(z, 0.0))
    dens = 0.5 / beta * np.where(z > 0, right, left)
    return (np.asarray(areas, dtype=float)[:, None] * dens * width[None, :]).sum(axis=0)


def _knots(lo: float, hi: float) -> np.ndarray:
    """Background spline breakpoints about 0.4 √E keV apart (≥ 0.2 keV)."""
    pts = [lo]
    while pts[-1] < hi:
        pts.append(pts[-1] + max(0.2, 0.4 * math.sqrt(max(pts[-1], 0.05))))
    pts = np.array(pts)
    pts = lo + (pts - lo) * (hi - lo) / (pts[-1] - lo)
    return pts


def _bspline_basis(x: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    from scipy.interpolate import BSpline

    k = 3
    t = np.r_[[breaks[0]] * k, breaks, [breaks[-1]] * k]
    xx = np.clip(x, breaks[0], breaks[-1] - 1e-9)
    return BSpline.design_matrix(xx, t, k).toarray()


@functools.cache
def _family_lines(element: str, family: str):
    """Centres, areas (summing to 1) and labels of a family's lines and Si escape peaks."""
    lines = physics.families(element)[family]
    names = list(lines)
    e_l = np.array([lines[n][0] for n in names])
    w_l = np.array([lines[n][1] for n in names]) * _efficiency(tuple(np.round(e_l, 5)))
    w_l = w_l / w_l.sum()
    p_esc = physics.escape_fraction(e_l)
    centres = np.r_[e_l, e_l - SI_KA_KEV]
    areas = np.r_[w_l * (1 - p_esc), w_l * p_esc]
    labels = [*names, *[f"esc:{n}" for n in names]]
    keep = (areas > 0) & (centres > 0.05)
    return centres[keep], areas[keep], [lb for lb, k in zip(labels, keep, strict=True) if k]


@functools.cache
def _pure_pb(element: str, beam_energy: float, kind: str) -> dict:
    return physics.peak_to_background({element: 1.0}, beam_energy, kind, elements=[element])


@functools.cache
def _efficiency(energies: tuple) -> np.ndarray:
    return physics.detector_efficiency(np.array(energies))
