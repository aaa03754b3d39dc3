"""Seeds of the splits of step 6 (:mod:`sigma.clustering._split`): sets of pixels, chosen on
the choosing half ``y1`` of the counts alone, that may hold a phase their label hides. Each is
tested on the other half by :mod:`~sigma.clustering._split`; a seed only decides what is tried.

Two kinds, tried in this order when no start cluster seeds a split:

- **pieces** (:func:`_piece_seeds`): a label's connected pieces (particles, grains) grouped in
  two by their summed counts;
- **label** (:func:`_label_seeds`): a two-spectrum fit of a label's pixels, pixel by pixel.
"""

from __future__ import annotations

import numpy as np

from . import _count_model as cm
from ._phase_steps import MIXTURE_RATIO, NEW_PHASE_ALPHA, _contacts

#: A label needs this many pixels to seed a split from inside (:func:`_label_seeds`,
#: :func:`_piece_seeds`).
LABEL_SEED_MIN_PIXELS = 20
#: The pieces of a label grouped by :func:`_piece_seeds`: its largest connected pieces of at
#: least 2 pixels, this many at most (the rest stay with the label's other side).
PIECES_MAX = 64


def _merge_g(a, b):
    """``G`` of "one spectrum" against "two" for rows of ``a`` against rows of ``b`` (broadcast
    over the leading axes), as :func:`~sigma.clustering._count_model.merge_cost` counts it."""
    def own(s):
        return (s * np.log((s + cm.PSEUDO) / (s + cm.PSEUDO).sum(-1, keepdims=True))).sum(-1)

    return 2 * (own(a) + own(b) - own(a + b))


def _two_groups(sums):
    """The rows of ``sums`` joined, the pair whose merge loses least first (as the merge path
    of :func:`~sigma.clustering._phase_steps._merge_path`), until two groups are left: a list
    of two lists of row indices."""
    s = np.asarray(sums, dtype=np.float64).copy()
    n = len(s)
    groups = [[i] for i in range(n)]
    g = _merge_g(s[:, None, :], s[None, :, :])
    np.fill_diagonal(g, np.inf)
    alive = np.ones(n, bool)
    for _ in range(n - 2):
        a, b = sorted(np.unravel_index(np.argmin(g), g.shape))
        s[a] += s[b]
        groups[a] += groups[b]
        alive[b] = False
        g[b, :] = g[:, b] = np.inf
        others = alive & (np.arange(n) != a)
        g[a, others] = g[others, a] = _merge_g(s[a], s[others])
    return [groups[i] for i in np.flatnonzero(alive)]


def _with_rest(p, c, y, rest):
    """``p`` (K, B) with label ``c``'s spectrum replaced by that of the pixels ``rest`` (its
    pixels without the seed's) in counts ``y`` (N, B)."""
    s = y[rest.ravel()].sum(0, dtype=np.float64)
    out = p.copy()
    out[c] = s / max(s.sum(), 1.0)
    return out


def _piece_seeds(y1, lp1, lab, valid):
    """Seeds of new spectra from whole connected pieces of the labels, on the choosing half
    ``y1`` alone: a label's pieces (particles, grains; :data:`PIECES_MAX` largest) are joined
    by their summed counts into two groups, and the group of fewer pixels is a seed when its
    summed counts are neither one of the spectra nor a mixture of the label and the labels it
    touches (the screens of :func:`_label_seeds`). Most significant first.

    A particle's pixels are mostly its rim, shared with the film: pixel by pixel, the rims of
    two particle phases differ less from each other than from the particles' centres, and a
    two-spectrum fit of the label's pixels (:func:`_label_seeds`) cuts centres from rims. A
    whole particle's summed counts carry its phase; so do a grain's.
    """
    from scipy.ndimage import label as cc_label
    from scipy.stats import chi2

    crit = float(chi2.isf(NEW_PHASE_ALPHA, y1.shape[1] - 1))
    crit1 = float(chi2.isf(NEW_PHASE_ALPHA, 1))  # a seed tested along one direction (_try_piece_split)
    p1 = np.exp(lp1.astype(np.float64))
    out = []
    for c in range(len(lp1)):
        m = (lab == c) & valid
        if m.sum() < LABEL_SEED_MIN_PIXELS:
            continue
        pieces, n = cc_label(m, structure=np.ones((3, 3)))
        sizes = np.bincount(pieces.ravel(), minlength=n + 1)
        sizes[0] = 0
        ids = np.argsort(-sizes, kind="stable")[:PIECES_MAX]
        ids = ids[sizes[ids] >= 2]
        if len(ids) < 2:
            continue
        rank = np.full(n + 1, -1)
        rank[ids] = np.arange(len(ids))
        sums = cm.group_sums(y1, rank[pieces], len(ids))  # one pass, not one mask per piece
        groups = _two_groups(sums)
        minor = min(groups, key=lambda gr: sizes[ids[gr]].sum())
        mask = np.isin(pieces, ids[minor])
        # the label's spectrum is that of its interior pixels, which may be the seed's own:
        # the seed is compared with the rest of the label instead
        g = _seed_significance(sums[minor].sum(0), mask, c, lab, _with_rest(p1, c, y1, m & ~mask), crit,
                               residual_crit=crit1)
        if g is not None:
            out.append((g, mask))
    return [m for _, m in sorted(out, key=lambda t: -t[0])]



