"""Scoring kernels of the naming: measured peak-to-background ratios and the χ² of candidates.

:func:`_measure_fit` turns a spectrum fit into per-family peak-to-background ratios with their
uncertainties; :class:`_Rows` holds the lines one candidate is judged on and
:func:`_score_rows` computes every candidate's χ² in one vectorised pass, each minimised over
its common scale, with the log-normal model error of :func:`model_error`
(see :mod:`sigma.identify.match` for the method).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .library import Phase, pretty_formula

#: Model error (log scale) of a predicted line family: base, extra for soft lines (scale of an
#: exp(-(E - 0.3 keV)/0.5 keV) rise), extra for L and M families, extra for secondary families.
MODEL_ERROR = (0.15, 0.4, 0.15, 0.6)

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

    @classmethod
    def build(cls, phase, m: _Measured, scored, pred, errs, extra_rel_var, trace) -> _Rows:
        n = len(scored)
        q = np.array([m.q[k] for k in scored], dtype=float)
        sg = np.array([max(m.sigma[k], 1e-9) for k in scored], dtype=float)
        eps = np.asarray(errs, dtype=float)
        if extra_rel_var is not None:
            eps = np.sqrt(eps**2 + np.asarray(extra_rel_var, dtype=float))
        tr = np.zeros(n) if trace is None else np.asarray(trace, dtype=float)
        z = np.array([m.z.get(k, m.q[k] / max(m.sigma[k], 1e-9)) for k in scored], dtype=float)
        return cls(phase, list(scored), q, sg, np.asarray(pred, dtype=float).reshape(n), eps.reshape(n),
                   tr.reshape(n), z)


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
    """χ² of every candidate, each minimised over its common scale, in one vectorised pass.

    Lines a candidate predicts are compared with a log-normal model error
    (:func:`lognormal_terms`); lines of elements it lacks are compared with zero, with a
    Gaussian tolerance ``trace`` (the peak-to-background a minor substitution of
    :data:`TRACE_FRACTION` would give). The scale comes from the candidate's own lines only (the
    tolerance for foreign elements must not be able to pull it up); a candidate none of whose
    own lines is measured explains nothing and gets χ² = ∞.
    """
    from scipy.stats import chi2 as chi2_dist

    if not cands:
        return []
    n = np.array([c.q.size for c in cands])
    idx = np.repeat(np.arange(len(cands)), n)
    cat = {name: np.concatenate([getattr(c, name) for c in cands]) for name in
           ("q", "sigma", "pred", "eps", "trace", "z")}  # fmt: skip
    q, sq, p, eps, tr, z = (cat[k] for k in ("q", "sigma", "pred", "eps", "trace", "z"))
    own = p > 0
    lnp = np.log(np.where(own, p, 1.0))
    # a foreign line is judged on its net counts (not on the background under it)
    s_stat = np.where(np.abs(z) > 1e-12, np.abs(q) / np.maximum(np.abs(z), 1e-12), sq)
    measured = own & (z > 3) & (q > 0)
    w = np.where(measured, 1.0 / ((sq / np.where(measured, q, 1.0)) ** 2 + eps**2), 0.0)
    lr = np.where(measured, np.log(np.where(measured, q, 1.0)) - lnp, 0.0)
    sw = np.bincount(idx, w, minlength=len(cands))
    has_scale = sw > 0
    x0 = np.bincount(idx, w * lr, minlength=len(cands)) / np.where(has_scale, sw, 1.0)
    # own-line χ² on a grid of scales, then a parabola through the best three points
    o = np.where(own)[0]
    lns = x0[idx[o]][:, None] + _SCALE_GRID[None, :]
    t_own = lognormal_terms(q[o, None], sq[o, None], lns + lnp[o, None], eps[o, None])
    chi_grid = np.zeros((len(cands), _SCALE_GRID.size))
    np.add.at(chi_grid, idx[o], t_own)
    j = np.clip(np.argmin(chi_grid, axis=1), 1, _SCALE_GRID.size - 2)
    rr = np.arange(len(cands))
    f0, f1, f2 = chi_grid[rr, j - 1], chi_grid[rr, j], chi_grid[rr, j + 1]
    den = f0 - 2 * f1 + f2
    step = _SCALE_GRID[1] - _SCALE_GRID[0]
    shift = np.where(den > 0, 0.5 * (f0 - f2) / np.where(den > 0, den, 1.0), 0.0)
    ln_s = x0 + _SCALE_GRID[j] + np.clip(shift, -1.0, 1.0) * step
    s = np.exp(ln_s)[idx]
    t = np.zeros(q.size)
    t[o] = lognormal_terms(q[o], sq[o], np.log(s[o]) + lnp[o], eps[o])
    f = ~own
    t[f] = q[f] ** 2 / (s_stat[f] ** 2 + (s[f] * tr[f]) ** 2)
    chi2 = np.bincount(idx, t, minlength=len(cands))
    res = []
    starts = np.r_[0, np.cumsum(n)[:-1]]
    for i, (c, ok) in enumerate(zip(cands, has_scale, strict=True)):
        tt = t[starts[i] : starts[i] + n[i]]
        if ok:
            chi = float(chi2[i])
            n_par = 1
            scale = float(math.exp(ln_s[i]))
            sign = np.sign(c.q - scale * c.pred)
            resid = {k: float(sg * v) for k, sg, v in zip(c.keys, sign, tt, strict=True)}
        else:
            chi, n_par, scale = math.inf, 0, 0.0
            resid = {k: math.inf for k in c.keys}
        dof = max(int(c.q.size) - n_par, 1)
        res.append(Candidate(c.phase, chi, dof, 0.0, chi - dof, scale, resid))
    pvals = chi2_dist.sf([c.chi2 for c in res], [c.dof for c in res])
    for c, pv in zip(res, pvals, strict=True):
        c.p_value = float(pv) if math.isfinite(c.chi2) else 0.0
    return res
