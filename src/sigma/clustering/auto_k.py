"""The number of phases from the counts: over-segment, merge, drop mixtures, open new phases.

``PixelSegmenter(..., method_args={"n_components": "auto"})`` (and ``sigma run``'s default)
decide how many phases a map holds with :func:`find_phases`, from the X-ray counts rather than
from the geometry of the latent space. Every pixel is a row of counts in energy bands of equal
total counts (:func:`~sigma.preprocessing.spectral_features.energy_bands`: the whole spectrum,
narrow bands on the peaks), and a phase is one spectrum: its pixels' counts are multinomial
with that spectrum's band fractions. One more band models how many counts a pixel holds (the
count rate: thickness and density in a TEM, mean atomic number in an SEM; see
:data:`INTENSITY_WEIGHT`), so particles on a film whose spectra differ little from it are
still seen.

1. **Over-segmentation.** The clusterer (Gaussian mixture or k-means on the latent space) is
   fitted with more clusters than any map is expected to hold; they seed a multinomial
   mixture of the counts (EM), each with the spectrum of its interior pixels (all eight
   neighbours in the same cluster; all its pixels when it has fewer than five such). A
   cluster's boundary pixels mix in its neighbours: a cluster of enstatite grains whose
   boundary held 20 % ferrosilite started half-way to a mixture, and the EM gave its pixels
   to forsterite, its look-alike (case 17 of the family of :mod:`sigma.synthetic.family`:
   6 phases of 7 from all pixels, 7 from the interior; case 12: 3 of 4, then 4 of 4).
2. **Merge path and BIC.** The two components whose summed counts differ least (likelihood
   ratio statistic ``G`` on their sums) are merged and the mixture refitted, down to one
   component; the Bayesian information criterion ``-2 log L + K B log N`` along that path
   (``B`` bands, ``N`` pixels) picks the number of spectra the counts support.
3. **Mixed pixels are not phases.** Pixels at a boundary hold two (or, at a triple junction,
   three) phases, and with enough of them the BIC wants spectra for them too. A component is
   dropped as a mixture when it has (almost) no interior (fewer than half of its pixels have
   all eight neighbours in it) *and* its counts are explained by mixtures of the components
   it touches: the deviance of its summed counts from the best mixture is less than
   :data:`MIXTURE_RATIO` of their deviance from the nearest single spectrum, and its own
   spectrum does not explain its pixels better than per-pixel mixtures (``G_pixels``, see
   :func:`~sigma.clustering._count_model.pixel_mixture_gain`, at most the chi-square critical
   value at :data:`NEW_PHASE_ALPHA`). A band of boundary pixels mixes its neighbours in
   shares that vary across it, so per-pixel mixtures fit it better than one spectrum
   (``G_pixels < 0``); a thin shell round a core lies between two phases too, and its summed
   counts can come close to a mixture of them, but its pixels are explained better by its
   own spectrum. A phase whose spectrum happens to lie between two others still has an
   interior.
4. **Labels.** Pixels are labelled by iterated conditional modes with a Potts prior
   (``smoothness`` per agreeing neighbour) and no other prior (the mixture weights would
   favour large phases over small ones at every close call), scoring a label ``k`` with the
   pixel's likelihood under ``p_k`` or, near a boundary, under a mixture with at least half
   ``p_k`` and the rest a neighbouring phase (a share of the X-ray counts, the count-rate
   band mixed with the same share); spectra are re-estimated from the interior pixels of each
   label. A boundary pixel thus goes to the phase that dominates it.
5. **New phases.** Pixels whose counts no label explains (deviance above that of the other
   pixels of their label, robust z-score > :data:`UNEXPLAINED_Z`) and that form connected
   groups are tested as a phase of their own: kept when their summed counts are neither one
   of the spectra, nor a mixture of their neighbours' spectra and the spectrum nearest to
   them, nor drawn from the nearest label's summed counts (two-sample ``G``: a label of a few
   pixels has a noisy spectrum) — deviance above the chi-square critical value at 1e-6, and
   above :data:`MIXTURE_RATIO` of their deviance from the nearest spectrum — and the
   relabelled phase has an interior pixel or passes the test of step 8. A look-alike grain
   that its host's label still holds is thus a known phase, not a new one. This is what finds
   small inclusions that the BIC's penalty (``B log N``, hundreds of nats) or neighbour
   averaging lost.
6. **Splits.** A look-alike phase that the merge path joined to its neighbour in spectrum
   (the BIC sees their overlap pixel by pixel, not their summed counts) is split off again
   when a start cluster seeds it: see :mod:`sigma.clustering._split` (count splitting: the
   pixels are chosen on half of the counts and the split is tested on the other half). When
   no start cluster seeds a split, a label seeds it from inside, on the choosing half: its
   pieces (particles, grains) grouped in two by their summed counts, tested as they are; its
   pixels split by their neighbourhoods' mean fractions (touching particles, tested by the
   residual alone); the centres of its pieces (a core in a shell of a look-alike, tested the
   same way); or a two-spectrum mixture of its pixels. Particle phases that share every
   start cluster (a film takes most of them) are told apart, down to particles without interior.
7. **Faint phases.** A particle of a few pixels whose lines hold a few counts in each is no
   outlier pixel by pixel; summed over the 3×3 window round each pixel it is. Once the splits
   are done, pixels whose window's counts their labels do not explain (robust z-score of the
   window's deviance within its label, windows inside one label only) join the unexplained
   pixels, and their groups are tested and opened as in step 5 (``seed = "windows"`` in the
   decision) when the opening stays local: fewer than :data:`FAINT_MAX_MOVED` of the map's
   pixels further than 3 pixels away change label (``moved``). On ``test_TEM.bcf`` (57
   counts per analysis pixel, binned 3 × 3) this opens the Pd particle at the map's lower
   edge (2-7 Pd counts per pixel); on a film with a 9-pixel particle whose line adds 7 counts
   per pixel it is found in 9 of 12 maps, 4 without the windows.
   A phase opened in steps 5-7 may grow, once relabelled, into pixels that mix the others:
   six unexplained pixels of a TEM map of many small gold and ceria particles grew into 1192
   pixels of gold rims and the film round them (another generator's map at 40 counts per
   particle pixel: 4 phases of 3, ARI 0.791). The opened phases are put to the test of step 3
   once more, and such a one is dropped (3 of 3, ARI 0.845; the 24 family maps unchanged).
8. A label left without a single interior pixel is dropped unless it is a thin phase: its
   summed counts are far from every other spectrum (deviance above the critical value) and
   not a mixture by the test of step 3. A few boundary pixels at a triple junction are
   dropped; a shell or a rim one or two pixels wide is kept.
9. **Final labels.** Once the phases are fixed, a label's score averages the likelihood over
   the share of a neighbouring phase a boundary pixel may hold (instead of the best share,
   which scores both sides of a boundary between look-alikes almost alike, so that the Potts
   prior takes a ring of pixels off every small grain), a mean-field pass moves the
   boundaries where the label probabilities put them, and one ICM sweep at the full Potts
   weight removes the pixels left alone (:func:`~sigma.clustering._phase_steps._final_labels`).
   The shares a label may hold weigh each phase's counts by its mean counts per pixel on a
   bulk (SEM) map, so that a boundary pixel goes to the phase covering most of its area
   (:func:`boundary_exponent`). On a thin (TEM) map the film lies under every particle and a
   shell over and under its core, thickest where the core is thinnest, so by the counts alone
   they take the rims of what they carry: a particle takes a pixel from the support film with
   :data:`FILM_MIN_SHARE` of its counts, and a phase enclosed by another (a core in its
   shell) with :data:`ENCLOSED_MIN_SHARE` (``'on film'`` and ``'enclosed'`` decisions). Pixels
   without a count, left out of the start labels, are labelled here when ``fill`` names them
   and their label leaves pixels empty (:data:`EMPTY_MIN_PROBABILITY`). On a bulk map (no
   thin-sample rule asked for), the spectra are then taken again from the interiors of the
   final labels and the labels made again from them, until they stop changing (at most
   :data:`FINAL_SPECTRA_ROUNDS` times): the spectra the step started from may come from a few
   dozen pixels (ilmenite grains in ulvöspinel at 10 counts per pixel: ARI 0.812 → 0.917).

Every decision is recorded with its statistics in :class:`PhaseEvidence`
(``PixelSegmenter.n_components_evidence``).

Examples
--------
Two phases and a band of mixed pixels between them, over-segmented into five clusters:

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> a, b = rng.dirichlet(np.ones(12) * 2), rng.dirichlet(np.ones(12) * 2)
>>> x = np.linspace(0, 1, 30)
>>> frac = np.clip((x - 0.45) / 0.1, 0, 1)[None, :].repeat(24, 0)
>>> y = rng.poisson(80 * ((1 - frac)[..., None] * a + frac[..., None] * b)).astype("float32")
>>> start = np.minimum((x * 5).astype(int), 4)[None, :].repeat(24, 0)
>>> res = find_phases(y, start)
>>> res.evidence.n_components, np.unique(res.labels).tolist()
(2, [0, 1])
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from .._errors import bad_value
from . import _count_model as cm
from ._boundary import (  # the rules of the final labels, re-exported
    BULK_BOUNDARY_EXPONENT,
    EMPTY_MIN_PROBABILITY,
    ENCLOSED_MIN_SHARE,
    FILM_MIN_SHARE,
    INTENSITY_WEIGHT,
    RATE_CEILING,
    THIN_BOUNDARY_EXPONENT,
    _implausible_empty,
    boundary_exponent,
    checked_boundary,
    checked_share,
    enclosed_share,
    film_share,
    intensity_weight,
)
from ._phase_steps import (
    FAINT_MAX_MOVED,
    FINAL_SPECTRA_ROUNDS,
    INTERIOR_MIN,
    MEAN_FIELD_SHARE,
    MIXTURE_RATIO,
    NEW_PHASE_ALPHA,
    UNEXPLAINED_Z,
    _drop_mixtures,
    _drop_without_interior,
    _final_labels,
    _fit_labels,
    _merge_path,
    _open_new_phases,
)
from ._split import SPLIT_MIN_COUNTS, SPLIT_MIN_NATS, split_phases

__all__ = ["AUTO_METHODS", "BULK_BOUNDARY_EXPONENT", "EMPTY_MIN_PROBABILITY", "ENCLOSED_MIN_SHARE", "FILM_MIN_SHARE", "INTENSITY_WEIGHT", "RATE_CEILING", "THIN_BOUNDARY_EXPONENT", "boundary_exponent", "checked_boundary", "checked_share", "enclosed_share", "film_share", "intensity_weight", "FAINT_MAX_MOVED", "FINAL_SPECTRA_ROUNDS", "INTERIOR_MIN", "MEAN_FIELD_SHARE", "MIXTURE_RATIO", "NEW_PHASE_ALPHA", "SPLIT_MIN_COUNTS", "SPLIT_MIN_NATS", "UNEXPLAINED_Z", "PhaseEvidence", "PhaseResult", "auto_request", "find_phases", "start_size"]

log = logging.getLogger(__name__)

#: Clustering methods that accept ``n_components='auto'`` (they over-segment on request).
AUTO_METHODS = ("GaussianMixture", "BayesianGaussianMixture", "Kmeans")
def start_size(max_components: int, n_points: int) -> int:
    """Clusters of the over-segmentation that ``'auto'`` starts from: ``max_components``, but no
    more than a quarter of the points the clusterer is fitted on.

    Examples
    --------
    >>> start_size(20, 10_000), start_size(20, 30), start_size(20, 2)
    (20, 7, 1)
    """
    return int(min(max_components, max(1, int(n_points) // 4)))


def auto_request(method, method_args) -> str | None:
    """The key (``'n_components'`` or ``'n_clusters'``) set to ``'auto'`` in ``method_args``.

    ``None`` when the number of clusters is fixed; an error naming the parameter when
    ``'auto'`` is asked of a method that cannot over-segment on request.

    Examples
    --------
    >>> auto_request("Kmeans", {"n_clusters": "auto"}), auto_request("GaussianMixture", {"n_components": 5})
    ('n_clusters', None)
    >>> auto_request("HDBSCAN", {"n_components": "auto"})
    Traceback (most recent call last):
    ...
    sigma._errors.SigmaValueError: The "method_args['n_components']" parameter must be an int for method 'HDBSCAN' ('auto' is accepted for 'GaussianMixture', 'BayesianGaussianMixture', 'Kmeans'; HDBSCAN decides its number of clusters itself, with min_cluster_size). Got 'auto' instead.
    """
    if not isinstance(method_args, dict):
        return None
    keys = [k for k in ("n_components", "n_clusters") if isinstance(method_args.get(k), str)
            and method_args[k] == "auto"]
    if not keys:
        return None
    if not isinstance(method, str) or method not in AUTO_METHODS:
        name = method if isinstance(method, str) else type(method).__name__
        accepted = ", ".join(repr(m) for m in AUTO_METHODS)
        raise bad_value(
            f"method_args['{keys[0]}']", "auto",
            f"an int for method {name!r} ('auto' is accepted for {accepted}; HDBSCAN decides its "
            "number of clusters itself, with min_cluster_size)",
        )
    return keys[0]


@dataclass
class PhaseEvidence:
    """How the number of phases was decided (``PixelSegmenter.n_components_evidence``).

    Attributes
    ----------
    n_components : int
        Phases found.
    n_start : int
        Clusters of the over-segmentation that seeded the count model.
    path_k, path_bic, path_loglik : ndarray
        The merge path: number of spectra, BIC and log-likelihood of the counts (lower BIC
        is better), from ``n_start`` down to 1.
    k_bic : int
        The BIC's choice (before mixtures are dropped and new phases opened).
    penalty : float
        BIC penalty per spectrum, ``B log N``.
    n_bands, n_fit_pixels : int
        Energy bands and pixels the merge path was fitted on.
    smoothness : float
        Potts weight of the labels.
    decisions : list of dict
        Every step after the BIC's choice, in order, with its statistics: ``'mixture'``
        (``pixels``, ``rho`` = mixture deviance / nearest-spectrum deviance, ``G_pixels`` =
        own spectrum against per-pixel mixtures, ``interior`` share, ``neighbours``), ``'new
        phase'`` (``pixels``, ``G``, ``critical``, ``rho``), ``'split'`` (``pixels``, ``G`` of
        the held-out half-counts, ``critical``, ``rho``, ``parent_pixels``; ``seed = 'pieces'`` (with
        ``G_pixels``; or, when that ``G`` carries less than a nat a pixel or the summed counts
        look like a mixture, ``z`` and ``z_piece``: the interior's residual beyond every mixture
        of the rest and its neighbours, in standard errors of the whole and of one piece),
        ``'smoothed'``, ``'depth'`` or ``'label'`` when a label's pieces, neighbourhoods, pieces'
        centres or a two-spectrum fit of its pixels, not a start cluster, seeded it), ``'no interior'`` (dropped) and
        ``'thin phase'`` (kept without interior), both with ``pixels``, ``G``, ``critical``,
        ``rho``, ``G_pixels``; on a thin-sample map, the boundary rules of the final labels:
        ``'on film'`` (``pixels`` of the film, ``min_share``) and ``'enclosed'`` (``pixels``,
        ``host_pixels``, ``contact``, ``min_share``).

    Examples
    --------
    >>> ev = PhaseEvidence(2, 4, np.array([4, 3, 2, 1]), np.array([9.0, 5.0, 0.0, 40.0]),
    ...                    np.zeros(4), 2, 3.0, 16, 100, 1.0)
    >>> ev.summary().splitlines()[0]
    '2 phases: BIC chose 2 spectra of 4 clusters; 0 mixtures dropped, 0 new phases'
    >>> sorted(ev.to_dict())[:3]
    ['bic_path', 'decisions', 'k_bic']
    """

    n_components: int
    n_start: int
    path_k: np.ndarray
    path_bic: np.ndarray
    path_loglik: np.ndarray
    k_bic: int
    penalty: float
    n_bands: int
    n_fit_pixels: int
    smoothness: float
    decisions: list = field(default_factory=list)

    def _count(self, step: str) -> int:
        return sum(d["step"] == step for d in self.decisions)

    def summary(self) -> str:
        """A few lines saying how the number of phases was reached."""
        hollow = self._count("no interior")
        lines = [
            f"{self.n_components} phases: BIC chose {self.k_bic} spectra of {self.n_start} "
            f"clusters; {self._count('mixture')} mixtures dropped, "
            + (f"{hollow} without interior dropped, " if hollow else "")
            + f"{self._count('new phase')} new phases"
            + (f", {self._count('split')} split off" if self._count("split") else "")
        ]
        for d in self.decisions:
            stats = ", ".join(f"{k}={v}" for k, v in d.items() if k != "step")
            lines.append(f"  {d['step']}: {stats}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-ready dictionary (``run.json``, reports)."""
        return {
            "n_components": int(self.n_components),
            "n_start": int(self.n_start),
            "k_bic": int(self.k_bic),
            "bic_path": {
                "k": [int(v) for v in self.path_k],
                "bic": [float(v) for v in self.path_bic],
                "loglik": [float(v) for v in self.path_loglik],
            },
            "penalty_per_spectrum": float(self.penalty),
            "n_bands": int(self.n_bands),
            "n_fit_pixels": int(self.n_fit_pixels),
            "smoothness": float(self.smoothness),
            "decisions": [dict(d) for d in self.decisions],
        }


