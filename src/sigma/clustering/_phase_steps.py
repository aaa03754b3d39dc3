"""The steps of :func:`sigma.clustering.auto_k.find_phases` after the over-segmentation: the merge
path, mixtures dropped, labels, new phases opened, labels without interior (see the description
of :mod:`sigma.clustering.auto_k`). Every step records its decisions with their statistics.
"""

from __future__ import annotations

import numpy as np

from . import _count_model as cm
from ._boundary import _share_floors, _thin_floors

#: A component is a mixture when a mixture of its neighbours leaves less than this share of
#: its deviance from the nearest single spectrum (measured: 0.003–0.2 for boundary bands,
#: 0.7–1.0 for phases on the phantom family of :mod:`sigma.synthetic.family`).
MIXTURE_RATIO = 0.25
#: A component with at least this share of interior pixels is never called a mixture. Measured:
#: boundary bands 0.0 (every mixture decision on the phantom family), the two halves of an
#: 8-pixel-wide gradient 0.16 and 0.34 (``tests/clustering/test_auto_k.py``); FePt particles
#: 5-8 analysis pixels across on a film, touching Pt and magnetite particles, 0.49 — dropped as
#: a mixture of them at 0.5. The family's and the independent maps' labels are the same at
#: 0.45 and 0.5. The margin is thin on both sides.
INTERIOR_MIN = 0.45
#: Robust z-score of a pixel's deviance above which it is "unexplained" (a candidate for a new
#: phase; the test of the connected group's summed counts decides). 4 missed a 3×3 inclusion
#: whose pixels each hold 8–20 nats of evidence; 2.5 finds it and opened no phase on the
#: phantom family of :mod:`sigma.synthetic.family` that 4 did not.
UNEXPLAINED_Z = 2.5
#: A faint phase (found by its 3×3 windows, :func:`_window_z`) is opened only when fewer than
#: this share of the map's pixels further than 3 pixels from it change label: a particle is a
#: local thing. On ``test_TEM.bcf`` the Pd particle moves none; on ``core_shell.hspy`` regions
#: of 3-5 pixels of the film, opened, took 37-41 pixels and moved 66 of 441 elsewhere (a
#: heterogeneous film cut again, not a particle), and the map went from 4 phases to 7.
FAINT_MAX_MOVED = 0.01
#: Significance level of the test that opens a new phase.
NEW_PHASE_ALPHA = 1e-6
#: Share of the Potts weight used by the mean-field pass of the final labels
#: (:func:`_final_labels`). At the full weight the mean field over-smooths (a pixel's own
#: evidence comes back to it through its neighbours' probabilities) and small low-contrast
#: grains lose their rim again. Mean ARI gain over one ICM sweep on the best-share scores, on
#: the cached inputs of the last step for the 24 maps of :func:`sigma.synthetic.family.family_specs`
#: with seed 0 / seed 1: share 0.25 +0.0034 / +0.0015, 0.5 +0.0041 / +0.0025, 0.75 +0.0030 /
#: +0.0019, 1.0 +0.0014 / +0.0010; worst single map -0.005 to -0.006 at every share.
MEAN_FIELD_SHARE = 0.5
#: Most rounds in which the final labels' interiors give the phase spectra again and the final
#: labels are made once more from them, from the same start labels (:func:`_final_labels`;
#: fewer when the labels stop changing). The spectra the final step starts from come from the
#: interiors of earlier labels, which on look-alike phases at low counts can be few: in case
#: 12 of the family of :mod:`sigma.synthetic.family` (ilmenite grains in ulvöspinel, 10 counts
#: per pixel) the ilmenite spectrum came from 47 pixels and lay 6.6° from that of its true
#: pixels, and 73 of its 218 pixels went to the host. Measured on the inputs of this step
#: captured from the 18 SEM maps of that family and the 14 independent SEM maps: case 12 ARI
#: 0.812 → 0.880 (1 round), 0.917 (3), 0.919 (6); every other map within -0.001 and +0.002 at
#: 3 rounds. A label with fewer than ``INTERIOR_MIN_PIXELS`` interior pixels keeps its spectrum:
#: from all its pixels, the spectra of tiny inclusions (every pixel mixed with the host) moved
#: from 2.5° and 4.1° to 6.0° and 6.3° from their true pixels' (two independent maps; case 12
#: 0.919 either way). Starting each round from the labels the round before made instead took a
#: ring off small grains every round (the Potts prior at low counts); spectra from all of a
#: label's pixels, or weighed by the mean field's probabilities, cost 0.005-0.025 on maps with
#: small grains, whose rims they mix in.
FINAL_SPECTRA_ROUNDS = 3


