"""Shared phases: one latent space and one clustering fitted across all inputs of a batch.

All inputs are prepared first; one latent projection and one clusterer are fitted on a balanced
sample (the same number of pixels from every input), then every pixel of every input is
projected and assigned, so cluster *k* is the same phase in every map. The ``zscore`` step uses
statistics pooled over all inputs, so a feature value means the same in every file.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from .._errors import SigmaError, bad_value
from .._files import FileLedger, StagingDir, clean_stale_staging
from .latent import LatentProjector, balanced_sample
from .outputs import StagedOutput, atomic_write_csv, check_free
from .provenance import StageTimer
from .results import (
    STAGE_ERRORS,
    RunResult,
    _base_record,
    _dataset_record,
    _done,
    _fail,
    _finish,
    _stem,
)
from .stages import (
    _bar,
    _tick,
    _unmix_stage,
    _weak_lines,
    load_dataset,
    preprocess_dataset,
)

log = logging.getLogger(__name__)

__all__: list[str] = []  # used through run_batch(..., shared_phases=True)

# ----------------------------------------------------------------------------- shared phases
#: Fewest pixels a shared fit is made on (a latent projection of fewer is meaningless).
MIN_SHARED_PIXELS = 10


def _raw_feature_maps(ds, feature_list) -> np.ndarray:
    """Un-normalised feature maps of one dataset with the given features."""
    ds.set_feature_list(list(feature_list))
    return ds.get_feature_maps(list(feature_list))


def _pooled_features(maps: dict, chain, masks: dict | None = None) -> dict:
    """The normalisation chain on every input's feature maps, ``zscore`` with the mean and
    standard deviation pooled over all inputs (so a value means the same in every file);
    ``masks`` (valid pixels per input) keep excluded pixels out of every statistic."""
    from ..preprocessing.normalisation import apply_chain, pooled_mean_std, zscore

    keys = list(maps)
    arrays = [maps[k] for k in keys]
    ms = [None if masks is None else masks.get(k) for k in keys]
    for step in chain:
        if step == "zscore":
            mean, std = pooled_mean_std(arrays, ms)
            arrays = [zscore(a, mean, std, mask=m) for a, m in zip(arrays, ms, strict=True)]
        else:
            arrays = [apply_chain(a, [step], mask=m) for a, m in zip(arrays, ms, strict=True)]
    return dict(zip(keys, arrays, strict=True))


def _shared_fit(xs: dict, cfg: dict, out, progress):
    """Fit the latent projection and the clustering on a balanced sample of every input, then
    project and assign every pixel (:func:`~sigma.clustering.predict_clusters`)."""
    from ..clustering import fit_clusters, predict_clusters
    from ..clustering.auto_k import auto_request, start_size

    keys = list(xs)
    sh, cl = cfg["shared"], cfg["clustering"]
    sizes = [len(xs[p]) for p in keys]
    idx = balanced_sample(sizes, sh["pixels_per_input"], sh["seed"])
    n_each = max(len(i) for i in idx)
    small = [f"{_stem(p)} ({len(i)})" for p, i in zip(keys, idx, strict=True) if len(i) < n_each]
    if small:
        log.warning("shared fit: %s give all their pixels, fewer than the %d of the others; "
                    "their phases weigh less in the fit", ", ".join(small), n_each)  # fmt: skip
    sample = np.concatenate([xs[p][i] for p, i in zip(keys, idx, strict=True)])
    k = cl["method_args"].get("n_components") or cl["method_args"].get("n_clusters") or 0
    need = max(MIN_SHARED_PIXELS, int(k) if isinstance(k, int) else 0)
    if len(sample) < need:
        raise bad_value(
            "shared.pixels_per_input", sh["pixels_per_input"],
            f"inputs with at least {need} pixels together for a shared fit; these have "
            f"{len(sample)} ({', '.join(f'{_stem(p)}: {s}' for p, s in zip(keys, sizes, strict=True))}"
            f" after binning)",
        )  # fmt: skip
    log.info("shared fit on %d pixels (%s)", len(sample),
             ", ".join(f"{_stem(p)}: {len(i)}" for p, i in zip(keys, idx, strict=True)))  # fmt: skip
    tfit = StageTimer(prefix="shared: ")
    # the autoencoder's working folder: locked while in use, removed however the fit ends
    # (error, Ctrl-C, SIGTERM); one left by a killed run is removed by the next run
    clean_stale_staging(out)
    work = StagingDir(out, ".shared-autoencoder") if cfg["latent"]["method"] == "autoencoder" else None
    try:
        with tfit("latent"):
            proj = LatentProjector(cfg["latent"], progress=progress,
                                   work_dir=work.path if work is not None else None)
            proj.fit(sample)
            latents = {p: proj.transform(xs[p]) for p in keys}
        with tfit("clustering"):
            args = dict(cl["method_args"])
            auto_key = auto_request(cl["method"], args)
            if auto_key is not None:  # over-segment; the phases are decided from the counts
                args[auto_key] = start_size(cl["max_components"], len(sample))
            fit = fit_clusters(proj.fit_latent_, cl["method"], args,
                               random_state=cl["method_args"].get("random_state", 0) or 0)
            assigned = {p: predict_clusters(fit, latents[p]) for p in keys}
    finally:
        if work is not None:
            work.remove()
    return idx, latents, fit, assigned, tfit


#: Columns of left-out pixels between two inputs in the mosaic of :func:`_auto_across` (the
#: count model looks two pixels around each pixel).
_MOSAIC_GAP = 3


def _auto_across(datasets: dict, assigned: dict, cl: dict, seed: int = 0):
    """``n_components = "auto"`` for shared phases: the over-segmentation labels of every input
    laid side by side (a mosaic with gaps) and :func:`~sigma.clustering.auto_k.find_phases` run
    once, so phase *k* is the same spectrum in every input. Returns the new
    ``{input: ClusterFit}`` (labels and probabilities of the phases) and the evidence."""
    from ..clustering._identify import _dataset_kind
    from ..clustering.auto_k import (
        boundary_exponent,
        enclosed_share,
        film_share,
        find_phases,
        intensity_weight,
    )
    from ..preprocessing.spectral_features import band_counts, energy_bands

    keys = list(assigned)
    cubes = {p: datasets[p].analysis_spectra.data for p in keys}
    if len({c.shape[2] for c in cubes.values()}) != 1:
        raise bad_value("clustering.method_args.n_components", "auto",
                        "a fixed number with --shared-phases when the inputs' spectra have "
                        "different numbers of channels")
    total = sum(datasets[p].analysis_sum_spectrum() for p in keys)
    edges = energy_bands(total, 64)
    ys = {p: band_counts(cubes[p], edges) for p in keys}
    hmax = max(y.shape[0] for y in ys.values())
    width = sum(y.shape[1] for y in ys.values()) + _MOSAIC_GAP * (len(keys) - 1)
    mosaic = np.zeros((hmax, width, len(edges) - 1), np.float32)
    start = np.full((hmax, width), -1, np.int32)
    where, x0 = {}, 0
    for p in keys:
        h, w, _ = ys[p].shape
        mosaic[:h, x0 : x0 + w] = ys[p]
        lab = np.asarray(assigned[p].labels, np.int32).reshape(h, w).copy()
        valid = getattr(datasets[p], "valid_mask", None)
        if valid is not None and np.shape(valid) == (h, w):
            lab[~np.asarray(valid, bool)] = -1  # pixels outside the scan tell nothing
        start[:h, x0 : x0 + w] = lab
        where[p] = (h, w, x0)
        x0 += w + _MOSAIC_GAP
    # the count rate only where it is the mass thickness (every input a thin sample); across
    # bulk maps it also holds each acquisition's beam current
    thin = all(_dataset_kind(datasets[p]) == "TEM" for p in keys)
    res = find_phases(mosaic, start, smoothness=cl["smoothness"], intensity=intensity_weight(thin),
                      boundary=boundary_exponent(thin), enclosed=enclosed_share(thin), on_film=film_share(thin),
                      random_state=seed)  # fmt: skip
    k = res.evidence.n_components
    out = {}
    for p, (h, w, x) in where.items():
        out[p] = replace(assigned[p], labels=res.labels[:h, x : x + w].ravel(),
                         proba=res.proba[:h, x : x + w].reshape(h * w, k), membership=None)
    return out, res.evidence


def run_shared(paths, cfg: dict, out, *, overwrite=False, progress=True, lazy=None,
               options=None) -> list[RunResult]:
    """One latent space and one clustering for all inputs (see the module notes)."""
    from ..clustering import PixelSegmenter
    from ..clustering.auto_k import auto_request

    paths = [Path(p) for p in paths]
    results = {p: RunResult(input=p, stem=_stem(p)) for p in paths}
    timers = {p: StageTimer(prefix=f"{results[p].stem}: ") for p in paths}
    datasets = {}
    for p in paths:
        try:
            check_free(Path(out) / results[p].stem, overwrite, protect=paths)
            with timers[p]("load"):
                ds = load_dataset(p, cfg, lazy=lazy)
            with timers[p]("preprocess"):
                preprocess_dataset(ds, cfg)
            datasets[p] = ds
        except (SigmaError, OSError, ValueError, RuntimeError, TypeError, KeyError, IndexError) as exc:
            _fail(results[p], exc)
    if not datasets:
        return list(results.values())
    f = cfg["features"]
    if f["lines"] == "auto":
        feats = sorted({x for ds in datasets.values() for x in ds.xray_lines})
        if f["min_line_counts"] > 0:
            # a line stays when it is strong enough in at least one input
            strong = set()
            for ds in datasets.values():
                strong |= set(ds.xray_lines) - set(_weak_lines(ds, f["min_line_counts"]))
            dropped = [x for x in feats if x not in strong]
            if dropped and strong:
                log.warning("dropped %s from the shared feature list: fewer than %g counts per pixel "
                            "in their brightest 5 %% of pixels in every input", ", ".join(dropped),
                            f["min_line_counts"])
                feats = [x for x in feats if x in strong]
        log.info("shared feature list (union of the inputs' lines): %s", feats)
    else:
        feats = list(f["lines"])
    if f["bse"]:
        feats = [*feats, "Navigator"]
    maps = {}
    for p in list(datasets):
        try:
            with timers[p]("features"):
                maps[p] = _raw_feature_maps(datasets[p], feats)
        except (SigmaError, OSError, ValueError, RuntimeError) as exc:
            _fail(results[p], exc)
            del datasets[p]
    if not datasets:
        return list(results.values())
    keys = list(datasets)
    t0 = StageTimer()
    chain = list(f["normalisation"])
    with t0("features"):
        features = _pooled_features(maps, chain, {p: getattr(datasets[p], "valid_mask", None) for p in keys})
    del maps
    xs = {p: features[p].reshape(-1, features[p].shape[-1]) for p in keys}
    if f["source"] != "lines":
        log.warning("features.source = %r is not used with --shared-phases (each input would get "
                    "its own PCA basis); the line maps are used", f["source"])
    cl = cfg["clustering"]
    evidence = None
    try:
        idx, latents, fit, assigned, tfit = _shared_fit(xs, cfg, out, progress)
        if auto_request(cl["method"], cl["method_args"]) is not None:
            with tfit("clustering_auto"):
                assigned, evidence = _auto_across(datasets, assigned, cl, cfg["shared"]["seed"])
    except (SigmaError, ValueError, RuntimeError, TypeError, MemoryError) as exc:
        for p in keys:
            _fail(results[p], exc if isinstance(exc, SigmaError) else
                  RuntimeError(f"the shared fit failed ({type(exc).__name__}: {exc})"))  # fmt: skip
        return list(results.values())
    shared_info = {
        "inputs": [str(p) for p in keys],
        "pixels_per_input": int(max(len(i) for i in idx)),
        "pixels_sampled": {_stem(p): int(len(i)) for p, i in zip(keys, idx, strict=True)},
        "feature_list": feats,
        "zscore": "pooled over all inputs",
        "timings_s": dict(tfit.timings),
    }
    for p in keys:
        res, timer = results[p], timers[p]
        timer.timings["features"] = round(timer.timings.get("features", 0) + t0.timings["features"] / len(keys), 4)
        for k, v in tfit.timings.items():
            timer.timings[f"shared_{k}"] = v
        record = _base_record(p, cfg, {**(options or {}), "shared_phases": True})
        record["shared"] = shared_info
        bar = _bar(5, res.stem, progress)  # nmf, features, identify, outputs, report
        try:
            with StagedOutput(out, res.stem, overwrite=overwrite, protect=paths) as stage:
                a = assigned[p]
                with timer("clustering"):
                    ps = PixelSegmenter.from_labels(
                        latents[p], datasets[p], a.labels.reshape(features[p].shape[:2]),
                        proba=a.proba, membership=a.membership, features=features[p],
                        feature_list=feats, method=f"{cl['method']} (shared)",
                        method_args=dict(cl["method_args"]), model=None if evidence is not None else fit.model,
                    )
                    ps.n_components_evidence = evidence
                _tick(bar)
                unmix, failed = _unmix_stage(ps, cfg, timer, progress)
                _tick(bar)
                record["dataset"] = _dataset_record(datasets[p])
                record["dataset"]["normalisation_chain"] = [
                    "zscore (pooled over all inputs)" if c == "zscore" else c for c in chain]
                _finish(stage, ps, datasets[p], cfg, unmix, record, timer, bar, None, progress,
                        failed=failed)
            _done(res, stage.final, record)
        except STAGE_ERRORS as exc:
            _fail(res, exc)
        finally:
            bar.close()
            res.timings = dict(timer.timings)
    done = [results[p] for p in keys if results[p].out_dir is not None]
    if done:
        ids = sorted({int(i) for r in done for i in r.proportions})
        rows = [[i, *[r.proportions.get(str(i), 0.0) for r in done]] for i in ids]
        ledger = FileLedger(out)
        ledger.check_writable(["shared_proportions.csv"])
        ledger.record([atomic_write_csv(Path(out) / "shared_proportions.csv",
                                        ["cluster", *[r.stem for r in done]], rows)])
    return list(results.values())


