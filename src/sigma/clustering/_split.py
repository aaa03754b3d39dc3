"""Step 6 of :func:`sigma.clustering.auto_k.find_phases`: phases that the merge path joined,
split off again, with a test that stays honest although the split is chosen from the data.

Two look-alike phases (enstatite and forsterite, Mg/Si 1 and 2) at a few tens of counts a
pixel overlap pixel by pixel: the mixture of the merge path sees little likelihood in keeping
them apart and the BIC's penalty joins them, although their summed counts differ by hundreds
of nats and the over-segmentation often had a cluster for the smaller one. Such a start
cluster seeds one more spectrum; whether the phase it picks out is real is decided by *count
splitting* (binomial thinning): every count of every pixel goes to ``y1`` or ``y2`` with
probability 1/2, so ``y1`` and ``y2`` are independent Poisson counts given the pixels'
spectra. The pixels of the new label are chosen from ``y1`` alone (Potts-smoothed labels,
starting from the current labels, not from the start cluster), and their ``y2`` counts are
compared with those of the rest of the label they came from: if both hold one spectrum, the
statistic ``G`` (:func:`~sigma.clustering._count_model.two_sample_g`, interior pixels, X-ray
bands) is chi-square with ``B - 1`` degrees of freedom however the pixels were chosen, and
the split is kept above the critical value at
:data:`~sigma.clustering._phase_steps.NEW_PHASE_ALPHA`. Testing the counts that chose the
pixels would not be: opening every start cluster that passes the test of a new phase
(``G`` of its summed counts above the critical value, not a mixture) and keeps an interior
gave 7 of the 24 maps of :func:`sigma.synthetic.family.family_specs` one phase too many
(splits of 300-2600 pixels with ``G`` 1.1-3 times the critical value, and TEM films and
particles split by thickness); with count splitting none, and the enstatite of case 0 (10
counts a pixel, ``G`` = 193, critical value 114) is still found.

Significance grows with the pixels, so a split must also carry :data:`SPLIT_MIN_NATS` of
evidence per pixel (a difference that no pixel's counts can show maps nothing). A
significant split must still be a phase: its summed counts are not a mixture of the labels
it touches (:data:`~sigma.clustering._phase_steps.MIXTURE_RATIO`; a band of graded or mixed
pixels inside a grain differs from the rest of it, too), and relabelled with the full counts
it keeps an interior pixel or is a thin phase.

**Seeds from inside the labels.** The start clusters spend their number where the pixels are
(a film covering 90 % of a TEM map gets most of them), so two small particle phases can share
every start cluster and end up in one label: no start cluster seeds them apart, and the search
for unexplained pixels (step 5) does not see them either, because every pixel of that label
is as badly explained as the others. When no start cluster seeds a split, each label's pixels
are fitted with two spectra on the choosing half ``y1``
(:func:`~sigma.clustering._seeds._label_seeds`), and the smaller side seeds the same test.
Measured on TEM maps of particles on a faint film (128×128 at 20 and 60 counts per particle
pixel, binned 2×2; :func:`sigma.synthetic.family.make_particle_phantom` with
``profile='plateau'``) started from four squares that follow no phase: 6 phases of 6 in
16 of 16 maps, 12 of 16 before (ceria and titania, or magnetite and silica, in one label).
A seed that is a mixture of the label and its neighbours (a grain's rim) is not tried: without
that screen every one of the 10 labels of map 21 of :func:`sigma.synthetic.family.family_specs`
seeded a split, each costing a relabelling of the map, and the test rejected them all (no
label-seeded split was kept on any of the 24 maps). With that screen and the two
spectra fitted on at most :data:`LABEL_SEED_FIT_PIXELS` pixels of a label, ``find_phases``
takes 0-8 % longer (1.02 to 1.11 s on a 170×170 map of 10 phases; 8.0 s either way on 510×510).

**Seeds from a label's pieces.** Binned 3×3 as shipped, a particle 6-12 pixels across on the
detector is 2-4 analysis pixels across: it has no interior pixel, and most of its pixels
share counts with the film. Fitted pixel by pixel, a label holding two such particle phases
is cut into bright centres and dim rims, and the spectrum of either side, relabelled on
``y1``, takes the whole label and more (a 90-pixel seed grew to 349 pixels on a 256×256 map of
silica, gold and ceria particles on a carbon film at 20 counts a particle pixel). A whole
particle's summed counts carry its phase, so the label's connected pieces are grouped in two
by their summed counts on ``y1`` (:func:`~sigma.clustering._seeds._piece_seeds`, the merge of
the merge path) and the smaller group is tested as it is (:func:`_try_piece_split`): on the
interior pixels of both sides when each holds :data:`SPLIT_MIN_COUNTS` a band, else on every
pixel of the pieces against every other pixel of the label. Testing every pixel always split 4
of the 24 maps of :func:`sigma.synthetic.family.family_specs` into one or two phases too many
(grains with a diffuse rim against sharp grains of the same phase); interior first, none.

A seed is no phase when it is a mixture of the *rest* of its label and the labels it touches
(the label's spectrum comes from its interior pixels, which may be the seed's own: silica
shells have none, so a label of shells and ceria particles has the ceria's spectrum, and the
ceria looked like a mixture of it and the film), by its summed counts (:data:`MIXTURE_RATIO`)
or pixel by pixel (``G_pixels``, :func:`~sigma.clustering._count_model.pixel_mixture_gain`,
above the critical value): small baryte inclusions in feldspars (a map not of this
project's generator), grouped by how much of their hosts their rims hold, passed the first
(``rho`` 0.82) and not the second (``G_pixels`` 34, critical value 110); the particle splits
above had ``G_pixels`` 267-368 (critical value 131).

The piece seeds are tried before the two-spectrum fit. Measured on that TEM map and its
60-count twin (not of this project's generator): binned 3×3, 5 and 6 phases of 6, 4 and 5
before; binned 2×2 (particles 3-6 pixels across, with interiors whose counts do not tell gold
from ceria), 5 and 5, 4 and 5 before. The 24 maps' labels are unchanged (K exact in 24 of 24,
every ARI equal).

**Piece splits below a nat a pixel, or that look like mixtures.** Particles on a film hold
the film in shares that vary with their thickness, so the summed counts of one group of them
are close to a mixture of the rest and the film even when their phases differ (``rho`` below
:data:`MIXTURE_RATIO`), and two look-alike phases differ by less than a nat a pixel. Such a
piece seed is still a phase when the counts of its *interior* pixels, beyond every combination
of the rest of its label and the labels it touches (either sign: thicker particles hold less
film than the rest, which no convex mixture gives), differ along the direction that the
choosing half shows (:func:`_residual_contrast`): ``z`` above :data:`RESIDUAL_MIN_Z` (the
one-sided normal quantile of ``NEW_PHASE_ALPHA``) and ``z_piece`` above :data:`PIECE_MIN_Z`
(the difference in standard errors of one of its pieces: a difference that maps). On a
helper's TEM map of iron and nickel oxide particles on carbon (300 kV, binned 2×2, not of
this project's generator), nickel and nickel oxide shared a label; their pieces passed ``G``
(540, critical value 116) but not ``G_pixels`` (-413), and the residual split them (``z``
17.6, ``z_piece`` 15.3): 5 phases of 6, 4 before. Each part of the test was forced by a
false split:

- every pixel of the seed, rims included, split 7 pixels of zircon inclusions off zircon
  (``z`` 5.9, another helper's SEM map at 100 counts/px: 8 phases of 6) and galena off galena
  in family case 9 (``z`` 24: 12 of 9); a rim mixes with more neighbours than the test holds;
- a convex mixture split thick zinc oxide particles off thin ones (``z`` 5.9, 8 phases of 6);
- the combination fitted on the choosing half alone biased ``z`` (mean 0.35-0.8 over draws of
  one phase): it is fitted again on the test half, and over 300 draws ``z`` has mean 0.05 and
  spread 0.98 (``tests/clustering/test_split.py``);
- bands of a few expected counts gave ``z`` 7.8 for 5 interior pixels of ceria against 18; a
  band needs :data:`SPLIT_MIN_COUNTS` on the choosing half to set the direction.

The 24 maps of :func:`sigma.synthetic.family.family_specs` keep every K and ARI. The test has
little power on small differences (the direction is estimated from half of the counts):
iron(III) oxide particles among magnetite on the same map are not split, and there the true
partition itself gives ``z`` 2-3.
"""