def _r(v, nd=3):
    return float(round(float(v), nd))


def _merge_path(y, logp, logpi, penalty, iters):
    """EM from the start spectra, then merge the closest pair down to one spectrum."""
    logp, logpi, r, ll = cm.em(y, logp, logpi, 30)
    states = {}
    while True:
        k = len(logpi)
        states[k] = (logp, logpi, ll, -2 * ll + penalty * k)
        if k == 1:
            return states
        sums, n = r.T @ y, r.sum(0)
        _, a, b = cm.merge_cost(sums)
        sums[a] += sums[b]
        n[a] += n[b]
        keep = np.arange(k) != b
        logp, logpi, r, ll = cm.em(y, cm.log_spectra(sums[keep]), cm.log_weights(n[keep]), iters)


def _contacts(lab2d, c, active, radius=2):
    """Labels among ``active`` that touch label ``c``, most contacts first."""
    from scipy.ndimage import maximum_filter

    m = lab2d == c
    ring = maximum_filter(m, size=2 * radius + 1, mode="constant") & ~m
    vals = lab2d[ring]
    vals = vals[np.isin(vals, active)]
    if vals.size == 0:
        return []
    ids, cnt = np.unique(vals, return_counts=True)
    return [int(i) for i in ids[np.argsort(-cnt, kind="stable")]]


def _drop_mixtures(y, logp, logpi, lab2d, valid, beta, decisions, candidates=None):
    """Flag mixture components one at a time (most mixture-like first), among ``candidates``
    (default: all); returns kept ids."""
    from scipy.stats import chi2

    k = len(logpi)
    p = np.exp(logp.astype(np.float64))
    crit = float(chi2.isf(NEW_PHASE_ALPHA, y.shape[1] - 1))
    active = list(range(k))
    lab = lab2d
    while len(active) > 2:
        inner = cm.interior(lab)
        sums = cm.group_sums(y, lab, k)
        best = None
        for c in active if candidates is None else [c for c in active if c in candidates]:
            m = lab == c
            n = int(m.sum())
            if n == 0:
                best = (-1.0, c, 0.0, 0, [], 0.0)
                break
            share = float(inner[m].mean())
            if share >= INTERIOR_MIN:
                continue
            nb = _contacts(lab, c, active)[:4]
            if len(nb) < 2:
                continue
            rho = cm.mixture_ratio(sums[c], p[[j for j in active if j != c]], p[nb])[0]
            if rho < MIXTURE_RATIO and (best is None or rho < best[0]):
                g_pix = cm.pixel_mixture_gain(y[m.ravel()], p, c, nb)
                if g_pix <= crit:
                    best = (rho, c, share, n, nb, g_pix)
        if best is None:
            break
        rho, c, share, n, nb, g_pix = best
        active.remove(c)
        if n:
            decisions.append({"step": "mixture", "pixels": n, "rho": _r(rho), "G_pixels": _r(g_pix, 1),
                              "interior": _r(share, 2), "neighbours": len(nb)})
        sub = np.asarray(active)
        start = np.where(np.isin(lab, sub), np.searchsorted(sub, lab), -1)
        start = np.where(valid & (start < 0), (y @ logp[sub].T).argmax(1).reshape(lab.shape), start)
        new, _ = cm.icm(y, logp[sub], logpi[sub], start.astype(np.int32), valid, beta=beta, iters=3,
                        mixed=False)
        lab = np.where(new >= 0, sub[np.clip(new, 0, None)], -1).astype(np.int32)
    return active, lab