@dataclass
class PhaseResult:
    """Result of :func:`find_phases`.

    Attributes
    ----------
    labels : ndarray of int32, shape (H, W)
        Phase per pixel, ``0..K-1`` by decreasing area; ``-1`` where the start was ``-1``.
    proba : ndarray of float32, shape (H, W, K)
        Softmax of the final label scores (likelihood, mixtures near boundaries, Potts prior).
    log_spectra : ndarray of float32, shape (K, B)
        ``log`` band fractions of each phase.
    evidence : PhaseEvidence

    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(0).poisson(20.0, (6, 8, 5)).astype("float32")
    >>> res = find_phases(y, np.zeros((6, 8), int))
    >>> res.labels.shape, res.proba.shape, res.evidence.n_components
    ((6, 8), (6, 8, 1), 1)
    """

    labels: np.ndarray
    proba: np.ndarray
    log_spectra: np.ndarray
    evidence: PhaseEvidence


def find_phases(band_counts, start_labels, *, smoothness: float = 1.0, max_fit_pixels: int = 20_000,
                max_new_phases: int = 3, merge_iterations: int = 5, intensity: float = INTENSITY_WEIGHT,
                boundary: float = THIN_BOUNDARY_EXPONENT, enclosed: float | None = None,
                on_film: float | None = None, fill=None, random_state=0) -> PhaseResult:
    """Decide the phases of a map from its counts (see the module description).

    Parameters
    ----------
    band_counts : array_like, shape (H, W, B)
        Counts summed over energy bands (:func:`~sigma.preprocessing.spectral_features.band_counts`).
    start_labels : array_like of int, shape (H, W)
        An over-segmentation (more clusters than phases); ``-1`` pixels are left out.
    smoothness : float
        Potts weight: log-likelihood a label gains per agreeing neighbour (8-neighbourhood).
    max_fit_pixels : int
        The merge path is fitted on at most this many random pixels (the rest of the steps
        use every pixel).
    max_new_phases : int
        Rounds of the search for unexplained pixels.
    merge_iterations : int
        EM iterations after each merge.
    intensity : float
        Weight ``w`` of the count-rate band (see :data:`INTENSITY_WEIGHT`); 0 models the
        spectrum's shape only.
    boundary : float
        Exponent ``e`` of the final labels' boundary rule (see :func:`boundary_exponent`):
        -1 on a bulk (SEM) map (each phase's counts per pixel weighed out: the share of the
        pixel's area), 0 on a thin (TEM) one (the counts alone).
    enclosed, on_film : float or None
        On a thin (TEM) map, the least share of a boundary pixel's counts with which a phase
        enclosed by another in projection (a core in its shell) takes the pixel from it
        (:data:`ENCLOSED_MIN_SHARE`), and with which a particle takes it from the support film
        (:data:`FILM_MIN_SHARE`); recorded as ``'enclosed'`` and ``'on film'`` decisions; only
        where a support film is found. ``None`` (default, unlike the thin-sample defaults of
        ``intensity`` and ``boundary``): the rule of ``boundary`` for those pairs too;
        ``PixelSegmenter`` and ``sigma run`` pass :func:`enclosed_share` and
        :func:`film_share` of the map's kind.
    fill : array_like of bool, shape (H, W), optional
        Pixels left out of the start labels (``-1``) that the final labels (step 9) label
        all the same, from their counts and their neighbours: pixels without a count (a
        low-dose film), which tell nothing about the spectra but are part of the map. One
        whose label holds too many counts per pixel to leave a pixel empty stays -1
        (:data:`EMPTY_MIN_PROBABILITY`: it was never measured).
    random_state : int or None
        Seed of the pixel sample.

    Returns
    -------
    PhaseResult

    Examples
    --------
    Three phases in vertical stripes, started from six stripes:

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> spectra = rng.dirichlet(np.ones(10), size=3)
    >>> truth = np.repeat(np.arange(3), 8)[None, :].repeat(20, 0)
    >>> y = rng.poisson(100 * spectra[truth]).astype("float32")
    >>> res = find_phases(y, np.repeat(np.arange(6), 4)[None, :].repeat(20, 0))
    >>> from sklearn.metrics import adjusted_rand_score
    >>> res.evidence.n_components, adjusted_rand_score(truth.ravel(), res.labels.ravel())
    (3, 1.0)
    """
    from sigma._blocks import one_blas_thread

    # products of (N, B) counts with (B, K) spectra, B and K a few tens, many times over: one
    # BLAS thread is faster than two (and far faster on a shared machine, where OpenBLAS's
    # waiting threads spin; the merge path took 7-24 s instead of under 2 s on 196 608 pixels)
    with one_blas_thread():
        return _find_phases(band_counts, start_labels, smoothness=smoothness,
                            max_fit_pixels=max_fit_pixels, max_new_phases=max_new_phases,
                            merge_iterations=merge_iterations, intensity=intensity,
                            boundary=boundary, enclosed=enclosed, on_film=on_film, fill=fill,
                            random_state=random_state)


