"""Latent projection and clustering of one input, with a second look for missed elements.

When the feature lines were proposed from the sum spectrum (``features.lines = "auto"`` and a
file that names no elements), an element that only a minority phase carries can be missing from
them, and a peak of the sum spectrum can be given to the wrong element (Cu Kβ taken for Os
Lα). With ``features.second_look`` on (the default), the summed spectrum of each cluster is
fitted by the identification's element detection
(:func:`sigma.identify.minor_lines.review_lines`): the line of an element significant in a
cluster that no feature line covers is added, and a proposed line whose element no cluster
shows while another shown element's line explains its peak is removed; when the list changes,
features → latent → clustering run once more. Lines named in the file, or given as
``features.lines``, are never changed. What changed, and why, goes to the log and to
``run.json`` (``dataset.lines_review``).
"""

from __future__ import annotations

import logging

import numpy as np

from .._errors import SigmaError
from .latent import LatentProjector
from .provenance import StageTimer
from .stages import _segment, feature_dataset, latent_input

log = logging.getLogger(__name__)

__all__ = ["cluster_dataset", "second_look"]


def _applies(ds, cfg: dict) -> bool:
    """Automatic lines proposed from the sum spectrum, and the second look on."""
    f = cfg["features"]
    return (f["lines"] == "auto" and bool(f.get("second_look", False))
            and getattr(ds, "lines_source", "file") == "sum spectrum")


def second_look(ps, ds, cfg: dict):
    """The review of the feature lines after a first clustering, or ``None``
    (:class:`~sigma.identify.minor_lines.LineReview`).

    ``None`` unless ``features.lines = "auto"``, ``features.second_look`` is on and the dataset's
    lines were proposed from its sum spectrum (``ds.lines_source``); ``None`` too when the beam
    energy is unknown or the clusters' counts cannot be read (said in the log).

    Examples
    --------
    Lines named by the file are left alone (:func:`cluster_dataset` shows a review):

    >>> from types import SimpleNamespace
    >>> from sigma.pipeline.config import validate_config
    >>> second_look(None, SimpleNamespace(lines_source="file"), validate_config({})) is None
    True
    """
    from ..identify.minor_lines import review_lines

    f = cfg["features"]
    if not _applies(ds, cfg):
        return None
    try:
        inst = ps._instrument()
        beam = cfg.get("identify", {}).get("beam_energy") or inst["beam_energy"]
        if not beam:
            log.info("second look at the clusters' spectra skipped: no beam energy known")
            return None
        review = review_lines(
            ps.get_cluster_spectra("sum"), ps.cluster_ids, ps.counts, ps.energy_axis,
            feature_lines=[x for x in ds.feature_list if x != "Navigator"], beam_energy=float(beam),
            kind=inst["kind"], fwhm_mnka=inst["fwhm_mnka"], energy_range=ds._energy_range(),
        )  # fmt: skip
    except (SigmaError, ValueError) as exc:  # counts not kept (normalised only), a bad fit …
        log.info("second look at the clusters' spectra skipped: %s", exc)
        return None
    if review.added and f["min_line_counts"] > 0:
        # the bar of every automatic line (features.min_line_counts), taken in the brightest 5 %
        # of the cluster that shows the element rather than of the map, which a minority phase
        # does not fill: a line of mostly 0s and 1s per pixel splits phases once z-scored
        per_px = _cluster_line_counts(ps, ds, review.added)
        review.too_weak = [a for a in review.added if per_px[a.line] < f["min_line_counts"]]
        review.added = [a for a in review.added if per_px[a.line] >= f["min_line_counts"]]
        for a in review.too_weak:
            log.info("%s not added to the features: %s found in cluster %d (%.1f sigma) but only %.2f "
                     "counts per pixel in the brightest 5 %% of its pixels (features.min_line_counts = %g)",
                     a.line, a.element, a.cluster, a.significance, per_px[a.line], f["min_line_counts"])
    for a in review.added:
        log.info("added %s to the features: %s found in the summed spectrum of cluster %d (%d pixels): "
                 "%.0f ± %.0f net counts, %.1f sigma; the map's sum spectrum showed no peak of it",
                 a.line, a.element, a.cluster, a.pixels, a.net, a.sigma, a.significance)
    for r in review.removed:
        log.info("removed %s from the features: no cluster's spectrum shows %s; its peak is %s of an "
                 "element found in cluster %d (%.1f sigma)", r.line, r.element, r.explained_by,
                 r.cluster, r.significance)
    return review


