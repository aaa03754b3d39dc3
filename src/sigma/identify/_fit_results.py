"""The results of the spectrum fit (:mod:`sigma.identify.fitting`): the energy calibration
and one weighted linear fit."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """Correction of the nominal energy axis: ``E = shift + gain * E_nominal``, and the FWHM.

    Examples
    --------
    >>> Calibration().gain, Calibration(shift=0.01).shift
    (1.0, 0.01)
    """

    shift: float = 0.0
    gain: float = 1.0
    fwhm_mnka: float = 130.0


@dataclass
class LinearFit:
    """Result of one weighted linear fit (see :meth:`SpectrumFitter.fit`).

    Attributes
    ----------
    names : list of str
        Column names: ``'bg0'``…, element symbols, ``'dev:Fe:L'``, ``'sum:…'``.
    coef, cov : ndarray
        Coefficients and their covariance.
    model, background : ndarray
        Expected counts in the fit window, total and background only.
    chi2 : float
        Weighted residual sum of squares plus penalties.
    weights : ndarray
        Inverse variances used.
    columns : ndarray
        ``(n, p)`` design matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.synthetic import energy_axis, phase_spectrum
    >>> from sigma.identify.fitting import SpectrumFitter
    >>> e = energy_axis(1024, 0.02, -0.1)
    >>> y = np.random.default_rng(0).poisson(3e4 * phase_spectrum("NaCl", e))
    >>> fit = SpectrumFitter(y, e, beam_energy=20.0).fit(["Na", "Cl"])
    >>> round(float(fit.coef[fit.index("Cl")]), -3) > 10000
    True
    """

    names: list[str]
    coef: np.ndarray
    cov: np.ndarray
    model: np.ndarray
    background: np.ndarray
    chi2: float
    weights: np.ndarray
    columns: np.ndarray
    penalty: np.ndarray
    n_background: int
    family_ratios: dict = field(default_factory=dict)

    def index(self, name: str) -> int:
        """Column index of a term (``'Fe'``, ``'bg3'``, ``'dev:Fe:L'`` …)."""
        return self.names.index(name)