#: The two spectra of a larger label are fitted on this many of its pixels (evenly spaced).
LABEL_SEED_FIT_PIXELS = 4000


def _label_seeds(y1, lp1, lab, valid, iters: int = 20):
    """Seeds of new spectra from inside the labels, on the choosing half ``y1`` alone: for
    each label, a two-spectrum mixture of its pixels (EM, started from the two sides of the
    first principal axis of their band fractions); the smaller side is a seed when its summed
    counts are neither the label's spectrum nor one of the others (deviance above the
    critical value at ``NEW_PHASE_ALPHA``, on the half counts) nor a mixture of the label and
    the labels it touches (:data:`MIXTURE_RATIO`: a grain's rim, whose split the test would
    reject anyway, at the cost of a relabelling of the map). Most significant first."""
    from scipy.stats import chi2

    h, w = lab.shape
    flat = lab.ravel()
    crit = float(chi2.isf(NEW_PHASE_ALPHA, y1.shape[1] - 1))
    p1 = np.exp(lp1.astype(np.float64))
    out = []
    for c in range(len(lp1)):
        idx = np.flatnonzero((flat == c) & valid.ravel())
        if idx.size < LABEL_SEED_MIN_PIXELS:
            continue
        yc = y1[idx]
        fit = yc[:: -(-idx.size // LABEL_SEED_FIT_PIXELS)]  # every n-th pixel of a large label
        f = np.sqrt(fit / np.maximum(fit.sum(1, keepdims=True), 1.0))
        f -= f.mean(0)
        axis = np.linalg.svd(f, full_matrices=False)[2][0]
        side = f @ axis > 0
        if side.all() or not side.any():
            continue
        sums = np.stack([fit[~side].sum(0), fit[side].sum(0)])
        lp2, lw2, _, _ = cm.em(fit, cm.log_spectra(sums), cm.log_weights(np.array([(~side).sum(), side.sum()])),
                               iters)
        s2 = yc @ lp2.T + lw2  # every pixel of the label to the side that explains it best
        minor = int(np.argmin(np.bincount(s2.argmax(1), minlength=2)))
        sel = s2.argmax(1) == minor
        if sel.sum() < 3 or sel.all():
            continue
        mask = np.zeros(h * w, bool)
        mask[idx[sel]] = True
        mask = mask.reshape(h, w)
        g = _seed_significance(yc[sel].sum(0, dtype=np.float64), mask, c, lab, p1, crit)
        if g is not None:
            out.append((g, mask))
    return [m for _, m in sorted(out, key=lambda t: -t[0])]


def _seed_significance(total, mask, c, lab, p1, crit, residual_crit=None):
    """Deviance of a seed's summed counts ``total`` (pixels ``mask``, from label ``c``) from
    the nearest of the spectra ``p1``, or ``None`` when it is not above ``crit`` or the counts
    are a mixture of the label and the labels the seed touches (:data:`MIXTURE_RATIO`; with
    ``residual_crit``, not when the deviance from that mixture is still above it)."""
    g = cm.deviance_to_nearest(total, p1)
    if g <= crit:
        return None
    # the rim of a grain against its neighbours is a mixture of the label and them, not a seed
    nb = [c] + _contacts(np.where(mask, -2, lab), -2, [j for j in range(len(p1)) if j != c])[:3]
    rho, _, mix = cm.mixture_ratio(total, p1, p1[nb])
    return g if rho > MIXTURE_RATIO or (residual_crit is not None and mix > residual_crit) else None