from __future__ import annotations

import numpy as np

from . import _count_model as cm
from ._phase_steps import MIXTURE_RATIO, NEW_PHASE_ALPHA, _contacts, _new_phase, _open_phase, _r
from ._seeds import _depth_seeds, _label_seeds, _piece_seeds, _smooth_seeds, _with_rest

#: Evidence a split must carry per pixel, in nats: ``G`` of the test half over the new phase's
#: interior pixels (the mean log-likelihood ratio of a pixel's full counts between the two
#: spectra, about), as much as one agreeing neighbour weighs in the labels at the default
#: smoothness. Significance alone grows with the pixels: on a 512×384 map (family case 22
#: tiled 3×3) three large phases were split at ``G`` 1.4-3 times the critical value, 0.01-0.02
#: nats a pixel, differences no pixel's counts can show. The enstatite split off forsterite in
#: case 0 (10 counts/px) carries about 4.5; the start clusters are screened the same way on
#: their full counts before the split is tried.
SPLIT_MIN_NATS = 1.0
#: Counts (on the test half) a split's interior pixels must hold, per band: the chi-square law
#: of ``G`` needs about 5 expected counts in a band. A film patch of 40 counts over 64 bands
#: gave ``G`` = 138 (critical value 113) with pseudo-counts and is not tested.
SPLIT_MIN_COUNTS = 5.0
#: A piece split with less than :data:`SPLIT_MIN_NATS` a pixel is kept when its counts beyond
#: the best mixture of the rest of its label and the labels it touches are this many standard
#: errors along the direction the choosing half shows (:func:`_residual_contrast`; the normal
#: quantile of :data:`~sigma.clustering._phase_steps.NEW_PHASE_ALPHA`, one-sided)...
RESIDUAL_MIN_Z = 4.75
#: ... and this many standard errors of one of its pieces alone: a difference that maps.
PIECE_MIN_Z = 3.0
#: Standard errors by which each band's residual on the choosing half is shrunk before it
#: sets the direction of :func:`_residual_contrast` (soft thresholding).
RESIDUAL_SHRINK = 2.0


