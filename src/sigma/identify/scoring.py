"""Scoring kernels of the naming: measured peak-to-background ratios and the χ² of candidates.

:func:`_measure_fit` turns a spectrum fit into per-family peak-to-background ratios with their
uncertainties; :class:`_Rows` holds the lines one candidate is judged on and
:func:`_score_rows` computes every candidate's χ² in one vectorised pass, each minimised over
its common scale, with the log-normal model error of :func:`model_error`
(see :mod:`sigma.identify.match` for the method).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from .library import Phase, pretty_formula

#: Model error (log scale) of a predicted line family: base, extra for soft lines (scale of an
#: exp(-(E - 0.3 keV)/0.5 keV) rise), extra for L and M families, extra for secondary families.
MODEL_ERROR = (0.15, 0.4, 0.15, 0.6)

#: Correlation of the model errors of two line families (:func:`model_covariance`): the share
#: of the base and soft-line error that is smooth in energy (detector efficiency, absorption,
#: ionisation and continuum laws err alike on neighbouring lines), its correlation length
#: (keV; ``exp(-|E_i - E_j| / length)``), and the correlation kept between a K and an L or M
#: family (other cross-sections and yields).
MODEL_CORRELATION = (0.8, 1.5, 0.5)

#: Log error of a line's prediction added per absorption edge of the candidate's elements that
#: lies below it, times that element's mass fraction (a step in the error at the edge: the
#: ratio of two lines on either side of a major element's edge is less certain).
EDGE_ERROR = 0.3

#: Relative error of the shape of another element's peaks where they lie under a line (line
#: ratios within a family, tails): the counts they put under it are uncertain by this much
#: (S Kα under Pb Mα), up to twice that for soft lines (N Kα under Ti Ll: absorption changes
#: across a soft family), with the energy dependence of :func:`model_error`.
OVERLAP_ERROR = 0.1

#: Largest relative uncertainty credited to the background under a line.
BACKGROUND_ERROR = 0.15

def model_error(energy: float, family: str, primary: bool = True) -> float:
    """Relative (log) error allowed to the predicted peak-to-background of a line family.

    With :data:`MODEL_ERROR` ``= (base, soft, lm, secondary)``:
    :math:`\\text{base} + \\text{soft}\\,e^{-(E - 0.3)/0.5}`, plus ``lm`` for L and M families
    and ``secondary`` for an element's secondary family (its ratio to the main family, e.g.
    Fe L / Fe K, is the least certain prediction of any model).

    Examples
    --------
    >>> round(model_error(6.4, "K"), 3), round(model_error(0.525, "K"), 3)
    (0.15, 0.405)
    """
    base, soft, lm, secondary = MODEL_ERROR
    return (base + soft * math.exp(-(energy - 0.3) / 0.5) + (0.0 if family == "K" else lm)
            + (0.0 if primary else secondary))  # fmt: skip


def model_covariance(energies, families, primaries, composition=None) -> np.ndarray:
    r"""Covariance of the log model errors of a candidate's line families.

    The error :math:`\epsilon_i` of :func:`model_error` is split: a share ``rho`` of its
    base and soft-line part (:data:`MODEL_CORRELATION`) is a smooth function of energy, with
    correlation :math:`e^{-|E_i - E_j|/\lambda}` (reduced between a K and an L or M family);
    the rest of :math:`\epsilon_i^2` (and the whole L/M and secondary-family extras) is
    independent per line. Each absorption edge of an element of ``composition`` adds a
    step :math:`\tau_k = ` :data:`EDGE_ERROR` :math:`\times c_k` shared by every line above it.
    The diagonal is :math:`\epsilon_i^2` (plus the edge steps): one line alone is no better
    known than before, but the ratio of two close lines of one family is.

    Examples
    --------
    >>> c = model_covariance([1.49, 1.74, 6.4], ["K", "K", "K"], [True, True, True])
    >>> bool(c[0, 1] > c[0, 2] > 0), round(float(c[2, 2]), 4)
    (True, 0.0225)
    """
    e = np.asarray(energies, dtype=float)
    base, soft, _, _ = MODEL_ERROR
    rho, length, fam_rho = MODEL_CORRELATION
    eps = np.array([model_error(x, f, p) for x, f, p in zip(e, families, primaries, strict=True)])
    a = math.sqrt(rho) * (base + soft * np.exp(-(e - 0.3) / 0.5))
    is_k = np.array([f == "K" for f in families])
    corr = np.exp(-np.abs(e[:, None] - e[None, :]) / length)
    corr = np.where(is_k[:, None] == is_k[None, :], corr, fam_rho * corr)
    cov = a[:, None] * a[None, :] * corr
    cov[np.diag_indices_from(cov)] = eps**2
    if composition and EDGE_ERROR > 0 and e.size > 1:
        from . import physics

        for el, c in composition.items():
            if c < 0.01 or el == "H" or not physics.is_element(el):
                continue
            for fam in physics.families(el):
                edge = physics.family_edge(el, fam)
                if e.min() < edge < e.max():
                    step = (e > edge).astype(float)
                    cov += (EDGE_ERROR * c) ** 2 * step[:, None] * step[None, :]
    return cov


@dataclass
class Candidate:
    """One library phase scored against a spectrum.

    Attributes
    ----------
    phase : Phase
    chi2 : float
    dof : int
    p_value : float
        Probability of a χ² at least this large if the phase were right.
    score : float
        ``chi2 - dof`` (lower is better); candidates are ranked by it.
    scale : float
        Fitted common scale :math:`s`.
    residuals : dict
        Per element, the signed contribution to χ² (``+`` measured above prediction).
    same_composition : list of str
        Polymorphs (same composition) merged into this candidate.

    Examples
    --------
    >>> from sigma.identify import default_library
    >>> lib = default_library()
    >>> c = Candidate(lib["calcite"], 1.2, 2, 0.55, -0.8, 1.0, same_composition=["aragonite"])
    >>> c.label
    'calcite / aragonite CaCO₃'
    """

    phase: Phase
    chi2: float
    dof: int
    p_value: float
    score: float
    scale: float
    residuals: dict = field(default_factory=dict)
    same_composition: list = field(default_factory=list)

    @property
    def label(self) -> str:
        """``'calcite / aragonite CaCO₃'`` for a polymorph group, else the phase's label."""
        if self.same_composition:
            names = " / ".join([self.phase.name, *self.same_composition])
            return f"{names} {pretty_formula(self.phase.formula)}" if self.phase.formula else names
        return self.phase.label

    def to_dict(self) -> dict:
        """JSON-ready score (χ², dof, p-value, per-line residuals) and the phase's source."""
        return {"name": self.phase.name, "label": self.label, "chi2": float(self.chi2),
                "dof": int(self.dof), "p_value": float(self.p_value), "score": float(self.score),
                "same_composition": list(self.same_composition),
                "residuals": {k: round(float(v), 3) for k, v in self.residuals.items()},
                "formula": self.phase.formula, "class": self.phase.phase_class,
                "source": self.phase.source}  # fmt: skip

