"""Seeded random streams and exact Poisson sampling of a phantom's counts, row by row.

Each *row* has its own random stream (:func:`_rng` with key ``(_KEY_ROWS, row)``), so the
counts are the same whatever block of rows is generated at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._errors import bad_value

if TYPE_CHECKING:
    from .phantom import Phantom

_KEY_LABELS, _KEY_NAV, _KEY_ROWS = 0, 1, 2


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise bad_value("seed", seed, "a non-negative int")
    return int(seed)


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _alias_table(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias table of a discrete distribution: ``(prob, alias)``, each ``(C,)``."""
    n = p.size
    q = np.asarray(p, dtype=np.float64) * (n / p.sum())
    prob = np.ones(n)
    alias = np.arange(n)
    small = [int(i) for i in np.flatnonzero(q < 1.0)]
    large = [int(i) for i in np.flatnonzero(q >= 1.0)]
    while small and large:  # O(C) once per phase
        s, g = small.pop(), large.pop()
        prob[s], alias[s] = q[s], g
        q[g] -= 1.0 - q[s]
        (small if q[g] < 1.0 else large).append(g)
    return prob, alias


def _sample_rows(plan: Phantom, row0: int, row1: int, dtype) -> np.ndarray:
    """Counts of rows ``row0:row1``: exact Poisson sampling, one random stream per row.

    A pixel's total is Poisson(``counts_per_pixel``, times ``intensity`` when set); each count
    picks a phase from the pixel's abundances and a channel from that phase's spectrum, which
    makes every channel an independent Poisson variable with mean
    ``counts_per_pixel * intensity * abundances @ phase_spectra``.
    """
    h, w = plan.labels.shape
    n_ph, c = plan.phase_spectra.shape
    dt = np.dtype(dtype)
    out = np.empty((row1 - row0, w, c), dtype=dt)
    limit = np.iinfo(dt).max if dt.kind in "ui" else None
    prob, alias = plan._alias
    for r in range(row0, row1):
        rng = _rng(plan.seed, _KEY_ROWS, r)
        if plan.intensity is None:
            n = rng.poisson(plan.counts_per_pixel, size=w)
        else:
            n = rng.poisson(plan.counts_per_pixel * np.asarray(plan.intensity[r], np.float64))
        pix = np.repeat(np.arange(w, dtype=np.int64), n)
        ab = plan.abundances[r]
        if ab.max(axis=1).min() < 1.0:  # some mixed pixels in this row
            cum = np.cumsum(ab, axis=1, dtype=np.float64)
            cum[:, -1] = 1.0
            u = rng.random(pix.size)
            phase = np.minimum((u[:, None] >= cum[pix]).sum(axis=1), n_ph - 1)
        else:  # every pixel holds one phase: the one of its abundances (not the truth labels,
            # which may follow another rule, such as a particle's footprint)
            phase = ab.argmax(axis=1)[pix]
        # Walker's alias method: a uniform channel, kept with probability prob, else its alias
        x = rng.random(pix.size) * c
        i = np.minimum(x.astype(np.int64), c - 1)
        flat = i + phase * c
        ch = np.where(x - i < prob[flat], flat, alias[flat]) - phase * c
        if limit is not None and n.size and n.max() > limit:
            row = np.bincount(pix * c + ch, minlength=w * c)
            if row.max() > limit:
                raise bad_value(
                    "dtype", dt.name, f"a dtype that holds {int(row.max())} counts in one channel"
                )
        out[r - row0] = np.bincount(pix * c + ch, minlength=w * c).reshape(w, c)
    return out