def _fit_labels(y, logp, logpi, lab2d, valid, beta, rounds=2, rate=False):
    """Mixture-aware ICM and interior-pixel spectra, ``rounds`` times; empty labels dropped."""
    lab = lab2d
    for i in range(rounds + 1):
        lab, scores = cm.icm(y, logp, logpi, lab, valid, beta=beta, rate_band=rate)
        if i == rounds:
            break
        k = len(logpi)
        sums, n = cm.spectra_from_labels(y, lab, k)
        keep = n > 0
        if not keep.all():
            remap = np.cumsum(keep) - 1
            lab = np.where(lab >= 0, remap[np.clip(lab, 0, None)], -1).astype(np.int32)
        logp, logpi = cm.log_spectra(sums[keep]), cm.log_weights(n[keep])
    return lab, logp, logpi, scores


def _final_labels(y, logp, lab, valid, beta, rate, exponent=0.0, enclosed=None, on_film=None, decisions=None,
                  rounds=FINAL_SPECTRA_ROUNDS):
    """The labels once the phases are fixed: ``(labels, scores, logp)``.

    Scores average the likelihood over the share of a neighbouring phase a boundary pixel may
    hold (``shares='mean'`` of :func:`~sigma.clustering._count_model.label_scores`); a
    mean-field pass (:func:`~sigma.clustering._count_model.mean_field`, Potts weight
    ``MEAN_FIELD_SHARE * beta``) started from ``lab`` moves the boundaries to where the
    probabilities, not the hard labels, put them; one sweep of iterated conditional modes at
    the full weight ``beta`` then takes off the pixels the weaker prior let flip alone.
    ``exponent``: the boundary rule (``e`` of :func:`_share_floors`; pixels of ``valid`` that
    ``lab`` leaves at -1, such as pixels without a count, are labelled too). ``enclosed``,
    ``on_film``: the least shares of a thin sample (a core beside its shell, a particle beside
    the film; :func:`~sigma.clustering._boundary._thin_floors`; ``None``: the rule of
    ``exponent``), whose decisions are appended to ``decisions``.

    Then, up to ``rounds`` times (:data:`FINAL_SPECTRA_ROUNDS`), the spectra ``logp`` are taken
    again from the interiors of the labels just made and the labels made again from them,
    started from ``lab`` as before, until they stop changing; the spectra returned are those
    that made the labels. Only on a bulk map (neither thin-sample rule asked for): in a thin
    specimen a label's interior is not one composition (a particle's or the film's thickness
    varies across it, a core is seen through its shell, and a rule gives a label pixels that
    hold less than half of its counts). On ``core_shell.hspy`` and ``bare_core.hspy``, where no
    film is found and no rule applies, it moved 172 and 912 pixels of the film and the shells,
    and made the shells' labels less alike from particle to particle.

    Measured on the family of :mod:`sigma.synthetic.family` (24 maps, the phases fixed by the
    steps before, one pass): ARI of case 12 (ilmenite grains in ulvöspinel, look-alikes at 10
    counts per pixel) 0.868 with one ICM sweep on the best-share scores, 0.884 with the averaged
    scores alone, 0.917 with the mean-field pass; median over the 24 maps 0.973 to 0.976, none
    lower by more than 4 boundary pixels (0.006). (The maps have changed since: see
    :data:`FINAL_SPECTRA_ROUNDS`.)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> truth = np.zeros((12, 12), np.int32); truth[:, 6:] = 1
    >>> spectra = np.array([[0.6, 0.3, 0.1], [0.3, 0.6, 0.1]])
    >>> y = np.stack([rng.multinomial(30, spectra[t]) for t in truth.ravel()]).astype(np.float32)
    >>> lab, scores, logp = _final_labels(y, cm.log_spectra(spectra * 100), truth, truth >= 0, 1.0, False)
    >>> int((lab == truth).sum())  # every pixel
    144
    >>> [[round(float(v), 2) for v in row] for row in np.exp(logp)]  # the spectra of their interiors
    [[0.59, 0.3, 0.11], [0.31, 0.58, 0.1]]
    """
    k = len(logp)
    fl = _share_floors(y, lab, k, rate, exponent)
    fl, thin = _thin_floors(fl, y[:, :-1] if rate else y, lab, k, enclosed, on_film)
    if decisions is not None:
        decisions.extend(thin)
    new, s = _mean_field_labels(y, logp, lab, valid, beta, rate, fl)
    bulk = enclosed is None and on_film is None
    for _ in range(int(rounds) if bulk else 0):
        sums, _ = cm.spectra_from_labels(y, new, k)
        # a label with too few interior pixels (a tiny inclusion: every pixel mixed) keeps its
        # spectrum, as one the final labels emptied does
        inner = np.bincount(new[cm.interior(new) & (new >= 0)], minlength=k)[:k] >= cm.INTERIOR_MIN_PIXELS
        logp = np.where(inner[:, None], cm.log_spectra(np.where(inner[:, None], sums, 1.0)), logp)
        again, s = _mean_field_labels(y, logp, lab, valid, beta, rate, fl)
        if np.array_equal(again, new):
            break
        new = again
    return new, s, logp.astype(np.float32)


