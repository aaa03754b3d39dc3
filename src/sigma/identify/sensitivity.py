"""Line-family sensitivity corrections learned across the clusters of one map.

Used by :func:`sigma.identify.match.identify_spectra` when ``calibrate=True``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from . import physics
from .scoring import model_error

if TYPE_CHECKING:
    from .match import PhaseIdentification, _Scorer


def _log_residuals(res: PhaseIdentification, sc: _Scorer) -> dict:
    """``{line family: (ln q - ln p, variance)}`` of the best candidate's well-measured lines,
    without any sensitivity offsets (the spectrum's scale is left in; see
    :func:`_shared_offsets`)."""
    best = res.best
    if best is None or best.phase.reference is not None:
        return {}
    els = sc.elements_of(best.phase)
    m = sc.measured(set(res.elements.present) | set(els))
    pb = physics.peak_to_background(best.phase.composition, sc.f.beam_energy, sc.f.kind, elements=els)
    pairs = {}
    for k in m.q:
        p = pb.get((m.element[k], m.family[k]), 0.0)
        q, sg = m.q[k], m.sigma[k]
        if p > 0 and q > 3 * sg:
            var = (sg / q) ** 2 + model_error(m.energy[k], m.family[k], m.primary[k]) ** 2
            pairs[k] = (math.log(q) - math.log(p), var)
    return pairs if len(pairs) >= 2 else {}


def _shared_offsets(logres: list[dict], prior: float) -> dict:
    """Log-sensitivity offset of every line family from the spectra's log residuals.

    Least squares of :math:`r_{kl} = a_k + \\delta_l` (a free scale :math:`a_k` per spectrum,
    one offset :math:`\\delta_l` per line family) weighted by the residuals' variances, with a
    Gaussian prior of standard deviation ``prior`` on each :math:`\\delta_l` (0.02 for a family
    seen in one spectrum only: a spectrum cannot calibrate itself).
    """
    keys = sorted({k for d in logres for k in d})
    spectra = [d for d in logres if d]
    if not keys or len(spectra) < 2:
        return {}
    seen = {k: sum(1 for d in spectra if k in d) for k in keys}
    n_a, n_d = len(spectra), len(keys)
    m = np.zeros((n_a + n_d, n_a + n_d))
    v = np.zeros(n_a + n_d)
    for i, d in enumerate(spectra):
        for k, (r, var) in d.items():
            j = n_a + keys.index(k)
            w = 1.0 / var
            for a, b in ((i, i), (i, j), (j, i), (j, j)):
                m[a, b] += w
            v[i] += w * r
            v[j] += w * r
    for k in keys:
        j = n_a + keys.index(k)
        m[j, j] += 1.0 / (prior if seen[k] >= 2 else 0.02) ** 2
    sol = np.linalg.solve(m + 1e-9 * np.eye(n_a + n_d), v)
    return {k: float(sol[n_a + keys.index(k)]) for k in keys if seen[k] >= 2}