def split_phases(y, yx, rate_of, start, lab, logp, logpi, scores, valid, beta, rate, rounds, decisions,
                 random_state):
    """Split phases off the labels ``lab`` (see the module description), ``rounds`` at most.

    ``y``: the counts as modelled (with the count-rate band when ``rate``); ``yx``: the X-ray
    band counts alone; ``rate_of``: adds the count-rate band to X-ray counts; ``start``: the
    over-segmentation (its clusters seed the splits). Returns ``(labels, log spectra, log
    weights, scores)``, unchanged when nothing is split or the counts are not whole numbers
    (thinning needs counts). Decisions are appended to ``decisions``.
    """
    if yx.min() < 0 or not np.array_equal(yx, np.round(yx)):
        return lab, logp, logpi, scores
    y1 = y2 = None
    k0 = int(start.max()) + 1
    ids = list(range(k0))
    for _ in range(int(rounds)):
        # start clusters that are neither one of the spectra nor a mixture, most significant first
        tests = [(s, _new_phase(y, logp, lab, [start == s])[1]) for s in ids]
        tests = [(s, st) for s, st in tests if st is not None and st["G"] >= SPLIT_MIN_NATS * st["pixels"]]
        cands = [s for s, _ in sorted(tests, key=lambda t: -t[1]["G"])]
        ids = [s for s in ids if s not in cands]
        if y1 is None:  # thinned once
            y1 = np.random.default_rng(random_state).binomial(yx.astype(np.int32), 0.5).astype(np.float32)
            y2 = yx - y1
            y1 = rate_of(y1)
        # the current spectra on the choosing half, and each pixel's score under its label
        lp1 = cm.log_spectra(cm.spectra_from_labels(y1, lab, len(logp))[0])
        own = (y1 @ lp1.T)[np.arange(len(y1)), np.clip(lab.ravel(), 0, None)]
        found = None
        for s in cands:
            found = _try_split(y, y1, y2, lp1, own, logp, lab, valid, beta, rate, start == s)
            if found is not None:
                ids += [c for c in cands if c != s]  # tried again against the new spectra
                break
        if found is None:
            # no start cluster seeds a phase: a label whose pixels two spectra explain better
            # than one (chosen on the first half of the counts alone, so the test on the
            # second half stays honest) seeds one; a particle phase that shares a start
            # cluster with another phase has no start cluster of its own
            for seed in _piece_seeds(y1, lp1, lab, valid):
                found = _try_piece_split(y, y1, y2, logp, lab, valid, beta, rate, seed)
                if found is not None:
                    break
        # touching particles of look-alike phases are one piece: their label's pixels, averaged
        # over their neighbourhoods, seed a split tested by the residual alone; so do the
        # pieces' centres (a core inside a shell of a look-alike: each particle holds both)
        for name, seeds, extra in (("smoothed", _smooth_seeds, (yx.shape[1], SPLIT_MIN_COUNTS)),
                                   ("depth", _depth_seeds, ())):
            if found is not None:
                break
            for seed in seeds(y1, lp1, lab, valid, *extra):
                found = _try_piece_split(y, y1, y2, logp, lab, valid, beta, rate, seed, strong=False)
                if found is not None:
                    found[0]["seed"] = name
                    break
        if found is None:
            for seed in _label_seeds(y1, lp1, lab, valid):
                found = _try_split(y, y1, y2, lp1, own, logp, lab, valid, beta, rate, seed)
                if found is not None:
                    found[0]["seed"] = "label"
                    break
        if found is None:
            break
        stats, (lab, logp, logpi, scores) = found
        decisions.append(stats)
    return lab, logp, logpi, scores


