"""Linear fit of one EDS spectrum: element line families on a smooth, physically shaped background.

The model of the counts :math:`y_i` in channel :math:`i` is

.. math::

    \\mu_i = \\underbrace{K(E_i) \\sum_j b_j B_j(E_i)}_{\\text{background}}
           + \\sum_{el} a_{el}\\, g_{el}(E_i) + \\sum_f d_f\\, p_f(E_i) + \\sum_s h_s\\, q_s(E_i)

* **Background.** :math:`K(E)` is the expected continuum shape (Kramers, or :math:`1/E` for a
  thin foil, times a smooth window transmission) and :math:`B_j` cubic B-splines whose knots are
  about :math:`0.4\\sqrt{E}` keV apart (0.2 keV at least), much wider than a peak, so the
  background under each line is interpolated from both sides of it rather than read from a flat
  window; their coefficients are kept non-negative. Absorption edges (the detector's Al K and
  Si K, the K and L3 edges of the fitted elements) are steps of free height.
* **Elements.** :math:`g_{el}` holds every family (K, L, M) of an element in range, each line a
  Gaussian of the detector's Fiori–Newbury width integrated over the channel, with eXSpy's
  weights and a Si escape peak (:func:`~sigma.identify.physics.escape_fraction`). The families are
  tied by their predicted peak-to-background ratios, so :math:`a_{el}` is the element's counts in
  its strongest family; penalised deviation terms :math:`d_f` (ridge priors) let a secondary
  family depart from that ratio (``family_error``, ``family_error_down`` when it falls short),
  the lines of a family tilt with energy (``tilt_error``; absorption), secondary lines of soft
  families (< 1.2 keV) move (``line_error``), the escape peaks and an exponential low-energy
  tail (incomplete charge collection, ``tail_error``) vary, because these are the least certain
  parts of any forward model.
* **Sum peaks** :math:`q_s` of the strongest lines, as nuisance terms.
* **A known offset** :math:`o_i`, optional: counts of another origin (a neighbouring phase's
  share of a cluster's rim pixels) added to :math:`\\mu_i` with coefficient 1, not fitted.

It is solved by iteratively reweighted least squares with variance
:math:`\\mu_i + (\\epsilon\\, \\text{peaks}_i)^2`: Poisson noise plus a model error of
``shape_error`` (a fraction of the peak counts in the channel), so that a slightly wrong line
shape on a peak of a million counts is not read as a new element. Covariances follow from the
normal equations. Energy offset, gain and the resolution can be refined first
(:meth:`SpectrumFitter.refine_calibration`).
"""

from __future__ import annotations

import numpy as np

from .._errors import bad_value
from ..xray.lines import fwhm
from . import physics
from ._fit_results import Calibration, LinearFit
from ._lineshapes import (
    _bspline_basis,
    _family_lines,
    _gauss_channels,
    _knots,
    _pure_pb,
    _tail_channels,
    low_energy_cutoff,
)
from ._lsq import _solve

__all__ = ["Calibration", "LinearFit", "SpectrumFitter", "low_energy_cutoff"]

#: Relative model error of a known offset (a neighbour's core spectrum standing for what its
#: rims hold): in the variance, like ``shape_error`` for the peaks.
OFFSET_ERROR = 0.1


