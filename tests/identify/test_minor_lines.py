"""The second look at cluster spectra: lines added for elements only a cluster shows, proposed
lines removed when their peak is another element's line, nothing added on noise."""

from __future__ import annotations

import numpy as np
import pytest

from sigma._errors import SigmaError
from sigma.identify.minor_lines import MIN_SIGNIFICANCE, review_lines
from sigma.synthetic import energy_axis, phase_spectrum

E = energy_axis(1024, 0.02, -0.2)
FILM = {"C": 0.9, "O": 0.1}


def _tem(comp, counts, seed):
    rng = np.random.default_rng(seed)
    return rng.poisson(counts * phase_spectrum(comp, E, kind="TEM", beam_energy=200.0, continuum=10.0))


def test_element_only_one_cluster_shows_is_added_with_its_evidence():
    # 60 000 counts of film, 2500 of gold: the gold cluster's own spectrum shows Au clearly
    spectra = np.stack([_tem(FILM, 6e4, 0), _tem("Au", 2.5e3, 1)])
    rev = review_lines(spectra, [3, 7], [2000, 40], E, feature_lines=["C_Ka", "O_Ka", "Cu_Ka"],
                       beam_energy=200.0, kind="TEM")
    assert [a.element for a in rev.added] == ["Au"]
    a = rev.added[0]
    assert a.line in ("Au_Ma", "Au_La") and a.cluster == 7 and a.pixels == 40
    assert a.significance >= MIN_SIGNIFICANCE and a.net > 3 * a.sigma
    assert rev.removed == [] and rev.lines(["C_Ka", "O_Ka", "Cu_Ka"])[-1] == a.line
    assert "Au" in rev.elements[7] and "Au" not in rev.elements[3]
    assert rev.to_dict()["added"][0]["cluster"] == 7


def test_nothing_added_when_every_element_is_mapped():
    spectra = np.stack([_tem(FILM, 6e4, 0), _tem("Au", 2.5e3, 1)])
    rev = review_lines(spectra, [0, 1], [2000, 40], E, feature_lines=["C_Ka", "O_Ka", "Cu_Ka", "Au_La"],
                       beam_energy=200.0, kind="TEM")
    assert not rev.changed and rev.added == [] and rev.removed == []


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clusters_of_one_phase_add_no_element(seed):
    # six clusters of the same film spectrum at 2 000 to 200 000 counts: no false element
    counts = [2e3, 6e3, 2e4, 6e4, 1e5, 2e5]
    spectra = np.stack([_tem(FILM, c, seed * 10 + i) for i, c in enumerate(counts)])
    rev = review_lines(spectra, range(6), [100] * 6, E, feature_lines=["C_Ka", "O_Ka", "Cu_Ka"],
                       beam_energy=200.0, kind="TEM")
    assert rev.added == [] and rev.removed == []


def test_proposed_line_on_another_elements_peak_is_removed():
    # Cu K-beta (8.905 keV) proposed as Os L-alpha (8.911 keV), as the sum-spectrum proposal does
    y = np.random.default_rng(4).poisson(3e4 * phase_spectrum("Cu", E, beam_energy=20.0))
    rev = review_lines(y[None], [0], [500], E, feature_lines=["Cu_Ka", "Os_La"], beam_energy=20.0)
    assert [(r.line, r.explained_by) for r in rev.removed] == [("Os_La", "Cu_Kb")]
    assert rev.lines(["Cu_Ka", "Os_La"]) == ["Cu_Ka"]


def test_real_element_overlapping_another_is_kept():
    # Co K-alpha sits on Fe K-beta; with Co really there, its line stays
    y = np.random.default_rng(5).poisson(1e5 * phase_spectrum({"Fe": 0.5, "Co": 0.5}, E, beam_energy=20.0))
    rev = review_lines(y[None], [0], [500], E, feature_lines=["Fe_Ka", "Co_Ka"], beam_energy=20.0)
    assert rev.removed == [] and rev.added == []


def test_bad_input_names_the_parameter():
    with pytest.raises(SigmaError, match="spectra"):
        review_lines(np.ones((2, E.size)), [0], [10], E, feature_lines=[], beam_energy=20.0)
    with pytest.raises(SigmaError, match="min_significance"):
        review_lines(np.ones((1, E.size)), [0], [10], E, feature_lines=[], beam_energy=20.0,
                     min_significance=0)
