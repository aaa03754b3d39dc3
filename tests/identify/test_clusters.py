"""What a notebook shows for an identification: a readable table, not the raw result arrays."""

import numpy as np

from sigma.identify import identify_clusters
from sigma.synthetic import energy_axis, phase_spectrum


def _two_phases():
    e = energy_axis(1024, 0.02, -0.1)
    rng = np.random.default_rng(0)
    x = np.stack([rng.poisson(3e4 * phase_spectrum("NaCl", e)), rng.poisson(3e4 * phase_spectrum("KCl", e))])
    return identify_clusters(x, [2, 7], e, beam_energy=20.0)


def test_the_repr_is_one_line_per_cluster_with_name_p_and_elements():
    res = _two_phases()
    lines = repr(res).splitlines()
    assert lines[0].startswith("ClusterIdentification: 2 clusters, 20 kV SEM, library of ")
    assert len(lines) == 4 and lines[1].split() == ["cluster", "p", "elements", "name"]
    row = {ln.split()[0]: ln for ln in lines[2:]}
    assert " Cl Na " in row["2"] and row["2"].rstrip().endswith("halite NaCl")
    assert " Cl K " in row["7"] and "sylvite" in row["7"]
    assert len(repr(res)) < 1000  # the dataclass repr printed every fit array (tens of kB)
    one = repr(res[2])
    assert one.startswith("<PhaseIdentification identified: 'halite NaCl', p=") and len(one) < 200


def test_the_html_repr_is_a_table_with_escaped_names():
    res = _two_phases()
    page = res._repr_html_()
    assert page.count("<tr>") == 3 and "halite NaCl" in page and "<th" in page


def test_offsets_must_match_the_spectra():
    import pytest

    from sigma._errors import SigmaValueError

    e = energy_axis(1024, 0.02, -0.1)
    x = np.stack([np.random.default_rng(0).poisson(3e4 * phase_spectrum("NaCl", e))] * 2)
    with pytest.raises(SigmaValueError, match=r"offsets.*\(2, 1024\)"):
        identify_clusters(x, [0, 1], e, beam_energy=20.0, offsets=np.zeros((1, 1024)))


def test_a_cluster_keeps_the_offset_reading_only_when_it_fits_better():
    """Ilmenite with 30,000 counts of its quartz host: with the quartz as its offset the match
    is better (p 0.005 -> 0.8) and Si is gone; a wrong offset (calcite) is not kept."""
    e = energy_axis(2048, 0.01, -0.2)
    host = 3e4 * phase_spectrum("SiO2", e, beam_energy=20.0)
    rng = np.random.default_rng(2)
    x = np.stack([rng.poisson(2e5 * phase_spectrum("FeTiO3", e, beam_energy=20.0) + host),
                  rng.poisson(2e5 * phase_spectrum("SiO2", e, beam_energy=20.0))]).astype(np.float64)
    zero = np.zeros_like(host)
    plain = identify_clusters(x, [0, 1], e, beam_energy=20.0)
    good = identify_clusters(x, [0, 1], e, beam_energy=20.0, offsets=np.stack([host, zero]))
    wrong = identify_clusters(x, [0, 1], e, beam_energy=20.0,
                              offsets=np.stack([3e4 * phase_spectrum("CaCO3", e, beam_energy=20.0), zero]))
    assert plain.params["rim_offsets"] == [] and "Si" in plain[0].elements.present
    assert good.params["rim_offsets"] == [0] and sorted(good[0].elements.present) == ["Fe", "O", "Ti"]
    assert good[0].best.p_value > 0.1 > 0.01 > plain[0].best.p_value
    assert good[0].name.startswith("ilmenite") and good[1].name == plain[1].name
    assert wrong.params["rim_offsets"] == [] and wrong[0].elements.present == plain[0].elements.present
