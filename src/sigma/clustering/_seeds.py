"""Seeds of the splits of step 6 (:mod:`sigma.clustering._split`): sets of pixels, chosen on
the choosing half ``y1`` of the counts alone, that may hold a phase their label hides. Each is
tested on the other half by :mod:`~sigma.clustering._split`; a seed only decides what is tried.

Four kinds, tried in this order when no start cluster seeds a split:

- **pieces** (:func:`_piece_seeds`): a label's connected pieces (particles, grains) grouped in
  two by their summed counts;
- **smoothed** (:func:`_smooth_seeds`): a label's pixels split in two by their band fractions
  averaged over a neighbourhood of the same label;
- **depth** (:func:`_depth_seeds`): the centres of a label's pieces, apart from their rims (a
  core inside a shell of a look-alike phase);
- **label** (:func:`_label_seeds`): a two-spectrum fit of a label's pixels, pixel by pixel.

**Smoothed seeds.** Touching particles of two look-alike phases form one connected piece, so
no grouping of pieces parts them, and pixel by pixel their counts do not (a two-spectrum fit
cuts centres from rims). Averaged over a Gaussian neighbourhood of
:data:`SMOOTH_SEED_SIGMAS` pixels, inside the label only, a pixel's band fractions carry
several pixels' counts; the first principal axis of these fractions (in the chi-square
metric) then follows the phases rather than the noise, and its two sides are refined by
alternating two spectra with the side each pixel's neighbourhood favours
(:func:`_refine_sides`). On a helper's TEM map of touching Pt and Pt₃Ni particles on carbon
(300 kV, 15 counts per particle pixel, binned 2×2; not of this project's generator) the
label that held both (168 Pt and 258 Pt₃Ni pixels) gave a seed of 154 Pt, 2 Pt₃Ni and 7
film pixels; its split passed the residual test (``z`` 12.1, ``z_piece`` 10.0): 5 phases of 5,
4 before. A smoothed seed also follows any gradient inside a label (silica shells nearer
their magnetite cores than others), so it is tested by the residual test alone (beyond every
combination of the rest of its label and its neighbours, interior pixels); by the summed-count
tests, two such groups of shells were split off silica in maps 7 and 23 of
:func:`sigma.synthetic.family.family_specs` (``G`` 189-335, ``rho`` 0.54-0.69). And it is
tested against every phase of the map, not only the labels it touches: a seed gathers the
small inclusions its label took in, wherever they are (on another helper's SEM map of tiny
zircon and apatite inclusions at 10 counts a pixel, 89 quartz pixels round 4 zircon pixels
were split off quartz at ``z`` 16.6, and two groups of albite round apatite at 5.7 and 6.6:
8 phases of 6).

**Depth seeds.** A core inside a shell of a look-alike phase (Ni in NiO) shares its label with
the shell, and every particle is one piece that holds both: the pieces cannot be grouped
apart, and a neighbourhood of a core's rim mixes the two. The centres of the pieces (at least
:data:`DEPTH_SEED_FRACTION` of the piece's depth inside it) hold the cores, seen through their
shells. On a helper's TEM map of Ni/NiO and Au/SiO₂ core–shell particles, TiO₂, CeO₂ and Pt on
carbon (300 kV, 15 counts per particle pixel, binned 2×2; not of this project's generator), the
centres of the Ni/NiO label (91 pixels) passed the residual test (``z`` 6.3, ``z_piece`` 4.1):
8 phases of 8, 7 before. They are tested as the smoothed seeds are (a seed also follows any
difference between centres and rims: thickness, a film share).
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


def _bars(y1, lp1):
    """``(crit, crit1, p1)``: the chi-square critical values of a seed's deviance over every band
    and along one direction (the residual test of :func:`~sigma.clustering._split._try_piece_split`),
    at :data:`NEW_PHASE_ALPHA`, and the label spectra ``exp(lp1)``."""
    from scipy.stats import chi2

    return (float(chi2.isf(NEW_PHASE_ALPHA, y1.shape[1] - 1)), float(chi2.isf(NEW_PHASE_ALPHA, 1)),
            np.exp(lp1.astype(np.float64)))


def _seeding_labels(lab, valid, k):
    """``(c, mask)`` for each label ``c < k`` with at least :data:`LABEL_SEED_MIN_PIXELS`
    pixels of ``valid``."""
    for c in range(k):
        m = (lab == c) & valid
        if m.sum() >= LABEL_SEED_MIN_PIXELS:
            yield c, m


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

    crit, crit1, p1 = _bars(y1, lp1)  # crit1: a seed tested along one direction (_try_piece_split)
    out = []
    for c, m in _seeding_labels(lab, valid, len(lp1)):
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


#: Widths (standard deviations, in analysis pixels) of the neighbourhoods over which
#: :func:`_smooth_seeds` averages a label's band fractions; one seed per width and label.
SMOOTH_SEED_SIGMAS = (1.0, 2.0)
#: The fractions are smoothed along this many principal axes of the label's unsmoothed
#: fractions (all bands when there are fewer), and split along the first axis of the result.
SMOOTH_SEED_AXES = 8
#: Most alternations of two spectra and the sides their neighbourhoods favour
#: (:func:`_refine_sides`).
SMOOTH_SEED_ITERATIONS = 10


def _smooth_seeds(y1, lp1, lab, valid, n_xray, min_counts):
    """Seeds from a label's neighbourhoods, on the choosing half ``y1`` alone (see the module
    description): for each label of :data:`LABEL_SEED_MIN_PIXELS` or more and each width of
    :data:`SMOOTH_SEED_SIGMAS`, the X-ray band counts (the first ``n_xray`` bands of ``y1``;
    bands with fewer than ``min_counts`` in the label left out) are averaged over a Gaussian
    neighbourhood inside the label, split in two along the first principal axis of their
    fractions (within the span of the first :data:`SMOOTH_SEED_AXES` axes of the unsmoothed
    fractions) and refined (:func:`_refine_sides`); the smaller side is a seed when it passes
    the screens of :func:`_piece_seeds`. Most significant first.

    Examples
    --------
    Two touching blocks of look-alike phases in one label (the last band twice as strong in
    the larger one; 6 and 12 columns), beside a label of another phase, at 30 counts a pixel:

    >>> rng = np.random.default_rng(2)
    >>> a, b = np.array([0.4, 0.3, 0.2, 0.1]), np.array([0.35, 0.25, 0.2, 0.2])
    >>> lab = np.zeros((12, 24), np.int32)
    >>> lab[:, 18:] = 1
    >>> p = np.where(np.arange(24)[None, :, None] < 6, a, b) * np.ones((12, 1, 1))
    >>> p[:, 18:] = [0.1, 0.1, 0.1, 0.7]
    >>> y1 = rng.poisson(30 * p).reshape(-1, 4).astype(np.float32)
    >>> lp1 = cm.log_spectra(cm.spectra_from_labels(y1, lab, 2)[0])
    >>> seed = _smooth_seeds(y1, lp1, lab, lab >= 0, 4, 5.0)[0]
    >>> int(seed[:, :6].sum()), int(seed[:, 6:].sum())  # of the 72 pixels of the smaller block
    (69, 0)
    """
    from scipy.ndimage import gaussian_filter

    h, w = lab.shape
    crit, crit1, p1 = _bars(y1, lp1)  # crit1: the residual test runs along one direction
    yx = y1[:, :n_xray].reshape(h, w, n_xray)
    out = []
    for c, m in _seeding_labels(lab, valid, len(lp1)):
        rows, cols = np.nonzero(m)
        pad = int(np.ceil(4 * max(SMOOTH_SEED_SIGMAS)))
        box = (slice(max(rows.min() - pad, 0), rows.max() + pad + 1),
               slice(max(cols.min() - pad, 0), cols.max() + pad + 1))
        mb = m[box]
        ym = yx[m]
        tot = ym.sum(0, dtype=np.float64)
        bands = tot >= min_counts
        if bands.sum() < 2:
            continue
        mu = (tot[bands] / tot[bands].sum()).astype(np.float32)
        yc = ym[:, bands]
        n = yc.sum(1)
        # the span of the first principal axes of the unsmoothed fractions (chi-square metric):
        # smoothing the counts projected on it smooths r + 1 channels, not every band
        z = (yc / np.maximum(n, 1.0)[:, None] - mu) / np.sqrt(mu)
        u = _principal_axes(z, SMOOTH_SEED_AXES) / np.sqrt(mu)[:, None]
        chans = np.zeros(mb.shape + (u.shape[1] + 1,), np.float32)
        chans[mb] = np.c_[yc @ u, n]
        for sg in SMOOTH_SEED_SIGMAS:
            sm = gaussian_filter(chans, (sg, sg, 0))[mb]
            # the smoothed fractions, in the chi-square metric, along those axes
            zs = sm[:, :-1] / np.maximum(sm[:, -1:], 1e-9) - (mu @ u)
            score = zs @ _principal_axes(zs, 1)[:, 0]
            side = _refine_sides(yc, mb, _two_means(score), sg)
            if side.all() or not side.any():
                continue
            minor = side if side.sum() <= (~side).sum() else ~side
            if minor.sum() < 3:
                continue
            mask = np.zeros((h, w), bool)
            mask[box][mb] = minor
            g = _seed_significance(y1[mask.ravel()].sum(0, dtype=np.float64), mask, c, lab,
                                   _with_rest(p1, c, y1, m & ~mask), crit, residual_crit=crit1)
            if g is not None:
                out.append((g, mask))
    return [mk for _, mk in sorted(out, key=lambda t: -t[0])]


#: A depth seed (:func:`_depth_seeds`) holds the pixels of a label's pieces at least this share
#: of their piece's greatest depth (distance to another label or the map's edge) inside it.
DEPTH_SEED_FRACTION = 0.6
#: Only pieces at least this deep (pixels) have a centre apart from their rim.
DEPTH_SEED_MIN_DEPTH = 3.0


def _depth_seeds(y1, lp1, lab, valid):
    """Seeds of cores seen through their shells, on the choosing half ``y1``: for each label
    of :data:`LABEL_SEED_MIN_PIXELS` or more, the centres of its pieces (pixels at least
    :data:`DEPTH_SEED_FRACTION` of their piece's depth inside it, pieces at least
    :data:`DEPTH_SEED_MIN_DEPTH` deep), when they pass the screens of :func:`_piece_seeds`.
    Most significant first.

    A core inside a shell of a look-alike phase (Ni in NiO) shares its label with it, and
    each particle is one piece holding both: no grouping of pieces parts them, and their
    neighbourhoods mix them. The centres of the pieces do.

    Examples
    --------
    Two discs whose centres hold another spectrum than their rims, beside another label:

    >>> rng = np.random.default_rng(0)
    >>> yy, xx = np.mgrid[:30, :40]
    >>> lab = np.full((30, 40), 1, np.int32)
    >>> d = np.minimum(np.hypot(yy - 14, xx - 10), np.hypot(yy - 14, xx - 29))
    >>> lab[d < 8] = 0
    >>> p = np.where((d < 4)[..., None], [0.5, 0.3, 0.2], [0.3, 0.3, 0.4])
    >>> p[lab == 1] = [0.1, 0.1, 0.8]
    >>> y1 = rng.poisson(40 * p).reshape(-1, 3).astype(np.float32)
    >>> lp1 = cm.log_spectra(cm.spectra_from_labels(y1, lab, 2)[0])
    >>> seed = _depth_seeds(y1, lp1, lab, lab >= 0)[0]
    >>> int((seed & (d < 4)).sum()), int((seed & (d >= 4)).sum())
    (74, 0)
    """
    from scipy import ndimage as ndi

    crit, crit1, p1 = _bars(y1, lp1)
    out = []
    for c, m in _seeding_labels(lab, valid, len(lp1)):
        depth = ndi.distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1]
        pieces, n = ndi.label(m, structure=np.ones((3, 3), bool))
        deepest = np.r_[0.0, ndi.maximum(depth, pieces, np.arange(1, n + 1))][pieces]
        mask = m & (deepest >= DEPTH_SEED_MIN_DEPTH) & (depth >= DEPTH_SEED_FRACTION * deepest)
        if mask.sum() < 3 or (m & ~mask).sum() < 3:
            continue
        g = _seed_significance(y1[mask.ravel()].sum(0, dtype=np.float64), mask, c, lab,
                               _with_rest(p1, c, y1, m & ~mask), crit, residual_crit=crit1)
        if g is not None:
            out.append((g, mask))
    return [mk for _, mk in sorted(out, key=lambda t: -t[0])]


def _principal_axes(z, r: int) -> np.ndarray:
    """``(B, min(r, B))`` the first ``r`` principal axes of the rows of ``z`` (centred)."""
    zc = z - z.mean(0)
    return np.linalg.eigh(zc.T @ zc)[1][:, ::-1][:, :r].astype(np.float32)


def _two_means(v, iters: int = 50) -> np.ndarray:
    """The upper side of the two-means split of the values ``v`` (1-D), started at the median.

    Examples
    --------
    >>> _two_means(np.array([0.0, 0.1, 0.2, 5.0, 5.1])).tolist()
    [False, False, False, True, True]
    """
    t = float(np.median(v))
    for _ in range(iters):
        lo, hi = v[v <= t], v[v > t]
        if not lo.size or not hi.size:
            break
        t_new = 0.5 * (float(lo.mean()) + float(hi.mean()))
        if t_new == t:
            break
        t = t_new
    return v > t


def _refine_sides(counts, mask, side, sigma):
    """Two sides of the pixels ``mask`` (``counts``: their band counts, ``side``: bool, one
    per pixel) refined: each side's spectrum from its summed counts, each pixel's
    log-likelihood ratio between them averaged over a Gaussian neighbourhood of width
    ``sigma`` inside ``mask``, each pixel to the side that average favours; until nothing
    moves, :data:`SMOOTH_SEED_ITERATIONS` times at most."""
    from scipy.ndimage import gaussian_filter

    yc = np.asarray(counts, dtype=np.float32)
    total = yc.sum(0, dtype=np.float64)
    den = np.maximum(gaussian_filter(mask.astype(np.float32), sigma)[mask], 1e-6)
    img = np.zeros(mask.shape, np.float32)
    for _ in range(SMOOTH_SEED_ITERATIONS):
        if side.all() or not side.any():
            break
        a = side.astype(np.float32) @ yc
        la, lb = cm.log_spectra(np.stack([a, total - a]))
        img[mask] = yc @ (la - lb)
        new = gaussian_filter(img, sigma)[mask] / den > 0
        if np.array_equal(new, side):
            break
        side = new
    return side
