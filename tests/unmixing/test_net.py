"""Net (film-subtracted, shell-peeled) spectra of TEM maps: :mod:`sigma.unmixing.net`."""

from __future__ import annotations

import numpy as np
import pytest

from sigma._errors import SigmaValueError
from sigma.synthetic.family import make_grain_phantom, make_particle_phantom
from sigma.synthetic.metrics import spectral_angle
from sigma.unmixing.net import (
    cluster_contacts,
    enclosing_clusters,
    find_film,
    net_pixels,
    net_spectra,
    peel_factor,
    peel_hosts,
    pick_film,
    window_channels,
)
from sigma.unmixing.spectra import CORE_MIN_PIXELS, cluster_spectra, core_pixels

PARTICLES = {"core-shell": 2, "gold": 2, "ceria": 2, "titania": 2}


def _pixel_means(counts, labels, mask):
    """Per-pixel mean spectrum of each cluster over ``mask`` (all its pixels if too few)."""
    ids = np.unique(labels[labels >= 0])
    sel = np.where(mask, labels, -1)
    n = np.array([(sel == c).sum() for c in ids])
    own = n >= CORE_MIN_PIXELS
    sel = np.where(np.isin(labels, ids[~own]), labels, sel)
    n = np.array([(sel == c).sum() for c in ids])
    return cluster_spectra(counts, sel, ids, "sum") / n[:, None], n


def _net_of(ph, labels=None, **kw):
    """Net spectra of a phantom's true labels from its counts, as the segmenter makes them."""
    lab = ph.labels if labels is None else labels
    core, _ = _pixel_means(ph.spectra, lab, core_pixels(lab))
    film, _ = pick_film(core, lab)
    means, n = _pixel_means(ph.spectra, lab, net_pixels(lab, film, peel_hosts(lab, film=film)))
    return net_spectra(means, n, lab, film=film, window=window_channels(ph.energy_axis), **kw), core, means


@pytest.fixture(scope="module")
def tem():
    return make_particle_phantom((96, 96), counts_per_pixel=400, particles=PARTICLES, n_channels=1024,
                                 energy_scale=0.02, seed=3)


def test_contacts_count_each_neighbour_pair_both_ways():
    lab = np.array([[0, 0, 1], [0, 2, 1], [-1, 2, 2]])
    c = cluster_contacts(lab)
    # 0-1: (0,1)-(0,2), (0,1)-(1,2); 0-2: (0,0)-(1,1), (0,1)-(1,1), (1,0)-(1,1), (1,0)-(2,1)
    assert c.tolist() == [[0, 2, 4, 1], [2, 0, 4, 0], [4, 4, 0, 2]]
    assert (c[:, :3] == c[:, :3].T).all()


def test_enclosed_cluster_found_but_never_inside_the_film():
    lab = np.zeros((12, 12), int)
    lab[2:10, 2:10] = 1
    lab[5:7, 5:7] = 2
    assert enclosing_clusters(cluster_contacts(lab), exclude=[0]).tolist() == [-1, -1, 1]
    # without the film excluded, film and shell (82 % of its neighbours are film) would
    # enclose each other: neither counts
    assert enclosing_clusters(cluster_contacts(lab)).tolist() == [-1, -1, 1]
    # two clusters that only touch each other: neither is peeled
    assert enclosing_clusters(cluster_contacts(lab[2:10, 2:10])).tolist() == [-1, -1]


def test_net_spectra_of_particles_match_their_own_spectra(tem):
    """Film subtraction and peeling bring every particle within 3 deg of its own spectrum
    (from 9-34 deg for the core spectra), at 400 counts per particle pixel."""
    res, core, _ = _net_of(tem)
    names = tem.phase_names
    ref = tem.phase_spectra
    assert res.film == names.index("carbon film") == 0
    mag, sil = names.index("magnetite"), names.index("silica")
    assert res.hosts == {mag: sil}
    ang_net = spectral_angle(ref, res.spectra)
    ang_core = spectral_angle(ref, core)
    assert ang_core[1:].min() > 8.0 and ang_core[mag] > 25.0
    assert ang_net.max() < 3.0, dict(zip(names, ang_net.round(2), strict=True))


def test_core_shell_core_loses_the_shells_silicon(tem):
    res, _, means = _net_of(tem)
    e = tem.energy_axis
    mag = tem.phase_names.index("magnetite")
    si = (e > 1.68) & (e < 1.80)  # Si Ka
    fe = (e > 6.30) & (e < 6.50)  # Fe Ka
    before = means[mag] - means[0]  # the film alone subtracted: the shell's Si is still there
    assert before[si].sum() > 0.3 * before[fe].sum()
    after = res.spectra[mag]
    assert abs(after[si].sum()) < 0.05 * before[si].sum()
    assert after[fe].sum() > 0.95 * before[fe].sum()  # silica has no Fe: Fe Ka stays


