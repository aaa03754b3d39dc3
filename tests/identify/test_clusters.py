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