def _find_phases(band_counts, start_labels, *, smoothness, max_fit_pixels, max_new_phases,
                 merge_iterations, intensity, boundary, enclosed, on_film, fill,
                 random_state) -> PhaseResult:
    y3 = np.asarray(band_counts, dtype=np.float32)
    start = np.asarray(start_labels)
    if y3.ndim != 3:
        raise bad_value("band_counts", y3.shape, "an (H, W, B) array of counts")
    if start.shape != y3.shape[:2] or not np.issubdtype(start.dtype, np.integer):
        raise bad_value("start_labels", getattr(start, "shape", start), f"(H, W) int labels of shape {y3.shape[:2]}")
    if not np.isfinite(smoothness) or smoothness < 0:
        raise bad_value("smoothness", smoothness, "a number >= 0")
    if not np.isfinite(intensity) or intensity < 0:
        raise bad_value("intensity", intensity, "a number >= 0")
    boundary = checked_boundary(boundary)
    enclosed, on_film = checked_share(enclosed, "enclosed"), checked_share(on_film, "on_film")
    h, w, nb = y3.shape
    y = np.nan_to_num(y3.reshape(h * w, nb), copy=False)
    n_spec = nb
    rate = intensity > 0
    if rate:
        y, nb = cm.with_rate_band(y, float(intensity), RATE_CEILING), nb + 1
    valid = start >= 0
    if not valid.any():
        raise bad_value("start_labels", "only -1", "at least one labelled pixel")
    if fill is not None:
        fill = np.asarray(fill)
        if fill.shape != start.shape or fill.dtype != bool:
            raise bad_value("fill", getattr(fill, "shape", fill), f"an (H, W) bool mask of shape {start.shape}")
        fill = fill & ~valid
    ids, start_c = np.unique(start[valid], return_inverse=True)
    k0 = len(ids)
    lab0 = np.full((h, w), -1, np.int32)
    lab0[valid] = start_c
    beta = float(smoothness)
    # 1-2: merge path on a sample of pixels, BIC
    vidx = np.flatnonzero(valid.ravel())
    rng = np.random.default_rng(random_state)
    fit_idx = np.sort(rng.choice(vidx, size=min(len(vidx), int(max_fit_pixels)), replace=False))
    yf = y[fit_idx]
    penalty = float(nb * np.log(max(len(fit_idx), 2)))
    sums0, n0 = cm.spectra_from_labels(y, lab0, k0)  # interior pixels (step 1)
    states = _merge_path(yf, cm.log_spectra(sums0), cm.log_weights(n0), penalty, merge_iterations)
    ks = np.array(sorted(states))
    bic = np.array([states[k][3] for k in ks])
    lls = np.array([states[k][2] for k in ks])
    k_bic = int(ks[int(np.argmin(bic))])
    if k_bic == k0 and k0 > 1:
        log.info("the BIC kept all %d starting clusters: a finer over-segmentation (max_components) "
                 "might find more", k0)
    evidence = PhaseEvidence(0, k0, ks, bic, lls, k_bic, penalty, nb, len(fit_idx), beta)
    logp, logpi = states[k_bic][0], states[k_bic][1]
    # 3: drop mixtures (labels by plain ICM from the likelihood)
    init = np.where(valid, (y @ logp.T + logpi).argmax(1).reshape(h, w), -1).astype(np.int32)
    lab, _ = cm.icm(y, logp, logpi, init, valid, beta=beta, iters=3, mixed=False)
    keep, lab = _drop_mixtures(y, logp, logpi, lab, valid, beta, evidence.decisions)
    sub = np.asarray(keep)
    lab = np.where(lab >= 0, np.searchsorted(sub, lab), -1).astype(np.int32)
    # 4: labels and spectra
    lab, logp, logpi, scores = _fit_labels(y, logp[sub], logpi[sub], lab, valid, beta, rate=rate)
    k_fixed = len(logp)
    # 5: new phases from unexplained pixels
    lab, logp, logpi, scores = _open_new_phases(y, lab, logp, logpi, scores, valid, beta, rate, max_new_phases,
                                                evidence.decisions)
    # 6: phases the merge path joined, split off again (count splitting)
    rate_of = (lambda v: cm.with_rate_band(v, float(intensity), RATE_CEILING)) if rate else (lambda v: v)
    lab, logp, logpi, scores = split_phases(y, y[:, :n_spec], rate_of, lab0, lab, logp, logpi, scores,
                                            valid, beta, rate, max_new_phases, evidence.decisions, random_state)
    # 7: faint phases: pixels whose 3×3 windows their labels do not explain
    lab, logp, logpi, scores = _open_new_phases(y, lab, logp, logpi, scores, valid, beta, rate, max_new_phases,
                                                evidence.decisions, n_spec)
    # 7b: a phase opened in steps 5-7 that grew into a mixture of the others (rims of small
    # particles and the film round them) is dropped as step 3 drops one
    if len(logp) > k_fixed:
        keep, lab = _drop_mixtures(y, logp, logpi, lab, valid, beta, evidence.decisions,
                                   candidates=range(k_fixed, len(logp)))
        if len(keep) < len(logp):
            sub = np.asarray(keep)
            lab = np.where(lab >= 0, np.searchsorted(sub, lab), -1).astype(np.int32)
            lab, logp, logpi, scores = _fit_labels(y, logp[sub], logpi[sub], lab, valid, beta, rate=rate)
    # 8: labels without interior
    lab, logp, logpi = _drop_without_interior(y, logp, logpi, lab, valid, beta, evidence.decisions, rate)
    # 9: final labels (mean field, then one ICM sweep)
    lab, scores, logp = _final_labels(y, logp, lab, valid if fill is None else valid | fill, beta, rate,
                                      boundary, enclosed, on_film, evidence.decisions)
    if fill is not None:
        lab = _implausible_empty(y[:, :n_spec], lab, valid, fill)
    k = len(logpi)
    # order by area, largest first
    n = np.bincount(lab[lab >= 0], minlength=k)[:k]
    order = np.argsort(-n, kind="stable")
    rank = np.empty(k, np.int64)
    rank[order] = np.arange(k)
    lab = np.where(lab >= 0, rank[np.clip(lab, 0, None)], -1).astype(np.int32)
    t = scores + np.float32(beta) * cm.neighbour_votes(np.where(lab >= 0, order[np.clip(lab, 0, None)], -1), k).reshape(h * w, k)
    proba = cm.softmax_rows(t[:, order]).reshape(h, w, k)
    evidence.n_components = int(k)
    log.info("phases from the counts: %s", evidence.summary().splitlines()[0])
    lp = logp[order][:, :n_spec].astype(np.float64)  # the spectrum's shape, without the rate band
    lp = (lp - np.log(np.exp(lp).sum(1, keepdims=True))).astype(np.float32)
    return PhaseResult(lab, proba, lp, evidence)
