"""Line proposal from a sum spectrum when a file names no elements."""

import numpy as np
import pytest

from sigma.xray.lines import lines_near_energy, propose_lines_from_spectrum


def _peaks(centres_heights, background=40.0):
    e = np.arange(0, 12, 0.01)
    s = np.full_like(e, background)
    for centre, height in centres_heights:
        s += height * np.exp(-0.5 * ((e - centre) / 0.04) ** 2)
    return s, e


def test_a_peak_at_the_neon_energy_is_named_by_a_common_element():
    # 0.85 keV: Ne Kα (0.849) is the nearest α line, but a solid sample's peak there is Ni Lα
    # (0.851) when Ni Kα is present — and a noble gas is never proposed before a common element.
    s, e = _peaks([(0.851, 800), (7.478, 3000)])
    lines = propose_lines_from_spectrum(s, e, beam_energy=20)
    assert "Ni_Ka" in lines
    assert not any(line.startswith("Ne_") for line in lines)


def test_noble_gases_are_ranked_last_not_removed():
    # Ar (implanted by ion milling) stays a candidate line; a lone peak at its energy is given
    # to the common element whose α line is within the resolution (Ag Lα, 27 eV away).
    names = [h[0] for h in lines_near_energy(2.957, 0.05, only_major=True)]
    assert "Ar_Ka" in names
    s, e = _peaks([(2.957, 3000)])
    assert propose_lines_from_spectrum(s, e, beam_energy=20) == ["Ag_La"]


@pytest.mark.parametrize("centre,line", [(6.404, "Fe_Ka"), (1.74, "Si_Ka"), (8.048, "Cu_Ka")])
def test_single_strong_peaks_get_their_k_alpha(centre, line):
    s, e = _peaks([(centre, 5000)])
    assert propose_lines_from_spectrum(s, e, beam_energy=20) == [line]