@dataclass
class _Measured:
    """Per line family ``'Fe K'``: peak-to-background (keV), its sigma, family, energy."""

    q: dict
    sigma: dict
    family: dict
    energy: dict
    element: dict
    primary: dict
    z: dict = field(default_factory=dict)  # significance of the net counts alone

    def subset(self, keys) -> _Measured:
        """The same measurement restricted to ``keys``."""
        keys = list(keys)
        return _Measured(**{f.name: {k: getattr(self, f.name)[k] for k in keys if k in getattr(self, f.name)}
                            for f in fields(self)})  # fmt: skip


def _measure(fitter, sum_terms, elements) -> _Measured:
    from .elements import family_nets

    fit = fitter.fit(sorted(elements), sum_peaks=sum_terms)
    bpk = fitter.background_per_kev_function(fit.background)
    return _measure_fit(fitter, fit, bpk, family_nets)


def _measure_fit(fitter, fit, bpk, family_nets) -> _Measured:
    """Peak-to-background of every family in a fit, with the background's own uncertainty
    (and its covariance with the element's amplitude) and :data:`OVERLAP_ERROR` of the other
    elements' peaks under its profile propagated into ``sigma``."""
    q, sig, fam, en, elem, prim, zs = {}, {}, {}, {}, {}, {}, {}
    e = fitter.energies()
    nb = fit.n_background
    cov_bb = fit.cov[:nb, :nb]
    width = fitter.channel_width()
    robust = fitter.robust_background_per_kev()
    # every element's fitted peaks (tied column and family deviations), to know what the other
    # elements put under each line
    own = {}
    for el in fit.family_ratios:
        idx = [i for i, n in enumerate(fit.names) if n == el or n.startswith(f"dev:{el}:")]
        own[el] = fit.columns[:, idx] @ fit.coef[idx]
    peaks = sum(own.values()) if own else np.zeros(e.size)
    w = fit.weights
    for el, (primary, _) in fit.family_ratios.items():
        i_el = fit.index(el)
        for f, (net, var) in family_nets(fit, el).items():
            key = f"{el} {f}"
            e_a = fitter.alpha_energy(el, f)
            # a fit may push its background to ~0 under a big peak it cannot shape; the
            # continuum is then taken from the peak-free background fit (half of it at least)
            b = max(bpk(e_a), 0.5 * robust(e_a))
            # background per keV under the line = g . coef[:nb]; its variance and covariance
            ch = int(np.clip(np.searchsorted(e, e_a), 0, e.size - 1))
            g = fit.columns[ch, :nb] / width
            # at most BACKGROUND_ERROR: where the fit leaves the continuum unconstrained (a big
            # peak on a detector edge) it is still known that well from its smooth shape
            var_b = min(max(float(g @ cov_bb @ g), 0.0), (BACKGROUND_ERROR * b) ** 2)
            share = net / fit.coef[i_el] if fit.coef[i_el] else 0.0
            cov_ab = float(fit.cov[i_el, :nb] @ g) * share
            qq = net / b
            # counts of other elements' peaks this family's profile would take if their shapes
            # were wrong: uncertain by OVERLAP_ERROR of them
            prof = fitter.family_profile(el, f)
            den = float(np.sum(w * prof * prof))
            ov = float(np.sum(w * prof * np.maximum(peaks - own[el], 0.0))) / den if den > 0 else 0.0
            eta = OVERLAP_ERROR * (1.0 + math.exp(-(e_a - 0.3) / 0.5))
            var = var + (eta * ov) ** 2
            # delta method for q = net / b
            var_q = (var + qq * qq * var_b - 2.0 * qq * cov_ab) / (b * b)
            q[key] = qq
            sig[key] = math.sqrt(max(var_q, var / (b * b)))
            zs[key] = net / math.sqrt(var) if var > 0 else 0.0
            fam[key], en[key], elem[key], prim[key] = f, e_a, el, f == primary
    return _Measured(q, sig, fam, en, elem, prim, zs)

