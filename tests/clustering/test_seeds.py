"""Seeds of the splits of step 6: pieces and two-spectrum fits."""

from __future__ import annotations

import numpy as np

from sigma.clustering import _count_model as cm


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
