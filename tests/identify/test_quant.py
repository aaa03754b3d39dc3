"""Cliff–Lorimer through eXSpy: the composition follows k-factor arithmetic on fitted intensities."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from sigma.identify import cliff_lorimer, detect_elements
from sigma.identify.quant import line_intensities
from sigma.synthetic import energy_axis

_spec = importlib.util.spec_from_file_location("sigma_test_identify_spectra", Path(__file__).with_name("_spectra.py"))
_spectra = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_spectra)
counts = _spectra.counts

E_TEM = energy_axis(1024, 0.02, 0.0)


def test_cliff_lorimer_matches_the_k_factor_ratio_of_the_fitted_intensities():
    y = counts("FePt", 2e5, seed=0, beam_energy=200.0, kind="TEM", axis=E_TEM)
    rep = detect_elements(y, E_TEM, beam_energy=200.0, kind="TEM")
    assert {"Fe", "Pt"} <= set(rep.present)
    ints = line_intensities(rep, ["Fe_Ka", "Pt_La"])
    k = {"Fe_Ka": 1.45, "Pt_La": 5.08}
    wt = cliff_lorimer([rep], k, beam_energy=200.0, composition_units="weight")[0]
    # C_Fe / C_Pt = k_Fe I_Fe / (k_Pt I_Pt)
    ratio = (k["Fe_Ka"] * ints["Fe_Ka"][0]) / (k["Pt_La"] * ints["Pt_La"][0])
    assert wt["Fe"] / wt["Pt"] == pytest.approx(ratio, rel=1e-6)
    assert sum(wt.values()) == pytest.approx(100.0)


def test_k_factor_errors_are_clear():
    y = counts("FePt", 5e4, beam_energy=200.0, kind="TEM", axis=E_TEM)
    rep = detect_elements(y, E_TEM, beam_energy=200.0, kind="TEM")
    with pytest.raises(ValueError, match="at least two"):
        cliff_lorimer([rep], {"Fe_Ka": 1.0}, beam_energy=200.0)
    with pytest.raises(ValueError, match="Element_Line"):
        cliff_lorimer([rep], {"Fe_Kz": 1.0, "Pt_La": 1.0}, beam_energy=200.0)
    assert np.isfinite(list(line_intensities(rep, ["Fe_Ka"]).values())[0][0])