def _mean_field_labels(y, logp, lab, valid, beta, rate, floors):
    """One pass of :func:`_final_labels` (mean field, then one ICM sweep) with the least shares
    ``floors``: ``(labels, scores)``."""
    k = len(logp)
    z = np.zeros(k, np.float32)
    s = cm.label_scores(y, logp, z, lab, rate_band=rate, shares="mean", floors=floors)
    mf = cm.mean_field(s, lab, valid, beta=MEAN_FIELD_SHARE * beta)
    s = cm.label_scores(y, logp, z, mf, rate_band=rate, shares="mean", floors=floors)
    h, w = lab.shape
    t = s + np.float32(beta) * cm.neighbour_votes(mf, k).reshape(h * w, k)
    return np.where(valid.ravel(), t.argmax(1), -1).reshape(h, w).astype(np.int32), s


def _open_phase(y, m, lab, k, valid, beta, rate):
    """Labels, spectra and scores with the pixels ``m`` opened as a phase of their own and
    relabelled (:func:`_fit_labels`; ``k`` labels before), or ``None`` when the new label keeps
    neither an interior pixel nor passes the thin-phase test (:func:`_thin_phase`)."""
    trial = np.where(m, k, lab).astype(np.int32)
    sums, n = cm.spectra_from_labels(y, trial, k + 1, interior_only=False)
    t_lab, t_logp, t_logpi, t_scores = _fit_labels(y, cm.log_spectra(sums), cm.log_weights(n), trial, valid, beta,
                                                    rate=rate)
    if len(t_logpi) > k and (np.any(cm.interior(t_lab) & (t_lab == k))
                             or _thin_phase(y, t_logp, t_lab, k)[0]):
        return t_lab, t_logp, t_logpi, t_scores
    return None


def _window_z(y, logp, lab2d, n_spec):
    """Robust z-score, within each label, of the deviance of every 3×3 window's summed X-ray
    counts from the spectral shape its pixels' labels predict; ``-inf`` where the window holds
    another label (a boundary: its deviance is the mixture's, tested elsewhere).

    A particle of a few analysis pixels whose line holds a few counts in each of them is no
    outlier pixel by pixel (robust z about 1.5 for the Pd particle of ``test_TEM.bcf``, 2-7 Pd
    counts in pixels of 57) but its window is: the window sums the evidence of its pixels."""
    from scipy.ndimage import maximum_filter, minimum_filter, uniform_filter

    h, w = lab2d.shape
    flat = lab2d.ravel()
    ok = flat >= 0
    q = np.exp(logp[:, :n_spec].astype(np.float64))
    q = (q / q.sum(1, keepdims=True)).astype(np.float32)
    t = np.where(ok, y[:, :n_spec].sum(1), 0).astype(np.float32)
    lab0 = np.clip(flat, 0, None)
    g = np.zeros(h * w, np.float32)
    for b in range(n_spec):  # band by band: a few maps of the pixels in memory, not the cube
        xs = uniform_filter(np.where(ok, y[:, b], 0).astype(np.float32).reshape(h, w), 3, mode="constant").ravel() * 9
        es = uniform_filter((t * q[lab0, b]).reshape(h, w), 3, mode="constant").ravel() * 9
        g += 2 * (xs * np.log(np.where(xs > 0, xs, 1) / np.maximum(es, 1e-12)) - (xs - es))
    same = ((maximum_filter(lab2d, 3, mode="nearest") == minimum_filter(lab2d, 3, mode="nearest"))
            & (lab2d >= 0)).ravel()
    return _robust_z(g, flat, same, -np.inf)