class SpectrumFitter:
    """Fit element peak families and a background to one spectrum of counts.

    Parameters
    ----------
    counts : array_like, shape (C,)
        Counts per channel (a cluster's summed spectrum).
    energy : array_like, shape (C,)
        Channel-centre energies in keV, evenly spaced.
    beam_energy : float
        kV.
    kind : {'SEM', 'TEM'}
    fwhm_mnka : float
        Detector FWHM at Mn Kα (eV).
    energy_range : (float, float), optional
        Fit window in keV; default from 0.2 keV (above the zero peak) to the end of the axis
        (and not above ``beam_energy``).
    shape_error : float
        Model error of the peak shape, as a fraction of the peak counts in a channel.
    family_error : float
        Prior relative standard deviation of a secondary family's intensity about its
        predicted ratio to the strongest family.
    offset : array_like, shape (C,), optional
        Known expected counts of another origin inside ``counts`` (the neighbouring phases'
        share of a cluster's rim pixels, :func:`sigma.unmixing.boundary.pure_spectra`). The
        model carries them with coefficient 1: they are not fitted, so their elements are not
        found, but their Poisson variance stays in the weights, which subtracting them from
        the counts first would lose.

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.synthetic import energy_axis
    >>> e = energy_axis(1024, 0.02, 0.0)
    >>> f = SpectrumFitter(np.full(1024, 10.0), e, beam_energy=20.0)
    >>> f.n_channels > 900
    True
    """

    def __init__(
        self,
        counts,
        energy,
        *,
        beam_energy: float,
        kind: str = "SEM",
        fwhm_mnka: float = 130.0,
        energy_range: tuple[float, float] | None = None,
        shape_error: float = 0.03,
        family_error: float = 1.0,
        family_error_down: float = 0.4,
        line_error: float = 0.5,
        tilt_error: float = 3.0,
        tail_error: float = 0.05,
        offset=None,
    ):
        y = np.asarray(counts, dtype=np.float64)
        e = np.asarray(energy, dtype=np.float64)
        if y.ndim != 1 or e.shape != y.shape or y.size < 16:
            raise bad_value("counts", getattr(y, "shape", y), f"a 1-D spectrum like the energy axis {e.shape}")
        if not np.all(np.isfinite(y)) or np.any(y < 0):
            raise bad_value("counts", "a spectrum with negative or non-finite values", "counts >= 0")
        d = np.diff(e)
        if not np.all(d > 0) or np.ptp(d) > 1e-6 * max(abs(d[0]), 1e-12) + 1e-9:
            raise bad_value("energy", f"axis {e[0]:.4g}..{e[-1]:.4g} keV", "an evenly spaced increasing axis")
        kind = str(kind).upper()
        if kind not in ("SEM", "TEM"):
            raise bad_value("kind", kind, "'SEM' or 'TEM'")
        if not beam_energy or not np.isfinite(beam_energy) or beam_energy <= 0:
            raise bad_value("beam_energy", beam_energy, "a positive accelerating voltage in kV")
        self.scale = float(d[0])
        lo, hi = energy_range if energy_range is not None else (0.2, np.inf)
        lo = max(float(lo), float(e[0]) + self.scale, low_energy_cutoff(y, e))
        hi = min(float(hi), float(e[-1]))
        if kind == "SEM":
            hi = min(hi, float(beam_energy))
        if hi - lo < 20 * self.scale:
            raise bad_value("energy_range", (lo, hi), "a fit window of at least 20 channels")
        self.mask = (e >= lo) & (e <= hi)
        self.energy_nominal = e[self.mask]
        off = np.zeros_like(y) if offset is None else np.asarray(offset, dtype=np.float64)
        if off.shape != y.shape or not np.all(np.isfinite(off)) or np.any(off < 0):
            raise bad_value("offset", getattr(off, "shape", off), f"counts >= 0 shaped like the spectrum {y.shape}")
        self.y_total = y[self.mask]
        self.offset = off[self.mask]
        self.y = self.y_total - self.offset  # the counts the model's terms fit
        self.e_lo, self.e_hi = lo, hi
        self.beam_energy = float(beam_energy)
        self.kind = kind
        self.shape_error = float(shape_error)
        self.family_error = float(family_error)
        self.family_error_down = float(family_error_down)
        self.line_error = float(line_error)
        self.tilt_error = float(tilt_error)
        self.tail_error = float(tail_error)
        self.calibration = Calibration(fwhm_mnka=float(fwhm_mnka))
        self._breaks = _knots(lo, hi)
        self._n_spline = 0
        self._fam_cache: dict = {}
        # line and background columns depend only on the axis, window, beam and calibration:
        # fitters of the spectra of one map share them
        self._shared = _shared_columns(
            (lo, hi, float(self.energy_nominal[0]), self.energy_nominal.size, self.scale,
             self.beam_energy, kind))  # fmt: skip

    # ------------------------------------------------------------------ geometry
    @property
    def n_channels(self) -> int:
        """Channels in the fit window."""
        return int(self.y.size)

    def energies(self, cal: Calibration | None = None) -> np.ndarray:
        """Calibrated channel-centre energies in the fit window."""
        cal = cal or self.calibration
        return cal.shift + cal.gain * self.energy_nominal

    def _edges(self, cal: Calibration) -> np.ndarray:
        e = self.energy_nominal
        edges = np.r_[e - self.scale / 2, e[-1] + self.scale / 2]
        return cal.shift + cal.gain * edges

    def channel_width(self, cal: Calibration | None = None) -> float:
        """Channel width in keV under a calibration."""
        cal = cal or self.calibration
        return self.scale * cal.gain

    def in_range(self, energy: float) -> bool:
        """Whether an energy (keV) lies in the fit window."""
        return self.e_lo <= energy <= self.e_hi

    # ------------------------------------------------------------------ columns
    def background_columns(self, cal: Calibration | None = None, elements=()) -> np.ndarray:
        """``(n, nb)`` background basis: continuum shape × cubic B-splines, then edge steps.

        The steps (continuum shape × a step smoothed to the resolution, free sign) sit at the
        detector's Al K and Si K edges and at the K and L3 edges of ``elements`` in the window.
        """
        cal = cal or self.calibration
        key = ("bg", cal.shift, cal.gain)
        if key not in self._shared:
            e = self.energies(cal)
            shape = self.continuum_shape(e)
            basis = _bspline_basis(e, self._breaks)
            cols = shape[:, None] * basis
            keep = cols.max(axis=0) > 0
            self._shared[key] = (shape, cols[:, keep])
        shape, cols = self._shared[key]
        self._n_spline = cols.shape[1]
        edges = self.edges(elements)
        if not edges:
            return cols
        steps = [self._edge_step(ek, cal, shape) for ek in edges]
        return np.hstack([cols, np.column_stack(steps)])

    def _edge_step(self, ek: float, cal: Calibration, shape: np.ndarray) -> np.ndarray:
        from scipy.special import ndtr

        key = ("edge", ek, cal)
        if key not in self._shared:
            e = self.energies(cal)
            self._shared[key] = shape * ndtr((e - ek) / (float(fwhm(ek, cal.fwhm_mnka)) / 2.3548))
        return self._shared[key]

    def edges(self, elements=()) -> list[float]:
        """Absorption edges (keV) given a step in the background: detector Al K and Si K, and the
        K and L3 edges of ``elements`` inside the window (not within 0.1 keV of another)."""
        out = [1.5596, 1.8389]
        for el in elements:
            for fam in ("K", "L"):
                if fam in physics.families(el):
                    ek = physics.family_edge(el, fam)
                    if self.e_lo + 0.1 < ek < self.e_hi - 0.1 and ek < self.beam_energy:
                        out.append(ek)
        out = sorted(x for x in out if self.e_lo + 0.1 < x < self.e_hi - 0.1)
        merged: list[float] = []
        for x in out:
            if not merged or x - merged[-1] > 0.1:
                merged.append(x)
        return merged

    def continuum_shape(self, e) -> np.ndarray:
        """Expected continuum shape (arbitrary scale) at energies ``e``: the generated continuum
        (:func:`~sigma.identify.physics.continuum_generation`) times a smooth window
        transmission ``exp(-(0.3 keV / E)^3)``; edges are separate terms."""
        e = np.asarray(e, dtype=float)
        shape = physics.continuum_generation(e, {"Si": 1.0}, self.beam_energy, self.kind)
        pos = e > 0
        shape[pos] *= np.exp(-((0.3 / e[pos]) ** 3))
        m = shape.max()
        return shape / m if m > 0 else shape

    def families_in_range(self, element: str) -> list[str]:
        """Families of ``element`` whose alpha line is in the window and excited."""
        out = []
        for fam, lines in physics.families(element).items():
            e_a = lines[physics.alpha_line(element, fam)][0]
            if not self.in_range(e_a):
                continue
            if physics.family_edge(element, fam) >= self.beam_energy:
                continue
            out.append(fam)
        return out

    def family_profile(self, element: str, family: str, cal: Calibration | None = None) -> np.ndarray:
        """Unit-area profile of a family (with its Si escape peaks) over the fit window."""
        cal = cal or self.calibration
        key = ("profile", element, family, cal)
        if key not in self._shared:
            self._shared[key] = self._profile(element, family, cal)
        return self._shared[key]

    def _profile(self, element, family, cal):
        centres, areas, _ = self._family_lines(element, family)
        return _gauss_channels(self._edges(cal), centres, areas, fwhm(centres, cal.fwhm_mnka))

    def _family_lines(self, element: str, family: str):
        return _family_lines(element, family)

    def deviation_terms(self, element: str, family: str, ratio: float, primary: bool, cal=None):
        """Penalised deviation columns of one family: ``(name, column, predicted share, error)``.

        A secondary family may depart from its tied ratio (``family_error``); in a family whose
        alpha line is below 1.2 keV, each secondary line of share ≥ 5 % may depart from its
        predicted share by ``line_error``, because self-absorption changes the line ratios of
        soft families; every family may tilt (its lines' shares change in proportion to
        :math:`(E_l - E_\\alpha)/E_\\alpha` with a prior standard deviation ``tilt_error``, the
        first-order effect of absorption); the Si escape peaks may depart by 100 %.
        """
        cal = cal or self.calibration
        key = ("dev", element, family, cal, self.family_error, self.tilt_error, self.tail_error,
               self.line_error)  # fmt: skip
        if key not in self._shared:
            self._shared[key] = self._deviation_columns(element, family, cal)
        out = [(name, col, ratio * factor, err) for name, col, factor, err in self._shared[key]]
        if primary:
            out = [t for t in out if t[0] != f"dev:{element}:{family}"]
        return out

    def _deviation_columns(self, element: str, family: str, cal: Calibration) -> list:
        """Deviation columns of a family with their share relative to the family's ratio."""
        ratio = 1.0
        out = [(f"dev:{element}:{family}", self.family_profile(element, family, cal), ratio,
                self.family_error)]  # fmt: skip
        centres, areas, labels = self._family_lines(element, family)
        e_alpha = self.alpha_energy(element, family)
        alpha = physics.alpha_line(element, family)
        edges = self._edges(cal)
        parents = [(c, a) for c, a, lb in zip(centres, areas, labels, strict=True) if not lb.startswith("esc:")]
        spread = [(c - e_alpha) / e_alpha for c, _ in parents]
        if len(parents) > 1 and max(abs(x) for x in spread) > 0.01:
            cs = np.array([c for c, _ in parents])
            tilt = np.array([a * x for (_, a), x in zip(parents, spread, strict=True)])
            col = _gauss_channels(edges, cs, tilt, fwhm(cs, cal.fwhm_mnka))
            out.append((f"dev:{element}:{family}:tilt", col, ratio, self.tilt_error))
        if self.tail_error > 0:
            cs = np.array([c for c, _ in parents])
            ws = np.array([a for _, a in parents])
            fw = fwhm(cs, cal.fwhm_mnka)
            col = _tail_channels(edges, cs, ws, fw) - _gauss_channels(edges, cs, ws, fw)
            out.append((f"dev:{element}:{family}:tail", col, ratio, self.tail_error))
        if e_alpha < 1.2:
            for c, a, lb in zip(centres, areas, labels, strict=True):
                if lb.startswith("esc:") or lb == alpha or a < 0.05:
                    continue
                col = _gauss_channels(edges, [c], [1.0], [float(fwhm(c, cal.fwhm_mnka))])
                out.append((f"dev:{element}:{family}:{lb}", col, ratio * a, self.line_error))
        esc = [(c, a) for c, a, lb in zip(centres, areas, labels, strict=True) if lb.startswith("esc:")]
        share = sum(a for _, a in esc)
        if share > 1e-3:
            cs = [c for c, _ in esc]
            col = _gauss_channels(edges, cs, [a / share for _, a in esc], fwhm(np.array(cs), cal.fwhm_mnka))
            out.append((f"dev:{element}:{family}:escape", col, ratio * share, 1.0))
        return out

    def alpha_energy(self, element: str, family: str) -> float:
        """Energy (keV) of a family's alpha line."""
        return physics.families(element)[family][physics.alpha_line(element, family)][0]

    def family_ratios(self, element: str, background_per_kev) -> tuple[str, dict[str, float]]:
        """Primary family and predicted counts of each family relative to it.

        ``background_per_kev(E)`` gives the background (counts/keV) under a line.
        """
        fams = self.families_in_range(element)
        pb = _pure_pb(element, self.beam_energy, self.kind)
        expected = {}
        for fam in fams:
            r = pb.get((element, fam), 0.0)
            if r > 0:
                expected[fam] = r * max(float(background_per_kev(self.alpha_energy(element, fam))), 1e-12)
        if not expected:
            return "", {}
        prim = max(expected, key=expected.get)
        return prim, {f: v / expected[prim] for f, v in expected.items()}

    def element_column(self, element: str, background_per_kev, cal: Calibration | None = None):
        """Tied column of an element, its primary family and the ratio of every family."""
        prim, ratios = self.family_ratios(element, background_per_kev)
        if not prim:
            return None, "", {}
        col = np.zeros(self.n_channels)
        for fam, r in ratios.items():
            col += r * self.family_profile(element, fam, cal)
        return col, prim, ratios

    # ------------------------------------------------------------------ fitting
    def initial_variance(self) -> np.ndarray:
        """Variance of the first pass: the counts smoothed over two channels, at least 1."""
        from scipy.ndimage import gaussian_filter1d

        return np.maximum(gaussian_filter1d(self.y_total, 2.0), 1.0)

    def fit(
        self,
        elements,
        *,
        background_per_kev=None,
        sum_peaks=(),
        cal: Calibration | None = None,
        weights: np.ndarray | None = None,
        iterations: int = 3,
        free_families: bool = True,
    ) -> LinearFit:
        """Weighted least-squares fit of the background and the given elements.

        Parameters
        ----------
        elements : iterable of str
        background_per_kev : callable, optional
            Background under a line (counts/keV) used for the family ratios; default from a
            first background-only fit.
        sum_peaks : iterable of (str, float, float)
            ``(name, energy keV, fwhm keV)`` of pile-up peaks to include.
        cal : Calibration, optional
        weights : ndarray, optional
            Fixed inverse variances (no reweighting); used to compare models on equal terms.
        iterations : int
            Reweighting passes when ``weights`` is None.
        free_families : bool
            Let secondary families depart from their tied ratio (penalised).
        """
        cal = cal or self.calibration
        elements = list(dict.fromkeys(elements))
        if background_per_kev is None:
            background_per_kev = self.background_per_kev_function(self._background_only(cal), cal)
        bg = self.background_columns(cal, elements)
        cols = [bg]
        names = [f"bg{j}" for j in range(bg.shape[1])]
        fam_ratio = {}
        dev = []
        for el in elements:
            col, prim, ratios = self.element_column(el, background_per_kev, cal)
            if col is None:
                continue
            cols.append(col[:, None])
            names.append(el)
            fam_ratio[el] = (prim, ratios)
            if free_families:
                for fam, r in ratios.items():
                    dev.extend((el, *t) for t in self.deviation_terms(el, fam, r, fam == prim, cal))
        for _, name, col, _, _ in dev:
            cols.append(col[:, None])
            names.append(name)
        for name, e_s, f_s in sum_peaks:
            cols.append(_gauss_channels(self._edges(cal), [e_s], [1.0], [f_s])[:, None])
            names.append(f"sum:{name}")
        x = np.hstack(cols)
        nb = bg.shape[1]
        fixed_w = weights is not None
        w = weights if fixed_w else 1.0 / self.initial_variance()
        coef = np.zeros(x.shape[1])
        pen = np.zeros(x.shape[1])
        n_it = max(2, iterations)
        for it in range(n_it):
            pen[:] = 0.0
            for el, name, _, share, err in dev:
                a = max(abs(coef[names.index(el)]), 1.0) if it else 1.0
                j = names.index(name)
                if name.count(":") == 2 and coef[j] < 0:
                    # a whole family predicted but missing costs more than one twice as strong:
                    # a log-normal-like prior, so that an element is not kept on one family alone
                    err = min(err, self.family_error_down)
                pen[j] = 1.0 / (err * share * a) ** 2
            coef, cov = _solve(x, w, self.y, pen, nonneg=self._n_spline)
            if not fixed_w and it < n_it - 1:
                model = x @ coef
                peaks = x[:, nb:] @ coef[nb:]
                var = np.maximum(np.maximum(model + self.offset, 0.25 * self.y_total), 1.0)
                var += (self.shape_error * np.maximum(peaks, 0.0)) ** 2 + (OFFSET_ERROR * self.offset) ** 2
                w = 1.0 / var
        model = x @ coef
        resid = self.y - model
        chi2 = float(np.sum(w * resid**2) + np.sum(pen * coef**2))
        return LinearFit(names, coef, cov, model, x[:, :nb] @ coef[:nb], chi2, w, x, pen, nb, fam_ratio)

    def _background_only(self, cal: Calibration) -> np.ndarray:
        bg = self.background_columns(cal)
        # robust background-only start: fit, then down-weight channels far above it (peaks)
        w = 1.0 / self.initial_variance()
        for _ in range(4):
            coef, _ = _solve(bg, w, self.y, np.zeros(bg.shape[1]), nonneg=self._n_spline)
            b = bg @ coef
            excess = (self.y - b) / np.sqrt(np.maximum(b + self.offset, 1.0))
            w = np.where(excess > 2.0, 1e-6, 1.0 / np.maximum(b + self.offset, 1.0))
        return b

    def robust_background_per_kev(self):
        """``E -> counts/keV`` of a background fitted alone, the channels well above it (peaks)
        left out: a floor for the background under lines (cached per calibration)."""
        key = ("robust", self.calibration)
        if key not in self._fam_cache:
            self._fam_cache[key] = self.background_per_kev_function(
                self._background_only(self.calibration), self.calibration)  # fmt: skip
        return self._fam_cache[key]

    def background_per_kev_function(self, background: np.ndarray, cal: Calibration | None = None):
        """Callable ``E -> background counts per keV`` interpolated from a fitted background."""
        cal = cal or self.calibration
        e = self.energies(cal)
        per_kev = np.maximum(background, 0.0) / self.channel_width(cal)
        floor = max(float(np.median(per_kev)) * 1e-3, 1e-9)

        def at(energy: float) -> float:
            return max(float(np.interp(energy, e, per_kev)), floor)

        return at

    # ------------------------------------------------------------------ calibration
    def refine_calibration(
        self, elements, *, shift_prior: float = 0.01, gain_prior: float = 0.002,
        fwhm_prior: float = 15.0, anchors=None,
    ) -> Calibration:
        """Refine energy offset, gain and FWHM on the peaks of ``elements``.

        Least squares over the channels within ±1.5 FWHM of the alpha lines above 0.9 keV
        (where line shapes are best known), the amplitudes and background solved inside for
        every trial, with Gaussian priors on the corrections: ``shift_prior`` keV,
        ``gain_prior`` (relative) and ``fwhm_prior`` eV standard deviations about the nominal
        axis, so a correction is only made when the peaks ask for it. Stores and returns the
        new :class:`Calibration`.

        ``anchors`` (default: all of ``elements``) are the elements whose lines the calibration
        is read from; the other elements are fitted too, so that their peaks next to an anchor's
        line do not pull it.
        """
        from scipy.optimize import least_squares

        elements = list(elements)
        if not elements:
            return self.calibration
        base = self.calibration
        first = self.fit(elements, cal=base)
        bpk = self.background_per_kev_function(first.background, base)
        w = first.weights
        e = self.energies(base)
        sel = np.zeros(e.size, dtype=bool)
        for el in elements if anchors is None else anchors:
            for fam in first.family_ratios.get(el, ("", {}))[1]:
                ea = self.alpha_energy(el, fam)
                if ea >= 0.9:
                    sel |= np.abs(e - ea) <= 1.5 * float(fwhm(ea, base.fwhm_mnka))
        if sel.sum() < 10:
            return self.calibration
        sw = np.sqrt(w[sel])

        def resid(p):
            cal = Calibration(shift=p[0], gain=1.0 + p[1], fwhm_mnka=p[2])
            f = self.fit(elements, cal=cal, background_per_kev=bpk, weights=w)
            prior = [(p[0] - base.shift) / shift_prior, (1.0 + p[1] - base.gain) / gain_prior,
                     (p[2] - base.fwhm_mnka) / fwhm_prior]  # fmt: skip
            return np.r_[sw * (self.y[sel] - f.model[sel]), prior]

        x0 = [base.shift, base.gain - 1.0, base.fwhm_mnka]
        lo = [base.shift - 5 * shift_prior, base.gain - 1.0 - 5 * gain_prior, max(base.fwhm_mnka - 5 * fwhm_prior, 60.0)]
        hi = [base.shift + 5 * shift_prior, base.gain - 1.0 + 5 * gain_prior, base.fwhm_mnka + 5 * fwhm_prior]
        sol = least_squares(resid, x0, bounds=(lo, hi), x_scale=[0.003, 0.0005, 3.0],
                            diff_step=[1e-3, 1e-3, 1e-2], max_nfev=30)  # fmt: skip
        self.calibration = Calibration(shift=float(sol.x[0]), gain=1.0 + float(sol.x[1]),
                                       fwhm_mnka=float(sol.x[2]))  # fmt: skip
        self._fam_cache.clear()
        return self.calibration

    def set_calibration(self, cal: Calibration) -> None:
        """Use a calibration found elsewhere (e.g. on the summed spectrum of the whole map)."""
        self.calibration = cal
        self._fam_cache.clear()


#: Column caches shared by the fitters of one axis/window/beam (a few maps at most).
_SHARED: dict = {}
_SHARED_MAX = 8


def _shared_columns(key) -> dict:
    """The column cache of one energy window and beam energy (oldest dropped beyond a few)."""
    if key not in _SHARED:
        while len(_SHARED) >= _SHARED_MAX:
            _SHARED.pop(next(iter(_SHARED)))
        _SHARED[key] = {}
    return _SHARED[key]