@dataclass
class _Rows:
    """The lines one candidate is judged on (arrays over its scored line families)."""

    phase: Phase
    keys: list
    q: np.ndarray
    sigma: np.ndarray
    pred: np.ndarray
    eps: np.ndarray
    trace: np.ndarray
    z: np.ndarray
    cov: np.ndarray  # model-error covariance of the log predictions (n, n)

    @classmethod
    def build(cls, phase, m: _Measured, scored, pred, errs, extra_rel_var, trace) -> _Rows:
        """Rows of ``scored`` families; a library phase's model errors get the correlations of
        :func:`model_covariance`, a reference spectrum's (``extra_rel_var`` given) none."""
        n = len(scored)
        q = np.array([m.q[k] for k in scored], dtype=float)
        sg = np.array([max(m.sigma[k], 1e-9) for k in scored], dtype=float)
        eps = np.asarray(errs, dtype=float)
        if extra_rel_var is not None:
            eps = np.sqrt(eps**2 + np.asarray(extra_rel_var, dtype=float))
        tr = np.zeros(n) if trace is None else np.asarray(trace, dtype=float)
        z = np.array([m.z.get(k, m.q[k] / max(m.sigma[k], 1e-9)) for k in scored], dtype=float)
        eps = eps.reshape(n)
        if extra_rel_var is None and n:
            cv = model_covariance([m.energy[k] for k in scored], [m.family[k] for k in scored],
                                  [m.primary[k] for k in scored], phase.composition)  # fmt: skip
        else:
            cv = np.diag(eps**2)
        return cls(phase, list(scored), q, sg, np.asarray(pred, dtype=float).reshape(n), eps,
                   tr.reshape(n), z, cv)


