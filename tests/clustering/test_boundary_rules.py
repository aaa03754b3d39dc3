"""The rules of :mod:`sigma.clustering._boundary` on thin samples: a core seen through its shell,
and a particle on the film, keep the rims of their footprints; the film encloses nothing; the
shares are checked."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from sigma._errors import SigmaValueError
from sigma.clustering._boundary import (
    ENCLOSED_MIN_SHARE,
    FILM_MIN_SHARE,
    _thin_floors,
    checked_share,
    enclosed_share,
    film_share,
)
from sigma.clustering.auto_k import find_phases


def _core_shell_on_film(seed):
    """Four spheres (radius 11 pixels) with a core of radius 6, on a film of 2 counts per pixel;
    each material's counts follow its projected thickness (12 counts per pixel through the
    centre of a sphere of one material). Truth: the footprint, a core over its shell."""
    rng = np.random.default_rng(seed)
    film, shell, core = (rng.dirichlet(np.ones(16) * 3) for _ in range(3))
    yy, xx = np.mgrid[:64, :64].astype(float)
    t_shell, t_core = np.zeros((64, 64)), np.zeros((64, 64))
    truth = np.zeros((64, 64), int)
    for cy, cx in ((16, 16), (16, 47), (47, 16), (47, 47)):
        d = np.hypot(yy - cy, xx - cx)
        outer = 2 * np.sqrt(np.clip(11.0**2 - d**2, 0, None))
        inner = 2 * np.sqrt(np.clip(6.0**2 - d**2, 0, None))
        t_shell += outer - inner
        t_core += inner
        truth[d < 11] = 1
        truth[d < 6] = 2
    mean = 2.0 * film + (12 / 11) * (t_shell[..., None] * shell + t_core[..., None] * core)
    y = rng.poisson(mean).astype(np.float32)
    start = (truth * 2 + rng.integers(0, 2, truth.shape)).astype(np.int32)
    return y, start, truth


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_core_keeps_the_rim_of_its_footprint(seed):
    """By the counts alone the shell, thickest at the core's edge, takes the core's rim: 70-81 %
    of the core's footprint keeps its label (seeds 0-3). With the enclosed rule 79-91 %, and the
    ARI against the footprint rises by 0.003-0.012 (measured; by the counts alone the final
    labels also refine the spectra, which the rule's labels do not)."""
    y, start, truth = _core_shell_on_film(seed)
    counts = find_phases(y, start, intensity=0.3, boundary=0.0)
    rule = find_phases(y, start, intensity=0.3, boundary=0.0, enclosed=ENCLOSED_MIN_SHARE)

    def recall(lab):
        core = np.bincount(lab[truth == 2]).argmax()
        return (lab[truth == 2] == core).mean(), (truth[lab == core] == 2).mean()

    (r0, _), (r1, p1) = recall(counts.labels), recall(rule.labels)
    assert counts.evidence.n_components == rule.evidence.n_components == 3
    assert r1 >= r0 + 0.08 and r1 >= 0.79 and p1 >= 0.9
    ari0 = adjusted_rand_score(truth.ravel(), counts.labels.ravel())
    ari1 = adjusted_rand_score(truth.ravel(), rule.labels.ravel())
    assert ari1 > ari0
    (dec,) = [d for d in rule.evidence.decisions if d["step"] == "enclosed"]
    assert dec["contact"] >= 0.9 and dec["min_share"] == ENCLOSED_MIN_SHARE
    assert not [d for d in counts.evidence.decisions if d["step"] == "enclosed"]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_particle_keeps_the_rim_of_its_footprint_on_the_film(seed):
    """The film lies under the particles' thin edges: by the counts alone it takes 7-8 % of
    their footprint (seeds 0-3, measured); with the film rule 5-6 %, no film pixel lost, and
    the ARI against the footprint rises by 0.021-0.025."""
    y, start, truth = _core_shell_on_film(seed)
    counts = find_phases(y, start, intensity=0.3, boundary=0.0, enclosed=ENCLOSED_MIN_SHARE)
    rule = find_phases(y, start, intensity=0.3, boundary=0.0, enclosed=ENCLOSED_MIN_SHARE,
                       on_film=FILM_MIN_SHARE)

    def shares(lab):
        film = np.bincount(lab[truth == 0]).argmax()
        return (lab[truth > 0] != film).mean(), (lab[truth == 0] == film).mean()

    (p0, _), (p1, f1) = shares(counts.labels), shares(rule.labels)
    assert rule.evidence.n_components == 3
    assert p1 >= p0 + 0.015 and p1 >= 0.935 and f1 >= 0.999
    ari = [adjusted_rand_score(truth.ravel(), r.labels.ravel()) for r in (counts, rule)]
    assert ari[1] > ari[0] + 0.02
    (dec,) = [d for d in rule.evidence.decisions if d["step"] == "on film"]
    assert dec["min_share"] == FILM_MIN_SHARE and dec["pixels"] > 0.6 * truth.size


def test_the_film_encloses_nothing():
    """Particles on a film: every particle's neighbours are film, but the film is no shell."""
    lab = np.zeros((30, 30), np.int32)
    lab[4:10, 4:10], lab[15:22, 15:22], lab[4:9, 20:26] = 1, 2, 1
    yx = np.choose(lab, [2.0, 20.0, 30.0]).ravel()[:, None]
    floors, decisions = _thin_floors(None, yx, lab, 3, enclosed=0.15)
    assert floors is None and decisions == []


def test_without_a_film_no_label_is_enclosed():
    """Particles hardly brighter than the label round them (2.5 and 2.6 counts a pixel on 2):
    no film is found, and the label round them does not count as a shell of each."""
    lab = np.zeros((40, 40), np.int32)
    lab[5:12, 5:12], lab[20:28, 20:28] = 1, 2
    yx = np.choose(lab, [2.0, 2.5, 2.6]).ravel()[:, None]
    assert _thin_floors(None, yx, lab, 3, enclosed=0.15, on_film=0.4) == (None, [])


def test_the_enclosed_share_is_checked():
    y, start, _ = _core_shell_on_film(0)
    with pytest.raises(SigmaValueError, match="'enclosed' parameter"):
        find_phases(y, start, enclosed=0.7)
    with pytest.raises(SigmaValueError, match="auto_args\\['enclosed'\\]"):
        checked_share(True, "auto_args['enclosed']")
    with pytest.raises(SigmaValueError, match="'on_film' parameter"):
        find_phases(y, start, on_film=0.0)
    assert checked_share(np.float32(0.25), "enclosed") == 0.25  # any real number
    assert enclosed_share(True) == ENCLOSED_MIN_SHARE and enclosed_share(False) is None
    assert film_share(True) == FILM_MIN_SHARE and film_share(False) is None
