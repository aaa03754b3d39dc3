"""Overlapping X-ray lines are found at the detector's resolution."""

from __future__ import annotations

from sigma.xray import COMMON_INTERFERENCES, fwhm, line_energy, line_overlaps


def test_pairs_among_the_features_are_those_closer_than_the_fwhm():
    hits = line_overlaps(["Fe_Ka", "Mn_Kb", "Si_Ka", "Navigator", "Al_Ka"], known=False)
    assert [(a, b) for a, b, *_ in hits] == [("Fe_Ka", "Mn_Kb")]
    _, _, d, width, in_list = hits[0]
    assert d == round(line_energy("Mn_Kb") - line_energy("Fe_Ka"), 4) and in_list
    assert d < width == round(float(fwhm((line_energy("Fe_Ka") + line_energy("Mn_Kb")) / 2)), 4)
    # a sharper detector separates them
    assert line_overlaps(["Fe_Ka", "Mn_Kb"], fwhm_mnka=60, known=False) == []


def test_known_interferences_are_flagged_for_a_single_line():
    found = {(b if a == "S_Ka" else a): in_list for a, b, *_, in_list in line_overlaps(["S_Ka", "Mo_La"])
             if "S_Ka" in (a, b)}
    assert found == {"Mo_La": True, "Pb_Ma": False}
    # every group of the table overlaps at 130 eV for its first line
    for group in COMMON_INTERFERENCES:
        assert line_overlaps([group[0]]), group