def lognormal_terms(q, sigma, mu, eps) -> np.ndarray:
    r"""χ² of measurements ``q ± sigma`` against predictions :math:`e^{\mu}` with a log-normal
    model error ``eps``: :math:`\min_t (\ln t - \mu)^2/\epsilon^2 + (q - t)^2/\sigma^2`.

    A line predicted but absent costs what it should (the prediction cannot fall to zero), and
    a well-measured line costs :math:`\approx (\ln q - \mu)^2 / (\epsilon^2 + (\sigma/q)^2)`.
    Arrays broadcast; the minimum over :math:`\ln t` is taken on nine points between the
    prediction and the measurement, then polished by two Newton steps.

    Examples
    --------
    >>> import numpy as np
    >>> t = lognormal_terms(np.array([100.0, 0.0]), np.array([1.0, 1.0]), np.log([100.0, 100.0]),
    ...                     np.array([0.2, 0.2]))
    >>> float(round(t[0], 6)), bool(t[1] > 100)
    (0.0, True)
    """
    q, sg, mu, ep = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (q, sigma, mu, eps)))
    lq = np.log(np.maximum(q, 0.5 * sg))
    lo = np.minimum(mu, lq) - ep
    hi = np.maximum(mu, lq) + 0.25 * ep
    k = np.linspace(0.0, 1.0, 9)
    u = lo[..., None] + (hi - lo)[..., None] * k
    f = ((u - mu[..., None]) / ep[..., None]) ** 2 + ((q[..., None] - np.exp(u)) / sg[..., None]) ** 2
    j = np.argmin(f, axis=-1)
    uu = np.take_along_axis(u, j[..., None], axis=-1)[..., 0]
    fmin = np.take_along_axis(f, j[..., None], axis=-1)[..., 0]
    for _ in range(2):
        t = np.exp(uu)
        g = 2 * (uu - mu) / ep**2 - 2 * (q - t) * t / sg**2
        h = 2 / ep**2 + 2 * t * (2 * t - q) / sg**2
        step = np.where(h > 0, g / np.where(h > 0, h, 1.0), 0.0)
        uu = uu - np.clip(step, -0.5 * ep, 0.5 * ep)
    val = ((uu - mu) / ep) ** 2 + ((q - np.exp(uu)) / sg) ** 2
    return np.minimum(val, fmin)


#: Offsets (natural log) around the first estimate of a candidate's scale that are searched.
_SCALE_GRID = np.linspace(-4.0, 4.0, 81)


