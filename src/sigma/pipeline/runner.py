"""The pipeline runner: the tutorial's notebook as stages, for one file or a batch.

Stages per input (timed, logged, shown as a progress bar): ``load`` → ``preprocess`` (rebin,
spectrum normalisation, remove the first peak) → ``features`` (line maps, optional BSE image,
normalisation chain) → ``latent`` (UMAP or autoencoder) → ``clustering``
(:class:`~sigma.clustering.PixelSegmenter`) → ``nmf`` (unmixing, abundance maps) → ``outputs``
→ ``report``. Everything is written into ``OUT/.<stem>.partial-XXXX/`` and renamed to
``OUT/<stem>/`` at the end (:class:`~sigma.pipeline.outputs.StagedOutput`), so an error or Ctrl-C
leaves no half-written output.

With ``shared_phases=True`` all inputs are prepared first; one latent projection and one
clusterer are fitted on a balanced sample (the same number of pixels from every input), then
every pixel of every input is projected (UMAP ``transform`` / autoencoder ``encode``) and
assigned (``predict``, or the nearest sampled neighbour for HDBSCAN), so cluster *k* is the same
phase in every map. The ``zscore`` step then uses statistics pooled over all inputs, so a
feature value means the same in every file.

A file that fails is reported and skipped; the batch goes on (see :class:`RunResult`).

Examples
--------
>>> import tempfile, pathlib
>>> from sigma.synthetic import make_phantom
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> src = make_phantom((24, 32), counts_per_pixel=200, n_channels=512, energy_scale=0.04,
...                    seed=1).save_hspy(tmp / "ph.hspy")
>>> cfg = validate_config({"preprocess": {"bin": [1, 1]},
...     "latent": {"method": "autoencoder", "autoencoder": {"hidden_layer_sizes": [16],
...                "run": {"num_epochs": 2, "batch_size": 128, "learning_rate": 1e-3}}},
...     "clustering": {"method_args": {"n_components": 5, "random_state": 0}},
...     "nmf": {"n_components": 3}, "report": {"enabled": False}})
>>> [res] = run_batch([src], cfg, tmp / "out", progress=False)
>>> res.ok, sorted(p.name for p in res.out_dir.iterdir())[:3]
(True, ['abundance_maps.npy', 'abundance_maps.png', 'autoencoder'])
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._errors import SigmaError, bad_value
from .config import validate_config
from .latent import LatentProjector, balanced_sample
from .outputs import (
    StagedOutput,
    atomic_write_bytes,
    atomic_write_csv,
    atomic_write_npy,
    atomic_write_text,
    atomic_write_tiff,
    check_free,
)
from .provenance import StageTimer, environment, input_record, package_versions

log = logging.getLogger(__name__)

__all__ = ["RunResult", "prepare_dataset", "run_batch", "STAGES"]

#: The stages of one input, in order.
STAGES = ("load", "preprocess", "features", "latent", "clustering", "nmf", "outputs", "report")

#: Name of the segmenter state file inside ``OUT/<stem>/``.
STATE_FILE = "segmenter_state.npz"


@dataclass
class RunResult:
    """What happened to one input.

    Attributes
    ----------
    input : Path
    stem : str
        Name of its output folder.
    ok : bool
    out_dir, report : Path or None
        ``OUT/<stem>`` and its ``report.html`` when done.
    error : str or None
        One-line reason of the failure.
    timings : dict
        Seconds per stage.
    proportions : dict
        Cluster id → area fraction.

    Examples
    --------
    :func:`run_batch` returns one per input:

    >>> from pathlib import Path
    >>> r = RunResult(Path("map.hspy"), "map", error="map.hspy does not exist")
    >>> r.ok, r.out_dir, r.timings
    (False, None, {})
    """

    input: Path
    stem: str
    ok: bool = False
    out_dir: Path | None = None
    report: Path | None = None
    error: str | None = None
    timings: dict = field(default_factory=dict)
    proportions: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- helpers
def _stem(path: Path) -> str:
    return path.name if path.is_dir() else path.stem


def _bar(total: int, desc: str, progress: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not progress, leave=False, unit="stage")


def _dataset_class(kind: str):
    from ..datasets import SEMDataset, TEMDataset

    return SEMDataset if kind == "SEM" else TEMDataset


def load_dataset(path, cfg: dict, *, lazy: bool | None = None):
    """Open ``path`` as the configured dataset class (stage ``load``)."""
    inp = cfg["input"]
    lazy = inp["lazy"] if lazy is None else lazy
    cls = _dataset_class(inp["kind"])
    return cls(Path(path), nag_file_path=inp["nav_image"] or None, lazy=lazy, **inp["reader_args"])


def preprocess_dataset(ds, cfg: dict) -> None:
    """Rebin, normalise each spectrum and crop the zero-energy peak (stage ``preprocess``)."""
    p = cfg["preprocess"]
    if tuple(p["bin"]) != (1, 1):
        ds.rebin_signal(size=tuple(p["bin"]))
    if p["peak_intensity_normalisation"]:
        ds.peak_intensity_normalisation()
    if p["remove_first_peak"] is not False:
        ds.remove_first_peak(end=p["remove_first_peak"])


def feature_dataset(ds, cfg: dict, feature_list=None) -> np.ndarray:
    """Line maps, optional BSE feature and the normalisation chain (stage ``features``)."""
    f = cfg["features"]
    lines = feature_list if feature_list is not None else (None if f["lines"] == "auto" else f["lines"])
    if lines is not None:
        ds.set_feature_list(list(lines))
    elif f["min_line_counts"] > 0:
        _drop_weak_lines(ds, f["min_line_counts"])
    if f["bse"]:
        return ds.get_feature_maps_with_nav_img(normalisation=f["normalisation"])
    if "Navigator" in ds.feature_list and feature_list is None and f["lines"] == "auto":
        ds.set_feature_list([x for x in ds.feature_list if x != "Navigator"])
    return ds.normalisation(f["normalisation"])


def _weak_lines(ds, min_counts: float, lines=None) -> list[str]:
    """``ds.weak_lines``, or ``[]`` (keep every line) when the dataset has no counts to judge by."""
    try:
        return ds.weak_lines(min_counts, lines)
    except SigmaError as exc:  # no counts kept (e.g. normalised spectra without their counts)
        log.info("line counts unavailable (%s); keeping every line", exc)
        return []


def _drop_weak_lines(ds, min_counts: float) -> list[str]:
    """Drop the automatically chosen lines that are too weak per pixel (``min_line_counts``).

    Their window sums are cached by the dataset, so the following normalisation reads the
    spectra no more. At least one line is kept. Returns the dropped lines.
    """
    weak = _weak_lines(ds, min_counts)
    keep = [x for x in ds.feature_list if x not in weak]
    if weak and any(x != "Navigator" for x in keep):
        log.warning(
            "dropped %s from the automatic feature list: fewer than %g counts per pixel in "
            "their brightest 5 %% of pixels (set features.min_line_counts = 0 to keep them)",
            ", ".join(weak), min_counts,
        )
        ds.set_feature_list(keep)
        return weak
    return []


def prepare_dataset(path, cfg: dict, timer: StageTimer | None = None, *, lazy=None, bar=None):
    """Load, pre-process and compute the normalised features of one input.

    Examples
    --------
    >>> from sigma.synthetic import make_phantom
    >>> cfg = validate_config({"preprocess": {"bin": [2, 2]}})
    >>> ds = prepare_dataset(make_phantom((8, 10), n_channels=256, energy_scale=0.08).to_signal(), cfg)
    >>> ds.normalised_elemental_data.shape  # C_Ka is too weak per pixel and left out
    (4, 5, 7)
    """
    timer = timer or StageTimer()
    with timer("load"):
        ds = load_dataset(path, cfg, lazy=lazy) if not hasattr(path, "axes_manager") else (
            _dataset_class(cfg["input"]["kind"])(path)
        )
    _tick(bar)
    with timer("preprocess"):
        preprocess_dataset(ds, cfg)
    _tick(bar)
    with timer("features"):
        feature_dataset(ds, cfg)
    _tick(bar)
    return ds


def _tick(bar, n=1):
    if bar is not None:
        bar.update(n)


def _flat_features(ds) -> np.ndarray:
    x = np.asarray(ds.normalised_elemental_data, dtype=np.float32)
    return x.reshape(-1, x.shape[-1])


def _segment(latent, ds, cfg: dict, method=None):
    from ..clustering import PixelSegmenter

    cl = cfg["clustering"]
    if method is not None:
        return PixelSegmenter(latent, ds, method, None)
    refine = None if cl["refine"] == "none" else cl["refine"]
    return PixelSegmenter(latent, ds, cl["method"], dict(cl["method_args"]),
                          random_state=cl["method_args"].get("random_state", 0) or 0,
                          refine=refine, refine_args={"smoothness": cl["smoothness"]})


def _unmix(ps, cfg: dict, progress: bool):
    """NMF on the cluster spectra and per-pixel abundances; ``None`` when disabled/impossible."""
    n = cfg["nmf"]
    if not n["enabled"]:
        return None
    ids = ps.cluster_ids.tolist() if n["clusters"] == "All" else list(n["clusters"])
    k = n["n_components"]
    if k != "All" and k > len(ids):
        log.warning("nmf.n_components = %d but only %d clusters: using %d", k, len(ids), len(ids))
        k = len(ids)
    if not ids:
        log.warning("no clusters: NMF skipped")
        return None
    args = dict(n["method_args"])
    seeds = n["seed_clusters"]
    if seeds == "auto":
        # K cluster spectra into K end-members: any invertible mixing fits equally well, and an
        # unseeded NMF returns rotated mixtures (phantom: up to 66 degrees off); seeded, the
        # end-members start from, and stay near, the cluster spectra.
        seeds = list(ids) if k == "All" or k == len(ids) else []
        if seeds:
            log.info("nmf.seed_clusters = 'auto': every cluster seeds the NMF (%d components)", len(ids))
    if seeds:
        w, c = ps.get_unmixed_spectra_profile_init_guess(
            clusters_to_be_calculated=n["clusters"], n_components=k, normalised=n["normalised"],
            method=n["method"], method_args=args, seed_clusters=list(seeds),
        )
    else:
        w, c = ps.get_unmixed_spectra_profile(
            clusters_to_be_calculated=n["clusters"], n_components=k, normalised=n["normalised"],
            method=n["method"], method_args=args,
        )
    ab = ps.abundance_maps(progress=progress)
    return {"weights": np.asarray(w), "components": np.asarray(c), "abundance": np.asarray(ab),
            "cluster_ids": np.asarray(ps.nmf_cluster_ids)}


# ----------------------------------------------------------------------------- outputs
def _png(fig) -> bytes:
    from ..plot import figure_to_png

    return figure_to_png(fig, dpi=110)


def write_outputs(folder: Path, ps, ds, cfg: dict, unmix, record: dict) -> dict:
    """Write every per-input file into ``folder``; returns ``{name: relative path}``."""
    from ..plot import new_figure, plot_feature_maps, plot_phase_map

    folder = Path(folder)
    files = {}
    labels = np.asarray(ps.labels, dtype=np.int32)
    fig = new_figure((6, 5), layout="constrained")
    plot_phase_map(ps, alpha=cfg["report"]["alpha"], ax=fig.add_subplot())
    files["phase_map"] = atomic_write_bytes(folder / "phase_map.png", _png(fig))
    files["labels_npy"] = atomic_write_npy(folder / "labels.npy", labels)
    files["labels_tiff"] = atomic_write_tiff(folder / "labels.tiff", labels)
    if cfg["masks"]["export"]:
        hr = cfg["masks"]["high_res_path"] or None
        _export_masks(ps, folder / "masks", hr)
        files["masks"] = folder / "masks"
    energy = np.asarray(ps.energy_axis, dtype=float)
    ids = ps.cluster_ids.tolist()
    ps.get_cluster_spectra("sum", progress=False)  # one pass; the mean is derived from it
    spec = np.asarray(ps.get_cluster_spectra("mean"), dtype=float)
    files["cluster_spectra"] = atomic_write_csv(
        folder / "cluster_spectra.csv", ["energy_keV", *[f"cluster_{i}" for i in ids]],
        np.column_stack([energy, spec.T]) if len(ids) else energy[:, None],
    )
    props = ps.phase_proportions(exclude_noise=True)
    props_all = ps.phase_proportions(exclude_noise=False)
    rows = [[i, ps.colors.get(i, ""), int(c), float(p), float(pa)]
            for i, c, p, pa in zip(ids, ps.counts, props, props_all, strict=True)]
    if ps.noise_count:
        rows.append([-1, ps.colors.get(-1, ""), int(ps.noise_count), 0.0, ps.noise_count / ps.n_pixels])
    files["phase_proportions"] = atomic_write_csv(
        folder / "phase_proportions.csv",
        ["cluster", "color", "pixels", "fraction", "fraction_of_all_pixels"], rows,
    )
    if unmix is not None:
        w, c, ab = unmix["weights"], unmix["components"], unmix["abundance"]
        k = c.shape[0]
        files["nmf_weights"] = atomic_write_csv(
            folder / "nmf_weights.csv", ["cluster", *[f"w_{j}" for j in range(k)]],
            [[int(i), *row] for i, row in zip(unmix["cluster_ids"], w, strict=True)],
        )
        files["nmf_components"] = atomic_write_csv(
            folder / "nmf_components.csv", ["energy_keV", *[f"component_{j}" for j in range(k)]],
            np.column_stack([energy, c.T]),
        )
        files["abundance_npy"] = atomic_write_npy(folder / "abundance_maps.npy", ab.astype(np.float32))
        fig = plot_feature_maps(ab, [f"component {j}" for j in range(k)], title="NMF abundance maps")
        files["abundance_png"] = atomic_write_bytes(folder / "abundance_maps.png", _png(fig))
    files["state"] = ps.save_state(folder / STATE_FILE)
    record["outputs"] = sorted(str(Path(p).relative_to(folder)) for p in files.values())
    record["results"] = {
        "n_clusters": len(ids),
        "noise_pixels": int(ps.noise_count),
        "grid": [int(ps.height), int(ps.width)],
        "proportions": {str(i): float(p) for i, p in zip(ids, props, strict=True)},
        "colors": {str(k): v for k, v in ps.colors.items()},
    }
    if unmix is not None:
        record["results"]["nmf_reconstruction_error"] = _float_or_none(ps.nmf_reconstruction_error)
    return files


def _export_masks(ps, folder: Path, high_res_path):
    """``ps.export_cluster_masks``; if that fails on a file-handle quirk of tifffile (a file
    object whose ``name`` is an int), the same masks are written here with the same names."""
    try:
        return ps.export_cluster_masks(output_dir=folder, high_res_path=high_res_path)
    except TypeError as exc:
        from ..clustering import read_image_shape, upscale_labels

        log.warning("export_cluster_masks failed (%s); writing the masks directly", exc)
        lab = np.asarray(ps.labels)
        if high_res_path:
            lab = upscale_labels(lab, read_image_shape(high_res_path))
        return [atomic_write_tiff(folder / f"cluster_{int(i)}.tiff",
                                  np.where(lab == int(i), np.uint8(255), np.uint8(0)))
                for i in ps.cluster_ids]


def _float_or_none(v):
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None


def _dataset_record(ds) -> dict:
    e = np.asarray(ds.energy_axis)
    return {
        "class": type(ds).__name__,
        "raw_shape": [int(s) for s in ds.spectra.data.shape],
        "grid": [int(s) for s in ds.shape],
        "bin_size": [int(s) for s in ds.bin_size],
        "lazy": bool(ds.lazy),
        "energy_axis_keV": {"start": float(e[0]), "stop": float(e[-1]), "channels": int(e.size)},
        "feature_list": list(ds.feature_list),
        "normalisation_chain": list(getattr(ds, "norm_chain", [])),
        "navigation_image": getattr(ds, "_nav_title", None),
        "beam_energy_kv": ds.info.beam_energy,
        "fwhm_mnka_ev": ds.fwhm_mnka,
    }


def _base_record(path, cfg, options) -> dict:
    return {
        "sigma2_run": 1,
        "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "input": input_record(path) if Path(path).exists() else {"path": str(path)},
        "config": cfg,
        "options": options,
        "versions": package_versions(),
        "environment": environment(),
    }


def _finish(stage: StagedOutput, ps, ds, cfg, unmix, record, timer, bar, report_extra, progress,
            after_outputs=None):
    folder = stage.path
    with timer("outputs"):
        write_outputs(folder, ps, ds, cfg, unmix, record)
        if after_outputs is not None:
            record["extra"] = after_outputs(ps, record) or {}
    _tick(bar)
    report_path = None
    with timer("report"):
        if cfg["report"]["enabled"]:
            from ..report import build_report

            html = build_report(ps, ds, cfg, unmix=unmix, record=record, extra=report_extra)
            report_path = atomic_write_text(folder / "report.html", html)
            record["outputs"] = sorted({*record["outputs"], "report.html"})
    _tick(bar)
    record["timings_s"] = dict(timer.timings)
    record["finished"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    record["outputs"] = sorted({*record["outputs"], "run.json"})
    atomic_write_text(folder / "run.json", json.dumps(record, indent=2, default=_json_default))
    return report_path


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    return repr(o)


def _fail(res: RunResult, exc: BaseException) -> RunResult:
    res.ok = False
    res.error = f"{type(exc).__name__}: {exc}"
    if "serializ" in str(exc) or "cannot be pickled" in str(exc):
        res.error += (" (this file's lazy reader cannot ship its chunks to dask workers; run it "
                      "without --workers/--scheduler, or convert it to .h5oina)")
    log.error("%s failed: %s", res.input, res.error)
    log.debug("%s", "".join(traceback.format_exception(exc)))
    return res


# ----------------------------------------------------------------------------- one input
def run_one(path, cfg: dict, out, *, overwrite=False, progress=True, lazy=None, options=None,
            report_extra=None, after_outputs=None) -> RunResult:
    """Run every stage on one input; errors are caught and reported in the result
    (``KeyboardInterrupt`` is not: it removes the partial output and propagates)."""
    path = Path(path)
    res = RunResult(input=path, stem=_stem(path))
    timer = StageTimer(prefix=f"{res.stem}: ")
    record = _base_record(path, cfg, options or {})
    bar = _bar(len(STAGES), res.stem, progress)
    try:
        with StagedOutput(out, res.stem, overwrite=overwrite) as stage:
            ds = prepare_dataset(path, cfg, timer, lazy=lazy, bar=bar)
            x = _flat_features(ds)
            with timer("latent"):
                proj = LatentProjector(cfg["latent"], work_dir=stage.path / "autoencoder",
                                       progress=progress)
                latent = proj.fit_transform_sampled(x, cfg["latent"]["fit_pixels"],
                                                    seed=cfg["shared"]["seed"])
            _tick(bar)
            with timer("clustering"):
                ps = _segment(latent, ds, cfg)
            _tick(bar)
            with timer("nmf"):
                unmix = _unmix(ps, cfg, progress)
            _tick(bar)
            record["dataset"] = _dataset_record(ds)
            res.report = _finish(stage, ps, ds, cfg, unmix, record, timer, bar, report_extra, progress,
                                 after_outputs)
        res.ok, res.out_dir = True, stage.final
        res.report = stage.final / "report.html" if res.report else None
        res.proportions = record["results"]["proportions"]
    except (SigmaError, OSError, ValueError, RuntimeError, TypeError, KeyError, IndexError,
            MemoryError) as exc:
        _fail(res, exc)
    finally:
        bar.close()
        res.timings = dict(timer.timings)
    return res


# ----------------------------------------------------------------------------- shared phases
class _Assigned:
    """An "estimator" whose ``fit_predict`` returns labels assigned elsewhere (shared fit)."""

    def __init__(self, labels, proba=None):
        self.labels = np.asarray(labels, dtype=np.int32)
        if proba is not None:
            self._proba = np.asarray(proba, dtype=np.float32)

    def fit_predict(self, x):
        return self.labels

    def __getattr__(self, name):
        if name == "predict_proba" and "_proba" in self.__dict__:
            return lambda x: self._proba
        raise AttributeError(name)

    def __repr__(self):
        return "SharedPhases()"


def _shared_zscore(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """zscore with mean and std pooled over all inputs (each input weighted by its pixels)."""
    flat = np.concatenate([a.reshape(-1, a.shape[-1]) for a in arrays]).astype(np.float64)
    mean, std = flat.mean(0), flat.std(0)
    safe = np.where(std > 0, std, 1.0)
    out = []
    for a in arrays:
        z = ((a - mean) / safe).astype(np.float32)
        z[..., std == 0] = 0.0
        out.append(z)
    return out


def _raw_feature_maps(ds, feature_list) -> np.ndarray:
    """Un-normalised feature maps of one dataset with the given features."""
    ds.set_feature_list(list(feature_list))
    return ds.get_feature_maps(list(feature_list))


def _pooled_chain(datasets: dict, maps: dict, chain) -> None:
    """Apply the normalisation chain to every input, zscore with pooled statistics."""
    from ..preprocessing.normalisation import apply_chain

    keys = list(maps)
    arrays = [maps[k] for k in keys]
    for step in chain:
        if step == "zscore":
            arrays = _shared_zscore(arrays)
        else:
            arrays = [apply_chain(a, [step]) for a in arrays]
    for k, a in zip(keys, arrays, strict=True):
        ds = datasets[k]
        ds.normalised_elemental_data = a
        ds.norm_chain = list(chain)
        ds.nav_img_feature = "Navigator" in ds.feature_list


def _assign(model, method: str, sample_latent, sample_labels, latent):
    """Labels (and probabilities) of new latent points from the clusterer fitted on the sample."""
    if hasattr(model, "predict") and method != "HDBSCAN":
        lab = np.asarray(model.predict(latent), dtype=np.int32)
        proba = model.predict_proba(latent) if hasattr(model, "predict_proba") else None
        return lab, proba
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=min(15, len(sample_latent))).fit(sample_latent, sample_labels)
    return knn.predict(latent).astype(np.int32), None


def run_shared(paths, cfg: dict, out, *, overwrite=False, progress=True, lazy=None,
               options=None) -> list[RunResult]:
    """One latent space and one clustering for all inputs (see the module notes)."""
    from ..clustering import fit_clusters

    paths = [Path(p) for p in paths]
    results = {p: RunResult(input=p, stem=_stem(p)) for p in paths}
    timers = {p: StageTimer(prefix=f"{results[p].stem}: ") for p in paths}
    datasets = {}
    for p in paths:
        try:
            check_free(Path(out) / results[p].stem, overwrite)
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
    with t0("features"):
        _pooled_chain(datasets, maps, f["normalisation"])
    del maps
    xs = {p: _flat_features(datasets[p]) for p in keys}
    sh = cfg["shared"]
    idx = balanced_sample([len(xs[p]) for p in keys], sh["pixels_per_input"], sh["seed"])
    sample = np.concatenate([xs[p][i] for p, i in zip(keys, idx, strict=True)])
    log.info("shared fit on %d pixels (%d from each of %d inputs)", len(sample), len(idx[0]), len(keys))
    tfit = StageTimer(prefix="shared: ")
    with tfit("latent"):
        work = Path(out) / ".shared-autoencoder"
        proj = LatentProjector(cfg["latent"], work_dir=work if cfg["latent"]["method"] == "autoencoder" else None,
                               progress=progress).fit(sample)
        latents = {p: proj.transform(xs[p]) for p in keys}
    cl = cfg["clustering"]
    with tfit("clustering"):
        fit = fit_clusters(proj.fit_latent_, cl["method"], dict(cl["method_args"]),
                           random_state=cl["method_args"].get("random_state", 0) or 0)
        assigned = {p: _assign(fit.model, cl["method"], proj.fit_latent_, fit.labels, latents[p]) for p in keys}
    if cfg["latent"]["method"] == "autoencoder":
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    shared_info = {
        "inputs": [str(p) for p in keys],
        "pixels_per_input": int(len(idx[0])),
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
        bar = _bar(4, res.stem, progress)
        try:
            with StagedOutput(out, res.stem, overwrite=overwrite) as stage:
                labels, proba = assigned[p]
                with timer("clustering"):
                    ps = _segment(latents[p], datasets[p], cfg, method=_Assigned(labels, proba))
                _tick(bar)
                with timer("nmf"):
                    unmix = _unmix(ps, cfg, progress)
                _tick(bar)
                record["dataset"] = _dataset_record(datasets[p])
                _finish(stage, ps, datasets[p], cfg, unmix, record, timer, bar, None, progress)
            res.ok, res.out_dir = True, stage.final
            res.report = stage.final / "report.html" if cfg["report"]["enabled"] else None
            res.proportions = record["results"]["proportions"]
        except (SigmaError, OSError, ValueError, RuntimeError, TypeError, KeyError, IndexError) as exc:
            _fail(res, exc)
        finally:
            bar.close()
            res.timings = dict(timer.timings)
    done = [results[p] for p in keys if results[p].ok]
    if done:
        ids = sorted({int(i) for r in done for i in r.proportions})
        rows = [[i, *[r.proportions.get(str(i), 0.0) for r in done]] for i in ids]
        atomic_write_csv(Path(out) / "shared_proportions.csv", ["cluster", *[r.stem for r in done]], rows)
    return list(results.values())


# ----------------------------------------------------------------------------- batch
def run_batch(inputs, cfg: dict | None, out, *, overwrite: bool = False, shared_phases: bool = False,
              workers: int | None = None, scheduler: str | None = None, progress: bool = True,
              config_path=None, report_extra=None, after_outputs=None) -> list[RunResult]:
    """Run the pipeline on every input (optionally with shared phases and on a dask cluster).

    Parameters
    ----------
    inputs : sequence of path-like
    cfg : dict or None
        A validated configuration (:func:`~sigma.pipeline.config.validate_config`); defaults if
        None.
    out : path-like
        Output folder; each input writes ``OUT/<stem>/``.
    overwrite : bool
        Replace existing ``OUT/<stem>/`` folders (otherwise they are an error, checked before
        any work).
    shared_phases : bool
        One latent space and clustering across all inputs.
    workers, scheduler
        dask.distributed scale-out (:func:`~sigma.pipeline.scaleout.dask_client`); the cube is
        then read lazily.
    progress : bool
        Progress bars.
    config_path : path-like, optional
        Recorded in ``run.json``.
    report_extra : dict, optional
        ``{heading: html}`` sections appended to each report.
    after_outputs : callable, optional
        ``f(segmenter, record) -> dict`` called after the outputs are written; its result is
        stored as ``extra`` in ``run.json`` (the demo scores against its ground truth here).

    Returns
    -------
    list of RunResult
        One per input, in order.

    Examples
    --------
    >>> import os, tempfile
    >>> from sigma.synthetic import make_phantom
    >>> from sigma.pipeline.config import validate_config
    >>> tmp = tempfile.mkdtemp()
    >>> src = make_phantom((16, 16)).save_hspy(os.path.join(tmp, "ph.hspy"))
    >>> cfg = validate_config({"latent": {"umap": {"n_neighbors": 10}}})
    >>> [res] = run_batch([src], cfg, os.path.join(tmp, "out"), progress=False)  # doctest: +SKIP
    >>> res.ok, res.out_dir.name, len(res.proportions)  # doctest: +SKIP
    (True, 'ph', 10)
    """
    from .scaleout import dask_client

    cfg = validate_config(cfg) if cfg is None else cfg
    inputs = [Path(p) for p in inputs]
    if not inputs:
        raise bad_value("inputs", inputs, "at least one input file")
    stems = [_stem(p) for p in inputs]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise bad_value("inputs", [str(p) for p in inputs],
                        f"files with distinct names (each writes OUT/<name>; repeated: {dupes})")
    out = Path(out)
    for s in stems:
        check_free(out / s, overwrite)
    if shared_phases:
        check_free(out / "shared_proportions.csv", overwrite)
    options = {
        "shared_phases": shared_phases, "workers": workers, "scheduler": scheduler,
        "overwrite": overwrite, "config_file": str(config_path) if config_path else None,
    }
    lazy = True if (workers or scheduler) else None
    with dask_client(workers, scheduler) as client:
        if client is not None:
            options["dask_dashboard"] = None
            options["dask_workers"] = len(client.scheduler_info().get("workers", {}))
        if shared_phases:
            return run_shared(inputs, cfg, out, overwrite=overwrite, progress=progress, lazy=lazy,
                              options=options)
        return [run_one(p, cfg, out, overwrite=overwrite, progress=progress, lazy=lazy,
                        options=options, report_extra=report_extra, after_outputs=after_outputs)
                for p in inputs]
