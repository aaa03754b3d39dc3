"""The harder phantom family: Voronoi grains with inclusions (SEM), particles on a film (TEM)."""

from __future__ import annotations

import numpy as np
import pytest

from sigma._errors import SigmaValueError
from sigma.synthetic.family import (
    binned_truth,
    family_specs,
    make_family_phantom,
    make_grain_phantom,
    make_particle_phantom,
    voronoi_grains,
)
from sigma.synthetic.metrics import spectral_angle
from sigma.synthetic.minerals import MINERALS, SIMILAR_GROUPS

AXIS = {"n_channels": 512, "energy_scale": 0.04, "energy_offset": -0.2}


def test_voronoi_grains_are_irregular_and_all_present():
    g = voronoi_grains((80, 100), 12, seed=4)
    assert sorted(np.unique(g).tolist()) == list(range(12))
    # wavy boundaries: a grain is not the convex cell of a plain Voronoi diagram
    straight = voronoi_grains((80, 100), 12, roughness=0.0, seed=4)
    assert 0.02 < np.mean(g != straight) < 0.4


def test_grain_phantom_holds_look_alikes_inclusions_and_mixed_boundaries():
    ph = make_grain_phantom((120, 120), n_phases=6, similar=2, counts_per_pixel=20, seed=5, **AXIS)
    assert len(ph.phase_names) == 6 and ph.kind == "SEM"
    truth = binned_truth(ph, 3)
    assert sorted(np.unique(truth).tolist()) == list(range(6))  # every phase survives binning
    groups = [set(g) for g in SIMILAR_GROUPS]
    pairs = [(a, b) for a in ph.phase_names for b in ph.phase_names if a < b and any({a, b} <= g for g in groups)]
    assert len(pairs) >= 2
    ang = spectral_angle(ph.phase_spectra[:, None], ph.phase_spectra[None])
    np.fill_diagonal(ang, 90)
    assert 12 < ang.min() < 30  # look-alikes, but above the 8° pairs left out of the library
    inc = ph.labels == 5  # the inclusion mineral comes last
    assert 0 < inc.mean() < 0.05
    mixed = ph.abundances.max(-1) < 0.9
    assert 0.03 < mixed.mean() < 0.5  # beam spread and gradients at boundaries
    assert np.isclose(ph.intensity.mean(), 1.0) and ph.intensity.min() > 0.6
    assert abs(ph.spectra.sum(-1).mean() - 20) < 0.5


def test_inclusions_are_small_round_discs():
    from scipy.ndimage import label

    ph = make_grain_phantom((128, 128), n_phases=4, counts_per_pixel=2, inclusions=5,
                            inclusion_radius=(3.0, 6.0), seed=2, **AXIS)
    regions, n = label(ph.labels == 3)
    assert n == 5
    for r in range(1, n + 1):
        yx = np.argwhere(regions == r)
        radius = np.hypot(*(yx - yx.mean(0)).T).max()
        assert 2.0 <= radius <= 6.5
        assert len(yx) >= 0.6 * np.pi * radius**2  # round and filled, not a sliver


def test_particle_truth_is_the_footprint_by_default():
    """A core's disc is the core's and a particle's thin edge the particle's: the counts rule
    gives the core's rim to the shell and the edges to the film. The counts themselves do not
    depend on the truth asked for."""
    ph = make_particle_phantom((96, 96), counts_per_pixel=30, seed=2, **AXIS)
    by_counts = make_particle_phantom((96, 96), counts_per_pixel=30, seed=2, truth="counts", **AXIS)
    np.testing.assert_array_equal(ph.spectra, by_counts.spectra)
    np.testing.assert_array_equal(by_counts.labels, ph.abundances.argmax(-1))
    core_foot, core_counts = ph.labels == 1, by_counts.labels == 1  # magnetite, both ways
    assert (core_counts & ~core_foot).sum() == 0 and core_foot.sum() > 1.3 * core_counts.sum()  # 71, 46
    kw = dict(counts_per_pixel=30, seed=3, profile="plateau", blur=0.8, **AXIS)
    np.testing.assert_array_equal(make_particle_phantom((64, 64), **kw).spectra,
                                  make_particle_phantom((64, 64), truth="counts", **kw).spectra)
    assert (ph.labels > 0).sum() > (by_counts.labels > 0).sum()  # the thin edges
    with pytest.raises(SigmaValueError, match="'truth' parameter"):
        make_particle_phantom((32, 32), truth="area", **AXIS)