def _try_split(y, y1, y2, lp1, own, logp, lab, valid, beta, rate, seed_mask):
    """``(statistics, (labels, log spectra, log weights, scores))`` of the split seeded by
    ``seed_mask`` when it passes the test and the new phase keeps an interior or is a thin
    phase, else ``None``."""
    m, stats = _split_test(y, y1, y2, lp1, own, logp, lab, valid, beta, seed_mask)
    if m is None:
        return None
    trial = _open_phase(y, m, lab, len(logp), valid, beta, rate)
    return None if trial is None else (stats, trial)


def _try_piece_split(y, y1, y2, logp, lab, valid, beta, rate, seed_mask, strong: bool = True):
    """The split of a piece seed (:func:`~sigma.clustering._seeds._piece_seeds`), tested as it is,
    without relabelling (the pieces were chosen whole, on ``y1``): the test half ``y2`` of its
    interior pixels against that of the rest of its label's, or of every pixel when either
    side's interior holds fewer than :data:`SPLIT_MIN_COUNTS` a band (a small particle has no
    interior pixel), by the statistic and the bars of :func:`_split_test`; then neither a
    mixture of the rest of the label and the labels it touches by its summed counts nor pixel
    by pixel (see the module description). ``strong=False`` (smoothed and depth seeds,
    :func:`~sigma.clustering._seeds._smooth_seeds`,
    :func:`~sigma.clustering._seeds._depth_seeds`): by the residual test of the interior alone,
    against every phase. ``(statistics, (labels, log spectra, log weights, scores))`` when it
    passes and the new phase keeps an interior or is a thin phase, else ``None``."""
    from scipy.stats import chi2

    k, nx = len(logp), y2.shape[1]
    crit = float(chi2.isf(NEW_PHASE_ALPHA, nx - 1))
    parent = int(np.bincount(lab[seed_mask], minlength=k).argmax())
    rest = (lab == parent) & ~seed_mask
    inner = cm.interior(lab)
    for new, old in ((seed_mask & inner, rest & inner), (seed_mask, rest)):
        a, b = y2[new.ravel()].sum(0, dtype=np.float64), y2[old.ravel()].sum(0, dtype=np.float64)
        if a.sum() >= SPLIT_MIN_COUNTS * nx and b.sum() >= SPLIT_MIN_COUNTS * nx:
            break
    else:
        return None
    n = int(new.sum())
    g = cm.two_sample_g(a, b)
    nb = [parent] + _contacts(np.where(seed_mask, -2, lab), -2, [j for j in range(k) if j != parent])[:3]
    stats = {"step": "split", "seed": "pieces", "pixels": int(seed_mask.sum()), "G": _r(g, 1), "critical": _r(crit, 1),
             "nats_per_pixel": _r(g / n, 2)}
    significant = strong and g > crit and g >= SPLIT_MIN_NATS * n
    if not _strong_split(y, logp, lab, seed_mask, parent, rest, nb, significant, crit, rate, stats):
        # too little difference a pixel, or like a mixture (or a smoothed seed, which follows
        # any gradient in its label and is tested this way only): still a phase when the
        # counts of its interior, beyond the best mixture of the rest of its label and the
        # labels it touches, differ along the direction the choosing half shows, clearly
        # enough for one piece alone (rims mix with more neighbours than the mixture holds)
        if new is seed_mask:
            return None
        # a smoothed seed gathers pixels from anywhere in its label, with any inclusion of
        # another phase the label took in: it is tested against every phase
        others = nb[1:] if strong else [j for j in range(k) if j != parent]
        refs = [old] + [_spectrum_pixels(lab, j, inner) for j in others]
        z, z_piece = _residual_contrast(y1[:, :nx], y2, new, refs)
        if z <= RESIDUAL_MIN_Z or z_piece < PIECE_MIN_Z:
            return None
        stats.update(z=_r(z, 1), z_piece=_r(z_piece, 1))
    trial = _open_phase(y, seed_mask, lab, k, valid, beta, rate)
    if trial is None:
        return None
    return {**stats, "parent_pixels": int((lab == parent).sum())}, trial


