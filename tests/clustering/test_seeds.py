"""Seeds of the splits of step 6: pieces, smoothed neighbourhoods, pieces' centres, two-spectrum
fits."""

from __future__ import annotations

import numpy as np
from _split_maps import (  # this folder: pytest puts it on sys.path
    _film_and_phase,
    _particle_counts,
    _particles,
    _run,
    _touching_pairs,
)
from sklearn.metrics import adjusted_rand_score

from sigma.clustering import _count_model as cm


def _splits_without(seeds, counts, lab, seed):
    """The split decisions of ``_run`` with the seed finder ``seeds`` of ``_split`` offering none."""
    from sigma.clustering import _split

    kept = getattr(_split, seeds)
    setattr(_split, seeds, lambda *args: [])
    try:
        _, decisions = _run(counts, lab, lab, seed)
    finally:
        setattr(_split, seeds, kept)
    return [d for d in decisions if d["step"] == "split"]


def test_pieces_are_joined_in_the_order_of_the_merge_path():
    """``_two_groups`` joins the pair that loses least first, as ``merge_cost`` picks it."""
    from sigma.clustering._seeds import _two_groups

    rng = np.random.default_rng(5)
    base = rng.dirichlet(np.ones(8) * 3, size=3)
    sums = np.concatenate([rng.poisson(200 * np.repeat(base[:2], 3, 0)), rng.poisson(80 * base[2:])]).astype(float)
    groups, s = [[i] for i in range(len(sums))], sums.copy()
    while len(groups) > 2:  # the slow reference: merge_cost over the groups' sums
        _, a, b = cm.merge_cost(s)
        s[a] += s[b]
        groups[a] += groups[b]
        s, groups = np.delete(s, b, 0), groups[:b] + groups[b + 1 :]
    assert sorted(map(sorted, _two_groups(sums))) == sorted(map(sorted, groups))


def test_touching_particles_of_two_look_alikes_are_split_by_smoothed_seeds():
    """Eight pairs of touching particles (radius 4.5 pixels, 40 counts a particle pixel), one
    of each of two look-alike phases (three bands of sixteen 80 % stronger) in every pair, in
    one label on a film. Every piece holds both phases, so no grouping of pieces parts them:
    without the smoothed seeds nothing is split (seeds 0-5). With them, each map is split
    (0.4-0.8 nats a pixel; by the residual test, z 7.6-13.2) and the particles' labels follow
    the phases (ARI over the particle pixels 0.62-0.96). Pairs of one phase stay one phase."""
    from sigma.clustering._split import PIECE_MIN_Z, RESIDUAL_MIN_Z

    for seed in range(6):
        rng = np.random.default_rng(seed)
        film, a = _film_and_phase(rng)
        b = a.copy()
        b[-3:] *= 1.8
        truth = _touching_pairs(8, 4.5, 80, seed)
        counts = _particle_counts(truth, np.stack([film, a, b / b.sum()]), rng, particle=40.0)
        lab = (truth > 0).astype(np.int32)
        out, decisions = _run(counts, lab, lab, seed)
        (d,) = [d for d in decisions if d["step"] == "split"]
        assert d["seed"] == "smoothed" and d["z"] > RESIDUAL_MIN_Z and d["z_piece"] >= PIECE_MIN_Z
        assert {int(np.bincount(out[truth == p]).argmax()) for p in range(3)} == {0, 1, 2}
        on = truth > 0
        assert adjusted_rand_score(truth[on], out[on]) > 0.6
        assert _splits_without("_smooth_seeds", counts, lab, seed) == []
        one = _particle_counts(on.astype(np.int32), np.stack([film, a]), rng, particle=40.0)
        out, decisions = _run(one, lab, lab, seed)
        assert [d for d in decisions if d["step"] == "split"] == [] and np.array_equal(out, lab)


def test_cores_in_shells_of_a_look_alike_are_split_by_depth_seeds():
    """Eight particles (radius 7 pixels, 60 counts a particle pixel) on a film, each with a
    core (radius 4) whose pixels hold 60 % of a look-alike of the shell (three bands of sixteen
    three times stronger) and 40 % of the shell, all in one label. Seeds 2-5 (measured): no
    piece grouping nor smoothed seed splits them, the pieces' centres do (``z`` 11.2-15.8): the
    new phase holds 43-57 % of the core pixels and nothing else (the cores' rims, mixed with
    their shells, stay with them at this step). Without the depth seeds nothing is split."""
    from scipy import ndimage as ndi

    from sigma.clustering._split import PIECE_MIN_Z, RESIDUAL_MIN_Z

    for seed in range(2, 6):
        rng = np.random.default_rng(seed)
        film, a = _film_and_phase(rng)
        b = a.copy()
        b[-3:] *= 3.0
        truth = _particles([7.0] * 8, [1] * 8, size=80, seed=seed)
        pieces, n = ndi.label(truth > 0)
        yy, xx = np.mgrid[:80, :80]
        for cy, cx in ndi.center_of_mass(truth > 0, pieces, range(1, n + 1)):
            truth[((yy - cy) ** 2 + (xx - cx) ** 2 <= 16) & (truth > 0)] = 2
        core = 0.6 * b / b.sum() + 0.4 * a
        counts = _particle_counts(truth, np.stack([film, a, core]), rng, particle=60.0)
        lab = (truth > 0).astype(np.int32)
        out, decisions = _run(counts, lab, lab, seed)
        (d,) = [d for d in decisions if d["step"] == "split"]
        assert d["seed"] == "depth" and d["z"] > 2 * RESIDUAL_MIN_Z and d["z_piece"] >= PIECE_MIN_Z
        assert (out[truth == 2] == 2).mean() > 0.4 and (truth[out == 2] == 2).mean() > 0.99
        assert _splits_without("_depth_seeds", counts, lab, seed) == []
