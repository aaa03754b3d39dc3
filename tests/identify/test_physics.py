"""The forward model's constants against tabulated values (eXSpy's data and textbooks)."""

import numpy as np
import pytest

from sigma.identify import physics


@pytest.mark.parametrize(
    "element, family, edge_kev",
    # K and L3 edges (Bearden & Burr 1967) for elements where eXSpy lists no edge of that shell
    [("Fe", "K", 7.112), ("Cu", "K", 8.979), ("Ca", "K", 4.038), ("S", "K", 2.472),
     ("Zn", "K", 9.659), ("Pb", "L", 13.035), ("Ag", "L", 3.351), ("W", "L", 10.207),
     ("Ba", "L", 5.247), ("Sn", "L", 3.929)],
)
def test_edges_within_two_percent_of_tabulated(element, family, edge_kev):
    assert physics.family_edge(element, family) == pytest.approx(edge_kev, rel=0.02)


@pytest.mark.parametrize("z, family, omega, rel", [(26, "K", 0.35, 0.05), (14, "K", 0.047, 0.05),
                                                   (29, "K", 0.44, 0.05), (47, "L", 0.052, 0.3),
                                                   (82, "M", 0.03, 0.3)])
def test_fluorescence_yields_match_tables(z, family, omega, rel):
    assert physics.fluorescence_yield(z, family) == pytest.approx(omega, rel=rel)


def test_escape_fraction_is_a_few_percent_above_the_si_edge_only():
    p = physics.escape_fraction([1.7, 1.85, 2.5, 6.4, 15.0])
    assert p[0] == 0
    assert 0.005 < p[1] < 0.03 and p[1] > p[3] > p[4] > 0


def test_absorption_factor_is_a_fraction_and_lowest_for_soft_lines():
    f = physics.absorption_factor([0.525, 1.74, 6.4], {"Fe": 0.7, "O": 0.3}, 20.0)
    assert np.all((f > 0) & (f <= 1)) and f[0] < f[1] < f[2]


def test_peak_to_background_scales_with_concentration_and_vanishes_below_the_edge():
    a = physics.peak_to_background({"Fe": 0.5, "O": 0.5}, 20.0)[("Fe", "K")]
    b = physics.peak_to_background({"Fe": 0.25, "O": 0.75}, 20.0)[("Fe", "K")]
    # twice the iron, over a continuum that grows with the mean atomic number (Kramers)
    zbar = {0.5: 0.5 * 26 + 0.5 * 8, 0.25: 0.25 * 26 + 0.75 * 8}
    assert a / b == pytest.approx(2 * zbar[0.25] / zbar[0.5], rel=0.15)
    assert ("Fe", "K") not in physics.peak_to_background({"Fe": 1.0}, 7.0)


def test_unknown_element_is_a_clear_error():
    with pytest.raises(ValueError, match="'Xx'"):
        physics.check_composition({"Xx": 1.0})