def _spectrum_pixels(lab, j, inner):
    """The pixels that give label ``j`` its spectrum: its interior pixels (``inner``), or all
    its pixels when it has fewer than :data:`~sigma.clustering._count_model.INTERIOR_MIN_PIXELS`
    (a phase of small inclusions), as :func:`~sigma.clustering._count_model.spectra_from_labels`
    takes them."""
    m = lab == j
    mi = m & inner
    return mi if mi.sum() >= cm.INTERIOR_MIN_PIXELS else m


def _strong_split(y, logp, lab, seed_mask, parent, rest, nb, significant, crit, rate, stats) -> bool:
    """Whether a piece seed whose test statistic is ``significant`` (above the critical value
    ``crit`` and :data:`SPLIT_MIN_NATS` a pixel) is no mixture of the rest of its label and
    the labels ``nb`` it touches, by its summed counts and pixel by pixel (statistics added
    to ``stats``)."""
    if not significant:
        return False
    k = len(logp)
    # a mixture of the rest of its label (not of the label's spectrum, which the seed's own
    # pixels weigh on) and the labels it touches is no phase
    p = _with_rest(np.exp(logp.astype(np.float64)), parent, y, rest)
    ys = y[seed_mask.ravel()]
    total = ys.sum(0, dtype=np.float64)
    rho = cm.mixture_ratio(total, p, p[nb])[0]
    stats["rho"] = _r(rho)
    if rho <= MIXTURE_RATIO:
        return False
    # pixel by pixel too: small inclusions of one phase, grouped by how much of their host
    # their rims hold, are per-pixel mixtures of the rest and the host although their summed
    # counts are none (see the module description)
    g_pix = cm.pixel_mixture_gain(ys, np.r_[p, (total / total.sum())[None]], k, nb, rate_band=rate)
    stats["G_pixels"] = _r(g_pix, 1)
    return g_pix > crit