def _robust_z(v, flat, keep, fill):
    """Robust z-score (median, 1.4826 MAD) of ``v`` within each label of ``flat``, over the
    entries ``keep``; ``fill`` elsewhere."""
    z = np.full(v.shape, fill, dtype=np.float64)
    for c in np.unique(flat[keep]):
        m = keep & (flat == c)
        med = np.median(v[m])
        z[m] = (v[m] - med) / (1.4826 * np.median(np.abs(v[m] - med)) + 1e-9)
    return z


def _unexplained_regions(y, logp, scores, lab2d, tried, n_spec=None):
    """Connected groups (>= 3 pixels) of pixels whose counts their label does not explain; with
    ``n_spec`` (the X-ray bands of ``y``), also of pixels whose 3×3 window's summed counts their
    labels do not explain (:func:`_window_z`)."""
    from scipy.ndimage import label as cc_label

    flat = lab2d.ravel()
    t = y.sum(1)
    sat = (y * np.log(np.where(y > 0, y, 1.0) / np.maximum(t, 1.0)[:, None])).sum(1)
    own = scores[np.arange(len(flat)), np.clip(flat, 0, None)]  # a log weight per label: z-scores ignore it
    dev = 2 * (sat - own)
    z = _robust_z(dev, flat, flat >= 0, 0.0)
    if n_spec is not None:
        z = np.maximum(z, _window_z(y, logp, lab2d, n_spec))
    cand = ((z > UNEXPLAINED_Z) & (flat >= 0) & ~tried).reshape(lab2d.shape)
    regions, n = cc_label(cand, structure=np.ones((3, 3)))
    sizes = np.bincount(regions.ravel(), minlength=n + 1)
    return [regions == r for r in range(1, n + 1) if sizes[r] >= 3]


def _open_new_phases(y, lab, logp, logpi, scores, valid, beta, rate, max_new, decisions, n_spec=None):
    """Steps 5 and 7 of :func:`~sigma.clustering.auto_k.find_phases`: up to ``max_new`` regions
    of unexplained pixels (:func:`_unexplained_regions`; by their 3×3 windows with ``n_spec``)
    opened as phases when :func:`_new_phase` passes them and the relabelled phase keeps them
    (:func:`_open_phase`). Returns ``(lab, logp, logpi, scores)``."""
    tried = np.zeros(lab.size, bool)
    for _ in range(int(max_new)):
        regions = _unexplained_regions(y, logp, scores, lab, tried, n_spec)
        m, stats = _new_phase(y, logp, lab, regions, rate)
        if m is None:
            break
        tried |= m.ravel()
        trial = _open_phase(y, m, lab, len(logpi), valid, beta, rate)
        if trial is not None and n_spec is not None:
            moved = _moved_far(lab, trial[0], m, valid)
            if moved > FAINT_MAX_MOVED * valid.sum():
                continue
            stats = {**stats, "seed": "windows", "moved": moved}
        if trial is not None:
            decisions.append(stats)
            lab, logp, logpi, scores = trial
    return lab, logp, logpi, scores


def _moved_far(before, after, m, valid, radius: int = 3) -> int:
    """Pixels further than ``radius`` from the region ``m`` whose label changed."""
    from scipy.ndimage import binary_dilation

    return int(((before != after) & valid & ~binary_dilation(m, iterations=radius)).sum())