def _cluster_line_counts(ps, ds, added, top_fraction: float = 0.05) -> dict[str, float]:
    """Counts per pixel in each added line's window, averaged over the brightest ``top_fraction``
    of the pixels of the cluster it was found in (the whole map's brightest 5 % for a proposed
    line, which a minority phase does not fill)."""
    labels = np.asarray(ps.labels).reshape(ds.valid_mask.shape)
    return {a.line: ds.line_counts([a.line], top_fraction, mask=labels == a.cluster)[a.line]["top_mean"]
            for a in added}


def cluster_dataset(ds, cfg: dict, timer: StageTimer | None = None, *, work_dir=None, progress=False):
    """Stages ``latent`` and ``clustering`` of a prepared dataset, with the second look.

    Returns
    -------
    (PixelSegmenter, LineReview or None)
        The segmenter, and the review of :func:`second_look` (``None`` when it did not run;
        when it changed nothing, the result is that of one pass). ``ds.lines_review`` holds
        it as a dict for ``run.json``, with ``applied`` true when the features were redone and
        ``seconds_review`` (the fits alone); the stage ``second_look`` of ``timer`` holds the
        review and the second pass.

    Examples
    --------
    >>> from sigma.synthetic import make_phantom
    >>> from sigma.pipeline.config import validate_config
    >>> from sigma.pipeline.stages import prepare_dataset
    >>> cfg = validate_config({"preprocess": {"bin": [1, 1]}, "clustering": {"method_args":
    ...                        {"n_components": 3}}})
    >>> s = make_phantom((16, 16), n_channels=256, energy_scale=0.08).to_signal()
    >>> ps, review = cluster_dataset(prepare_dataset(s, cfg), cfg)  # the file names its elements
    >>> len(ps.cluster_ids), review
    (3, None)
    >>> del s.metadata.Sample  # a file that names no elements: lines from the sum spectrum
    >>> ds = prepare_dataset(s, cfg)
    >>> ps, review = cluster_dataset(ds, cfg)
    >>> ds.lines_source, type(review).__name__, sorted(ds.lines_review)[:2]
    ('sum spectrum', 'LineReview', ['added', 'applied'])
    """
    import time

    timer = timer or StageTimer()

    def one_pass(t):
        x = latent_input(ds, cfg)
        with t("latent"):
            proj = LatentProjector(cfg["latent"], work_dir=work_dir, progress=progress)
            latent = proj.fit_transform_sampled(x, cfg["latent"]["fit_pixels"], seed=cfg["shared"]["seed"])
        with t("clustering"):
            return _segment(latent, ds, cfg)

    ps = one_pass(timer)
    ds.lines_review = None
    if not _applies(ds, cfg):  # lines named by the file or the user: no stage, nothing timed
        return ps, None
    # stage "second_look": the review and, when the lines change, the features, latent space and
    # clustering once more (so "latent" and "clustering" stay the first pass's seconds)
    with timer("second_look"):
        t0 = time.perf_counter()
        review = second_look(ps, ds, cfg)
        ds.lines_review = None if review is None else {**review.to_dict(), "applied": False,
                                                       "seconds_review": round(time.perf_counter() - t0, 3)}
        if review is None or not review.changed:
            return ps, review
        lines = review.lines([x for x in ds.feature_list if x != "Navigator"])
        if not lines:  # every line removed and none added: keep what there was
            log.info("second look: the review left no line; the proposed lines are kept")
            return ps, review
        feature_dataset(ds, cfg, feature_list=lines)
        ds.lines_review["applied"] = True
        return one_pass(StageTimer(prefix="second pass: ")), review