def _residual_contrast(y1, y2, seed, refs):
    """``(z, z_piece)`` of the counts of the pixels ``seed`` beyond every combination of the
    counts of the pixels ``refs`` (a list of masks).

    The direction is taken from the choosing half ``y1`` alone: the seed's residual from the
    best convex mixture of the references, less what other shares of them (of either sign)
    take up, in the chi-square metric, each band shrunk by :data:`RESIDUAL_SHRINK` standard
    errors and bands of fewer than :data:`SPLIT_MIN_COUNTS` expected counts left out. ``z`` is
    the residual of the test half ``y2`` from the references' best combination on ``y2``,
    along that direction, over its standard error (the noise of the seed's counts and of the
    references'): standard normal when the seed is such a combination, whatever ``y1`` chose.
    ``z_piece`` is the same residual over the noise of one connected piece of the seed alone
    (the count-weighted mean of their counts).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> film, a = rng.dirichlet(np.ones(8), 2)
    >>> seed = rng.poisson(40 * (0.9 * a + 0.1 * film), (1, 30, 8))  # less film than the rest
    >>> rest = rng.poisson(40 * (0.6 * a + 0.4 * film), (1, 60, 8))
    >>> y = np.concatenate([seed, rest, rng.poisson(5 * film, (1, 300, 8))], 1).reshape(-1, 8)
    >>> y1 = rng.binomial(y, 0.5)
    >>> cols = np.arange(390)[None]
    >>> z, _ = _residual_contrast(y1, y - y1, cols < 30, [(cols >= 30) & (cols < 90), cols >= 90])
    >>> abs(z) < 3
    True
    """
    from scipy.ndimage import label as cc_label

    refs = [m for m in refs if m.any()]
    a1, a2 = (h[seed.ravel()].sum(0, dtype=np.float64) for h in (y1, y2))
    r1 = np.stack([y1[m.ravel()].sum(0, dtype=np.float64) for m in refs])
    r2 = np.stack([y2[m.ravel()].sum(0, dtype=np.float64) for m in refs])
    p1 = (r1 + cm.PSEUDO) / (r1 + cm.PSEUDO).sum(1, keepdims=True)
    w = cm.mixture_weights(a1, p1)
    q1 = w @ p1
    # the residual, less what any other shares would explain (either sign: the seed may hold
    # less of a neighbour than the rest of its label does), in the chi-square metric
    r = a1 / max(a1.sum(), 1e-9) - q1
    t = (p1 - q1).T / np.sqrt(q1)[:, None]

    def off_mixtures(u):
        return u - t @ np.linalg.lstsq(t, u, rcond=None)[0]

    # bands whose residual is noise only blur the direction: each band's residual (in its
    # standard errors) shrunk by RESIDUAL_SHRINK of them, towards zero
    u = off_mixtures(r / np.sqrt(q1)) * np.sqrt(a1.sum())
    u = np.sign(u) * np.maximum(np.abs(u) - RESIDUAL_SHRINK, 0.0)
    # nor do bands of too few expected counts to be near normal (SPLIT_MIN_COUNTS)
    u[a1.sum() * q1 < SPLIT_MIN_COUNTS] = 0.0
    d = off_mixtures(u) / np.sqrt(q1)
    n2, m2 = a2.sum(), r2.sum(1)
    if n2 <= 0 or (m2 <= 0).any():
        return 0.0, 0.0
    # on the test half, the seed's residual from the references' best (linear) combination
    # along d: e is d less what that combination takes up (in the chi-square metric)
    p2 = r2 / m2[:, None]
    wt = 1.0 / np.maximum(w @ p2, 1e-12)
    x = p2.T
    xtw = x.T * wt
    beta = np.linalg.lstsq(xtw @ x, xtw @ (a2 / n2), rcond=None)[0]
    e = d - wt * (x @ np.linalg.lstsq(xtw @ x, x.T @ d, rcond=None)[0])

    def var(p):  # variance of e over one count of band fractions p (rows)
        return p @ e**2 - (p @ e) ** 2

    q2 = np.clip(x @ beta, 0.0, None)
    q2 /= max(q2.sum(), 1e-12)
    resid = e @ (a2 / n2)
    v = var(q2) / n2 + float((beta**2 * var(p2) / m2).sum())
    pieces, npc = cc_label(seed, structure=np.ones((3, 3)))
    sizes = np.bincount(pieces[seed], weights=y2[seed.ravel()].sum(1), minlength=npc + 1)[1:]
    n_eff = float((sizes**2).sum() / max(sizes.sum(), 1e-9))
    if v <= 0 or n_eff <= 0:
        return 0.0, 0.0
    return float(resid / np.sqrt(v)), float(resid / np.sqrt(var(q2) / n_eff))