def _new_phase(y, logp, lab2d, regions, rate: bool = False):
    """The most significant region that is neither a known spectrum nor a mixture of its
    neighbours and the known spectrum nearest to it: ``(mask, statistics)`` or ``(None, None)``.
    A grain of a known phase that its host's label still holds, taken with a rim of host pixels
    (the windows of :func:`_window_z`), is such a mixture; it would otherwise be opened as a
    second label of that phase.

    With a count-rate band (``rate``) the region must also differ in spectral shape from its
    neighbours and their mixtures (the deviance is the smaller of the two): thicker film and
    the thin edges of particles differ from their surroundings in count rate, and on a map
    not of this project's generator the rims of three particle phases, opened as one phase on
    their rate, became a seventh phase of six. The merge path still uses the rate."""
    from scipy.ndimage import binary_dilation
    from scipy.stats import chi2

    p = np.exp(logp.astype(np.float64))
    crit = float(chi2.isf(NEW_PHASE_ALPHA, y.shape[1] - 1))
    flat = lab2d.ravel()
    n_x = y.shape[1] - 1 if rate else y.shape[1]  # the X-ray bands, without the count rate
    sums = cm.group_sums(y[:, :n_x], flat, len(p)) if regions else None  # one pass for every region
    best = (None, None)
    for m in regions:
        ring = binary_dilation(m, iterations=2) & ~m
        nb = sorted({int(v) for v in np.unique(lab2d[ring]) if v >= 0})[:4]
        total = y[m.ravel()].sum(0)
        nearest = int(np.argmax(np.log(np.maximum(p, 1e-300)) @ total))
        if nearest not in nb:  # a grain of a known phase that its host's label still holds
            nb.append(nearest)
        # the nearest label's counts, not its spectrum: a label of a few pixels has a noisy one
        inside = m.ravel() & (flat == nearest)
        others = sums[nearest] - (y[inside, :n_x].sum(0, dtype=np.float64) if inside.any() else 0.0)
        same = cm.two_sample_g(total[:n_x], others)
        rho, sep, mix = cm.mixture_ratio(total, p, p[nb])
        if rate:
            shape = p[:, :-1] / p[:, :-1].sum(1, keepdims=True)
            mix = min(mix, cm.mixture_ratio(total[:-1], shape, shape[nb])[2])
            rho = mix / max(sep, 1e-9)
        g = min(sep, mix, same)
        if g > crit and rho > MIXTURE_RATIO and (best[1] is None or g > best[1]["G"]):
            best = (m, {"step": "new phase", "pixels": int(m.sum()), "G": _r(g, 1),
                        "critical": _r(crit, 1), "rho": _r(rho)})
    return best


def _thin_phase(y, logp, lab, c):
    """Statistics of label ``c`` (no interior) as a phase of its own: ``(keep, stats)``; kept
    when its summed counts are neither a known spectrum nor a mixture of the labels it
    touches, by the test that opens a new phase (:func:`_new_phase`). A shell round a core or
    a rim along a grain has no interior at the analysis grid's scale and is such a phase; a
    band of boundary pixels or a triple junction is a mixture."""
    from scipy.stats import chi2

    k = len(logp)
    m = lab == c
    s = y[m.ravel()].sum(0)
    p = np.exp(logp.astype(np.float64))
    others = [j for j in range(k) if j != c]
    sep = cm.deviance_to_nearest(s, p[others])
    nb = _contacts(lab, c, others)[:4]
    mix = cm.mixture_deviance(s, p[nb]) if len(nb) >= 2 else sep
    crit = float(chi2.isf(NEW_PHASE_ALPHA, y.shape[1] - 1))
    rho = mix / max(sep, 1e-9)
    g_pix = cm.pixel_mixture_gain(y[m.ravel()], p, c, nb) if len(nb) >= 2 else np.inf
    stats = {"pixels": int(m.sum()), "G": _r(min(sep, mix), 1), "critical": _r(crit, 1), "rho": _r(rho),
             "G_pixels": _r(g_pix, 1)}
    mixture = rho < MIXTURE_RATIO and g_pix <= crit
    return bool(min(sep, mix) > crit and not mixture), stats


def _drop_without_interior(y, logp, logpi, lab, valid, beta, decisions, rate):
    """Drop labels without interior that are not thin phases (:func:`_thin_phase`), one at a
    time; the thin phases kept are recorded once their labels are final."""
    while True:
        k = len(logpi)
        inner = cm.interior(lab)
        hollow = np.flatnonzero(np.bincount(lab[inner], minlength=k)[:k] == 0) if k > 1 else []
        tests = [(int(c), *_thin_phase(y, logp, lab, int(c))) for c in hollow]
        c = next((c for c, keep_c, _ in tests if not keep_c), None)
        if c is None:
            decisions.extend({"step": "thin phase", **stats} for _, _, stats in tests)
            break
        decisions.append({"step": "no interior", **next(st for i, _, st in tests if i == c)})
        keep = np.arange(k) != c
        start = np.where(lab == c, -1, lab - (lab > c)).astype(np.int32)
        start = np.where(valid & (start < 0), (y @ logp[keep].T).argmax(1).reshape(lab.shape), start)
        lab, logp, logpi, _ = _fit_labels(y, logp[keep], logpi[keep], start.astype(np.int32), valid, beta, 1, rate)
    return lab, logp, logpi