def _score_rows(cands: list[_Rows]) -> list[Candidate]:
    r"""χ² of every candidate, each minimised over its common scale, in one vectorised pass.

    Lines a candidate predicts and that are measured (> 3σ) are compared in log space,
    :math:`r = \ln q - \ln s p`, with the covariance :math:`C` of the counting errors
    :math:`(\sigma/q)^2` and the correlated model error (:func:`model_covariance`):
    :math:`r^T C^{-1} r`, quadratic in :math:`\ln s`. Lines it predicts but that are not
    measured are compared with a log-normal model error (:func:`lognormal_terms`); lines of
    elements it lacks are compared with zero, with a Gaussian tolerance ``trace`` (the
    peak-to-background a minor substitution of
    :data:`~sigma.identify._scorer.TRACE_FRACTION` would give). The scale
    comes from the candidate's own lines only (the tolerance for foreign elements must not be
    able to pull it up); a candidate none of whose own lines is measured explains nothing and
    gets χ² = ∞.
    """
    from scipy.stats import chi2 as chi2_dist

    if not cands:
        return []
    n = np.array([c.q.size for c in cands])
    n_c = len(cands)
    idx = np.repeat(np.arange(n_c), n)
    starts = np.r_[0, np.cumsum(n)[:-1]]
    pos = np.arange(idx.size) - starts[idx]
    cat = {name: np.concatenate([getattr(c, name) for c in cands]) for name in
           ("q", "sigma", "pred", "eps", "trace", "z")}  # fmt: skip
    q, sq, p, eps, tr, z = (cat[k] for k in ("q", "sigma", "pred", "eps", "trace", "z"))
    own = p > 0
    lnp = np.log(np.where(own, p, 1.0))
    # a foreign line is judged on its net counts (not on the background under it)
    s_stat = np.where(np.abs(z) > 1e-12, np.abs(q) / np.maximum(np.abs(z), 1e-12), sq)
    measured = own & (z > 3) & (q > 0)
    # measured lines: r = d - ln s, covariance C = diag((sigma/q)^2) + model covariance
    n_max = int(n.max())
    cov = np.zeros((n_c, n_max, n_max))
    for i, c in enumerate(cands):
        cov[i, : n[i], : n[i]] = c.cov
    mm = np.zeros((n_c, n_max), dtype=bool)
    mm[idx, pos] = measured
    d = np.zeros((n_c, n_max))
    d[idx[measured], pos[measured]] = np.log(q[measured]) - lnp[measured]
    rel = np.ones((n_c, n_max))
    rel[idx[measured], pos[measured]] = (sq[measured] / q[measured]) ** 2
    cmat = np.where(mm[:, :, None] & mm[:, None, :], cov, 0.0)
    cmat[:, np.arange(n_max), np.arange(n_max)] = np.where(mm, cmat[:, np.arange(n_max), np.arange(n_max)] + rel, 1.0)
    one = mm.astype(float)
    sol = np.linalg.solve(cmat, np.stack([d, one], axis=-1))
    qa = np.einsum("ij,ij->i", one, sol[..., 1])
    qb = np.einsum("ij,ij->i", one, sol[..., 0])
    qq = np.einsum("ij,ij->i", d, sol[..., 0])
    has_scale = qa > 0
    x0 = np.where(has_scale, qb / np.where(has_scale, qa, 1.0), 0.0)
    # χ² on a grid of scales (the measured lines' part is quadratic), then a parabola through
    # the best three points
    grid = x0[:, None] + _SCALE_GRID[None, :]
    chi_grid = qq[:, None] - 2 * grid * qb[:, None] + grid**2 * qa[:, None]
    o = np.where(own & ~measured)[0]
    lns = grid[idx[o]]
    t_own = lognormal_terms(q[o, None], sq[o, None], lns + lnp[o, None], eps[o, None])
    np.add.at(chi_grid, idx[o], t_own)
    j = np.clip(np.argmin(chi_grid, axis=1), 1, _SCALE_GRID.size - 2)
    rr = np.arange(n_c)
    f0, f1, f2 = chi_grid[rr, j - 1], chi_grid[rr, j], chi_grid[rr, j + 1]
    den = f0 - 2 * f1 + f2
    step = _SCALE_GRID[1] - _SCALE_GRID[0]
    shift = np.where(den > 0, 0.5 * (f0 - f2) / np.where(den > 0, den, 1.0), 0.0)
    ln_s = x0 + _SCALE_GRID[j] + np.clip(shift, -1.0, 1.0) * step
    s = np.exp(ln_s)[idx]
    t = np.zeros(q.size)
    # each measured line's share of r^T C^-1 r
    r_pad = d - ln_s[:, None] * one
    w_pad = sol[..., 0] - ln_s[:, None] * sol[..., 1]
    contrib = r_pad * w_pad
    t[measured] = contrib[idx[measured], pos[measured]]
    t[o] = lognormal_terms(q[o], sq[o], np.log(s[o]) + lnp[o], eps[o])
    f = ~own
    t[f] = q[f] ** 2 / (s_stat[f] ** 2 + (s[f] * tr[f]) ** 2)
    chi2 = np.bincount(idx, t, minlength=n_c)
    res = []
    for i, (c, ok) in enumerate(zip(cands, has_scale, strict=True)):
        tt = t[starts[i] : starts[i] + n[i]]
        if ok:
            chi = float(chi2[i])
            n_par = 1
            scale = float(math.exp(ln_s[i]))
            sign = np.sign(c.q - scale * c.pred)
            resid = {k: float(sg * abs(v)) for k, sg, v in zip(c.keys, sign, tt, strict=True)}
        else:
            chi, n_par, scale = math.inf, 0, 0.0
            resid = {k: math.inf for k in c.keys}
        dof = max(int(c.q.size) - n_par, 1)
        res.append(Candidate(c.phase, chi, dof, 0.0, chi - dof, scale, resid))
    pvals = chi2_dist.sf([c.chi2 for c in res], [c.dof for c in res])
    for c, pv in zip(res, pvals, strict=True):
        c.p_value = float(pv) if math.isfinite(c.chi2) else 0.0
    return res