def test_particle_phantom_core_shell_on_a_film():
    ph = make_particle_phantom((96, 96), counts_per_pixel=30, seed=2, **AXIS)
    names = ph.phase_names
    assert names == ["carbon film", "magnetite", "silica", "gold", "ceria", "titania"]
    assert ph.kind == "TEM" and ph.beam_energy == 200 and "Cu" in ph.elements
    assert (ph.labels == 0).mean() > 0.7  # mostly film
    # every magnetite core sits inside silica: its ring of neighbours is silica, not film
    from scipy.ndimage import binary_dilation

    core = ph.labels == 1
    ring = binary_dilation(core, iterations=2) & ~core
    assert core.any() and (ph.labels[ring] == 2).mean() > 0.8
    # counts follow thickness: particle pixels count far more than the film
    part = ph.labels > 0
    assert ph.expected.sum(-1)[part].mean() > 3 * ph.expected.sum(-1)[~part].mean()
    assert abs(ph.spectra.sum(-1)[part].mean() - 30) < 6


def test_binned_truth_is_the_majority():
    lab = np.array([[0, 1, 2, 2], [1, 1, 2, 0], [3, 3, 3, 3], [0, 3, 3, 3]])
    assert binned_truth(lab, 2).tolist() == [[1, 2], [3, 3]]
    assert binned_truth(lab, (1, 2)).shape == (4, 2)


def test_family_specs_span_the_requested_range():
    specs = family_specs(24)
    sem = [s for s in specs if s["kind"] == "SEM"]
    tem = [s for s in specs if s["kind"] == "TEM"]
    assert len(sem) == 18 and len(tem) == 6
    assert {s["counts_per_pixel"] for s in sem} == {10, 25, 100}
    assert {s["counts_per_pixel"] for s in tem} == {20, 60}
    assert {s["shape"] for s in sem} == {(128, 128), (256, 256), (512, 512)}
    n = [s["n_phases"] for s in sem]
    assert min(n) == 4 and max(n) == 10
    assert {s["bin"] for s in sem} == {3} and {s["bin"] for s in tem} == {2}
    assert len({s["seed"] for s in specs}) == 24


def test_family_phantoms_are_reproducible():
    spec = {"kind": "SEM", "shape": (48, 48), "counts_per_pixel": 5, "n_phases": 4, "similar": 1,
            "seed": 9, "bin": 3}
    a = make_family_phantom(spec, **AXIS)
    b = make_family_phantom(spec, **AXIS)
    assert a.phase_names == b.phase_names and np.array_equal(a.spectra, b.spectra)
    assert all(n in MINERALS for n in a.phase_names)


@pytest.mark.parametrize(("kw", "match"), [
    ({"n_phases": 1}, r"'n_phases' parameter must be an int in \[2, 16\]"),
    ({"counts_per_pixel": 0}, r"'counts_per_pixel' parameter must be a positive number"),
    ({"inclusion_radius": (3, 1)}, r"'inclusion_radius' parameter must be \(smallest, largest\)"),
    ({"shape": (8, 40)}, r"'shape' parameter must be a pair \(H, W\) of ints >= 16"),
])
def test_grain_phantom_rejects_bad_values(kw, match):
    with pytest.raises(SigmaValueError, match=match):
        make_grain_phantom(**{"shape": (32, 32), **kw, **AXIS})


def test_particle_kinds_are_checked():
    with pytest.raises(SigmaValueError, match=r"'particles' parameter must be kinds among"):
        make_particle_phantom((32, 32), particles={"silver": 2}, **AXIS)


def test_particle_phantom_plateau_profile_has_pure_cores_and_blurred_edges():
    kw = dict(counts_per_pixel=30, seed=2, particles={"core-shell": 2, "gold": 2}, **AXIS)
    ph = make_particle_phantom((96, 96), profile="plateau", **kw)
    # a core fills its pixels: the core centre holds magnetite and the film, no silica
    core = ph.labels == 1
    assert core.any() and ph.abundances[core][:, 2].max() == 0
    # every material at one rate (counts follow depth below the edge, not the material): gold
    # counts no more than magnetite, where the spheres' yields give it 1.8 times more
    top = {k: ph.intensity[ph.labels == k].max() for k in (1, 2, 3)}
    assert top[3] <= top[1] * 1.001 and top[2] <= top[1] * 1.001
    assert ph.intensity[ph.labels == 0].max() < 0.3 * top[1]
    # blur mixes silica into the core's edge pixels
    blurred = make_particle_phantom((96, 96), profile="plateau", blur=0.8, **kw)
    assert blurred.abundances[blurred.labels == 1][:, 2].max() > 0.05
    sphere = make_particle_phantom((96, 96), **kw)
    assert sphere.abundances[sphere.labels == 1][:, 2].min() > 0  # seen through the shell


@pytest.mark.parametrize(("kw", "match"), [
    ({"profile": "cube"}, r"'profile' parameter must be 'sphere' or 'plateau'"),
    ({"rim": 0}, r"'rim' parameter must be a positive number"),
    ({"blur": -1}, r"'blur' parameter must be a number >= 0"),
])
def test_particle_phantom_rejects_bad_profile_values(kw, match):
    with pytest.raises(SigmaValueError, match=match):
        make_particle_phantom((32, 32), **kw, **AXIS)