def test_peel_factor_is_not_set_by_one_noisy_channel():
    rng = np.random.default_rng(0)
    c = 400
    x = np.linspace(0, 1, c)
    shell = 200 * np.exp(-0.5 * ((x - 0.3) / 0.01) ** 2) + 100 * np.exp(-0.5 * ((x - 0.1) / 0.01) ** 2) + 2
    own = 300 * np.exp(-0.5 * ((x - 0.7) / 0.01) ** 2) + 100 * np.exp(-0.5 * ((x - 0.1) / 0.01) ** 2) + 2
    n = np.array([400, 40])
    expect = np.stack([shell, own + 0.6 * shell])
    core = rng.poisson(expect * n[:, None]) / n[:, None]
    a = peel_factor(np.array([0.0, 1.0]), np.array([1.0, 0.0]), core, (core + 1 / n[:, None]) / n[:, None],
                    window=8)
    assert 0.55 < a < 0.66  # the true factor is 0.6; the remainder's own continuum adds ~1 %
    # one channel 5 standard deviations low at the shell's line does not drag the factor down
    top = np.argmax(shell)
    core[1, top] -= 5 * np.sqrt(core[1, top] / n[1])
    assert core[1, top] / core[0, top] < 0.57  # what that channel alone would set
    b = peel_factor(np.array([0.0, 1.0]), np.array([1.0, 0.0]), core, (core + 1 / n[:, None]) / n[:, None],
                    window=8)
    assert abs(b - a) < 0.02


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n_phases", [4, 6, 8])
def test_film_rule_refuses_a_grain_map(seed, n_phases):
    ph = make_grain_phantom((96, 96), n_phases=n_phases, counts_per_pixel=50, n_channels=512,
                            energy_scale=0.04, seed=seed)
    core, _ = _pixel_means(ph.spectra, ph.labels, core_pixels(ph.labels))
    film, reason = pick_film(core, ph.labels)
    assert film is None and reason.startswith("no cluster qualifies as the film")
    # and so nothing is subtracted: net spectra with film="auto" keep the core spectra
    res = net_spectra(core, np.full(len(core), 100), ph.labels, peel=False)
    assert res.film is None and np.array_equal(res.spectra, core)


def test_film_rule_needs_the_others_brighter_and_on_it():
    lab = np.zeros((20, 20), int)
    lab[2:6, 2:6], lab[10:14, 10:14], lab[2:6, 12:16] = 1, 2, 3
    contacts = cluster_contacts(lab)
    sizes = np.bincount(lab.ravel())
    assert find_film(contacts, [1.0, 5.0, 5.0, 5.0], sizes)[0] == 0
    # a particle no brighter than the film is not on it (a hole): 2 of 3 < 3/4 of the others
    f, why = find_film(contacts, [1.0, 5.0, 5.0, 1.2], sizes)
    assert f is None and "2 of 3 others on it and brighter, need 3" in why
    # nothing large enough
    assert find_film(contacts, [1.0, 5.0, 5.0, 5.0], sizes, min_share=0.95)[0] is None


def test_vacuum_is_not_the_film():
    """A dark hole in the film (vacuum) touching only the film is passed over."""
    lab = np.zeros((40, 40), int)
    lab[:, 30:] = 4  # vacuum strip, darker than the film
    for i, (y, x) in enumerate([(5, 5), (20, 8), (10, 20), (28, 18)]):
        lab[y : y + 4, x : x + 4] = i % 3 + 1
    core = np.array([[1.0], [6.0], [6.0], [6.0], [0.05]])
    film, _ = pick_film(core, lab)
    assert film == 0
    res = net_spectra(core, np.full(5, 50), lab)
    assert res.spectra[4, 0] == 0.05  # the vacuum is not on the film: left as it is
    assert np.allclose(res.spectra[1:4, 0], 5.0)


def test_explicit_film_and_bad_values():
    lab = np.zeros((10, 10), int)
    lab[3:6, 3:6] = 1
    core = np.array([[1.0, 1.0], [3.0, 4.0]])
    assert net_spectra(core, [91, 9], lab, film=0).spectra[1].tolist() == [2.0, 3.0]
    assert net_spectra(core, [91, 9], lab, film=None).spectra[1].tolist() == [3.0, 4.0]
    with pytest.raises(SigmaValueError, match=r"'film' parameter must be 'auto', None or a cluster id among \[0, 1\]"):
        net_spectra(core, [91, 9], lab, film=7)
    with pytest.raises(SigmaValueError, match="'core' parameter"):
        net_spectra(core[:1], [91], lab)
    with pytest.raises(SigmaValueError, match="'film_rule' parameter .* Got 'min_sahre'"):
        net_spectra(core, [91, 9], lab, min_sahre=0.1)