def _split_test(y, y1r, y2, lp1, own, logp, lab, valid, beta, seed_mask):
    """The pixels a new spectrum seeded by ``seed_mask`` takes, chosen on the half-counts
    ``y1r`` (``lp1``: the labels' spectra on them, ``own``: each pixel's score under its
    label), and the statistics of the split tested on ``y2``: ``(mask, statistics)`` or
    ``(None, None)``."""
    from scipy.stats import chi2

    k, nx = len(logp), y2.shape[1]
    crit = float(chi2.isf(NEW_PHASE_ALPHA, nx - 1))
    lps = np.r_[lp1, cm.log_spectra(y1r[seed_mask.ravel()].sum(0, keepdims=True))]
    init = np.where(valid & ((y1r @ lps[k:].T)[:, 0] > own).reshape(lab.shape), k, lab).astype(np.int32)
    t_lab = init
    for _ in range(2):
        t_lab, _ = cm.icm(y1r, lps, np.zeros(k + 1, np.float32), t_lab, valid, beta=beta, iters=5, mixed=False)
        if t_lab.max() < k:
            return None, None
        lps = np.r_[lp1, cm.log_spectra(cm.spectra_from_labels(y1r, t_lab, k + 1)[0][k:])]
    inner = cm.interior(t_lab)
    sel = t_lab == k
    parent = int(np.bincount(lab[sel], minlength=k).argmax())
    new, rest = sel & inner, (lab == parent) & (t_lab == parent) & inner
    a, b = y2[new.ravel()].sum(0, dtype=np.float64), y2[rest.ravel()].sum(0, dtype=np.float64)
    if a.sum() < SPLIT_MIN_COUNTS * nx or b.sum() < SPLIT_MIN_COUNTS * nx:
        return None, None
    g = cm.two_sample_g(a, b)
    if g <= crit or g < SPLIT_MIN_NATS * new.sum():
        return None, None
    p = np.exp(logp.astype(np.float64))
    nb = _contacts(np.where(sel, -2, lab), -2, list(range(k)))[:4]
    rho = cm.mixture_ratio(y[sel.ravel()].sum(0), p, p[nb])[0]
    if rho <= MIXTURE_RATIO:
        return None, None
    return sel, {"step": "split", "pixels": int(sel.sum()), "G": _r(g, 1), "critical": _r(crit, 1),
                 "nats_per_pixel": _r(g / new.sum(), 2), "rho": _r(rho), "parent_pixels": int((lab == parent).sum())}
