"""The pipeline's configuration: one TOML file holding every choice of the tutorial.

The schema below is the single source of truth: :func:`validate_config` checks a user's file
against it (unknown keys are errors with a "did you mean" suggestion, bad values name the dotted
key and what is accepted), :func:`default_config` gives the defaults and :func:`example_toml`
renders a documented example (``sigma config --example``).

Examples
--------
>>> cfg = validate_config({"latent": {"umap": {"n_neighbors": 30}}})
>>> cfg["latent"]["umap"]["n_neighbors"], cfg["latent"]["method"]
(30, 'umap')
>>> validate_config({"latent": {"umap": {"n_neighbours": 30}}})
Traceback (most recent call last):
...
sigma.pipeline.config.ConfigError: Unknown key 'latent.umap.n_neighbours'; did you mean 'latent.umap.n_neighbors'? Accepted keys in [latent.umap]: n_neighbors, min_dist, n_components, metric, random_state, n_epochs.
"""

from __future__ import annotations

import copy
import difflib
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import SigmaFileError, SigmaValueError, bad_file, bad_value

__all__ = [
    "CLUSTERING_METHODS",
    "ConfigError",
    "ConfigFileError",
    "NORMALISATIONS",
    "default_config",
    "example_toml",
    "load_config",
    "validate_config",
]


class ConfigError(SigmaValueError):
    """A configuration key is unknown or its value is not accepted.

    Examples
    --------
    >>> try:
    ...     validate_config({"latent": {"method": "pca"}})
    ... except ConfigError as exc:
    ...     print(exc)
    The 'latent.method' parameter must be one of 'umap', 'autoencoder'. Got 'pca' instead.
    """


class ConfigFileError(ConfigError, SigmaFileError):
    """The configuration file is missing, unreadable or not TOML: a :class:`ConfigError`
    (``sigma`` exits with status 2) that is also a file error (an ``OSError``).

    Examples
    --------
    >>> issubclass(ConfigFileError, ConfigError) and issubclass(ConfigFileError, OSError)
    True
    """


#: Feature normalisations, applied in the order listed (:mod:`sigma.preprocessing.normalisation`).
NORMALISATIONS = ("neighbour_averaging", "zscore", "softmax")

#: Clustering methods of :class:`~sigma.clustering.PixelSegmenter`: name -> "module:Class" of
#: the scikit-learn estimator (``Kmeans`` is the tutorial's spelling).
CLUSTERING_METHODS = {
    "GaussianMixture": "sklearn.mixture:GaussianMixture",
    "BayesianGaussianMixture": "sklearn.mixture:BayesianGaussianMixture",
    "Kmeans": "sklearn.cluster:KMeans",
    "Birch": "sklearn.cluster:Birch",
    "HDBSCAN": "sklearn.cluster:HDBSCAN",
}
#: ``n_components`` is accepted as a spelling of ``n_clusters`` for these methods.
_N_CLUSTERS_ALIAS = ("Kmeans", "Birch")
#: Methods that accept ``n_components = "auto"`` (:data:`sigma.clustering.auto_k.AUTO_METHODS`).
_AUTO_METHODS = ("GaussianMixture", "BayesianGaussianMixture", "Kmeans")

_FREE = object()  # marks a table whose keys are checked against an estimator, not the schema


# ------------------------------------------------------------------------------ checkers
def _err(key: str, value, expected: str) -> ConfigError:
    return ConfigError(str(bad_value(key, value, expected)))


def _bool(key, v):
    if not isinstance(v, bool):
        raise _err(key, v, "true or false")
    return v


def _int(lo=None, hi=None):
    def check(key, v):
        ok = isinstance(v, int) and not isinstance(v, bool)
        if not ok or (lo is not None and v < lo) or (hi is not None and v > hi):
            rng = f" in [{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
            raise _err(key, v, "an int" + rng)
        return v

    return check


def _float(lo=None, hi=None, lo_open=False):
    def check(key, v):
        ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        if ok and lo is not None:
            ok = v > lo if lo_open else v >= lo
        if ok and hi is not None:
            ok = v <= hi
        if not ok:
            left = "(" if lo_open else "["
            raise _err(key, v, f"a number in {left}{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]")
        return float(v)

    return check


def _choice(*values):
    def check(key, v):
        if v not in values:
            raise _err(key, v, "one of " + ", ".join(repr(x) for x in values))
        return v

    check.choices = values
    return check


def _str(key, v):
    if not isinstance(v, str):
        raise _err(key, v, "a string")
    return v


def _path_or_empty(key, v):
    if not isinstance(v, str):
        raise _err(key, v, 'a file path, or "" for none')
    return v


def _int_pair(key, v):
    if (
        not isinstance(v, list | tuple)
        or len(v) != 2
        or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in v)
    ):
        raise _err(key, v, "a pair of positive ints [ny, nx]")
    return [int(v[0]), int(v[1])]


def _int_list(lo=1, allow_empty=True):
    def check(key, v):
        if (
            not isinstance(v, list | tuple)
            or (not v and not allow_empty)
            or not all(isinstance(x, int) and not isinstance(x, bool) and x >= lo for x in v)
        ):
            raise _err(key, v, f"a list of ints >= {lo}")
        return [int(x) for x in v]

    return check


def _seeds(key, v):
    if v == "auto":
        return v
    try:
        return _int_list(lo=0)(key, v)
    except ConfigError:
        raise _err(key, v, "\"auto\" or a list of ints >= 0 (cluster ids)") from None


def _lines(key, v):
    if v == "auto":
        return v
    if not isinstance(v, list | tuple) or not v or not all(isinstance(x, str) and x for x in v):
        raise _err(key, v, "\"auto\" or a list of X-ray lines such as [\"Fe_Ka\", \"Si_Ka\"]")
    from ..xray import is_xray_line

    for x in v:
        if not is_xray_line(x):
            raise _err(key, x, "X-ray lines written Element_Line, such as 'Fe_Ka'")
    return list(v)


def _norm_chain(key, v):
    if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
        raise _err(key, v, "a list drawn from " + ", ".join(repr(x) for x in NORMALISATIONS))
    for x in v:
        if x not in NORMALISATIONS:
            raise _err(key, x, "one of " + ", ".join(repr(n) for n in NORMALISATIONS))
    return list(v)


def _end_or_false(key, v):
    if v is False:
        return v
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
        raise _err(key, v, "an energy in keV >= 0, or false to keep the zero-energy peak")
    return float(v)


def _all_or_int(key, v):
    if v == "All":
        return v
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise _err(key, v, '"All" or an int >= 1')
    return v


def _all_or_ints(key, v):
    if v == "All":
        return v
    return _int_list(lo=0, allow_empty=False)(key, v)


def _str_list(key, v):
    if not isinstance(v, list | tuple) or not all(isinstance(x, str) and x for x in v):
        raise _err(key, v, "a list of strings (may be empty)")
    return list(v)


def _elements_or_auto(key, v):
    if v == "auto":
        return v
    from ..identify.physics import is_element

    if not isinstance(v, list | tuple) or not all(isinstance(x, str) and is_element(x) for x in v):
        raise _err(key, v, '"auto" or a list of chemical symbols such as ["C", "Cu"]')
    return list(v)


def _phase_classes(key, v):
    v = _str_list(key, v)
    if v:
        from ..identify.library import default_library

        known = default_library().classes
        for x in v:
            if x not in known:
                close = difflib.get_close_matches(x, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise _err(key, x, "classes of the phase library" + hint + ": " + ", ".join(known))
    return v


def _probability(key, v):
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 1:
        raise _err(key, v, "a probability between 0 and 1 (exclusive)")
    return float(v)


@dataclass(frozen=True)
class Opt:
    """One leaf of the schema: default value, checker and one-line documentation."""

    default: Any
    check: Callable[[str, Any], Any]
    doc: str


@dataclass(frozen=True)
class Table:
    """A table of the schema; ``free`` tables pass their keys to an estimator."""

    doc: str
    items: dict | None = None
    free_default: dict | None = None
    empty_disables: bool = False


_SCHEMA = Table(
    "SIGMA2 pipeline configuration",
    {
        "input": Table(
            "How input files are opened (SEMDataset / TEMDataset).",
            {
                "kind": Opt("auto", _choice("auto", "SEM", "TEM"),
                            "SEMDataset or TEMDataset; \"auto\": TEMDataset for a file that says it holds EDS_TEM data, else SEMDataset"),
                "lazy": Opt(False, _bool, "read the cube lazily (dask, row chunks); forced on with --workers/--scheduler"),
                "nav_image": Opt("", _path_or_empty, "image file to use as navigation image (nag_file_path); \"\" uses the file's own"),
                "reader_args": Table(
                    "Extra keywords for the reader, e.g. site = 1 for .h5oina, energy_scale / energy_offset for .rpl.",
                    free_default={},
                ),
            },
        ),
        "preprocess": Table(
            "Pre-processing of the spectra (the tutorial's rebin / normalise / crop cell).",
            {
                "bin": Opt([3, 3], _int_pair, "rebin_signal(size=(ny, nx)); [1, 1] keeps full resolution"),
                "peak_intensity_normalisation": Opt(True, _bool, "scale every pixel's spectrum to sum 1"),
                "remove_first_peak": Opt(0.1, _end_or_false, "crop spectra below this energy (keV); false keeps them"),
            },
        ),
        "features": Table(
            "Feature vectors: X-ray line maps, optional BSE image, normalisation chain.",
            {
                "lines": Opt("auto", _lines, "\"auto\" (lines named by the file, else proposed from the sum spectrum) or a list such as [\"Fe_Ka\", \"Si_Ka\"]"),
                "second_look": Opt(True, _bool, "with lines = \"auto\" and a file naming no elements: after clustering, fit each cluster's summed spectrum (identification's element detection): add the line of an element significant (5 sigma) in a cluster that no feature line covers (a minority phase's element, buried in the sum spectrum), remove a proposed line whose element no cluster shows when another found element's line explains its peak (Cu Kb taken for Os La), and cluster once more if the list changed; run.json: dataset.lines_review"),
                "min_line_counts": Opt(2.0, _float(0.0), "with lines = \"auto\": drop lines with fewer counts per pixel than this in their brightest 5 % of pixels (maps of mostly 0s and 1s split phases once z-scored); 0 keeps every line"),
                "bse": Opt(False, _bool, "add the navigation image as the feature 'Navigator' (get_feature_maps_with_nav_img)"),
                "normalisation": Opt(["neighbour_averaging", "zscore"], _norm_chain, "applied in order; from " + ", ".join(NORMALISATIONS)),
                "source": Opt("lines", _choice("lines", "spectrum", "both"), "what the latent space sees: the line maps, Poisson-PCA scores of the whole binned spectrum (sigma.preprocessing.spectral_features, as HyperSpy's decomposition with normalize_poissonian_noise), or both side by side; the normalisation chain applies to each"),
                "spectrum_components": Opt(8, _int(1), "Poisson-PCA scores kept with source = \"spectrum\" or \"both\""),
            },
        ),
        "latent": Table(
            "Latent space projection.",
            {
                "method": Opt("umap", _choice("umap", "autoencoder"), "projection method"),
                "fit_pixels": Opt(20000, _int(0), "fit on at most this many random pixels and place/encode the rest; 0 fits on all (slow beyond ~50 000 pixels)"),
                "extend": Opt("knn", _choice("knn", "transform"), "UMAP: place the other pixels from their nearest fitted pixels (knn, fast) or with UMAP.transform"),
                "umap": Table(
                    "UMAP parameters (umap.UMAP).",
                    {
                        "n_neighbors": Opt(15, _int(2), "local (small) versus global (large) structure"),
                        "min_dist": Opt(0.02, _float(0.0), "minimum distance of points in latent space"),
                        "n_components": Opt(2, _int(1), "latent dimensions"),
                        "metric": Opt("euclidean", _str, "distance metric of the feature space"),
                        "random_state": Opt(0, _int(0), "seed (makes the projection reproducible)"),
                        "n_epochs": Opt(0, _int(0), "optimisation epochs; 0 lets UMAP choose (500 below 10000 pixels, else 200)"),
                    },
                ),
                "autoencoder": Table(
                    "Autoencoder (sigma.embedding.experiment.Experiment).",
                    {
                        "seed": Opt(2, _int(0), "same_seeds(seed) before building the model"),
                        "descriptor": Opt("zscore", _str, "run name; checkpoints in <out>/<stem>/autoencoder/Model-<descriptor>/"),
                        "model": Opt("AutoEncoder", _choice("AutoEncoder", "VariationalAutoEncoder"), "network class"),
                        "hidden_layer_sizes": Opt([512, 256, 128], _int_list(lo=1, allow_empty=False), "widths of the encoder's hidden layers"),
                        "latent_dim": Opt(2, _int(1), "latent dimensions"),
                        "save_model_every_epoch": Opt(False, _bool, "keep one checkpoint per epoch"),
                        "device": Opt("auto", _str, "\"auto\" (CUDA when available), \"cpu\", \"cuda\", \"mps\""),
                        "run": Table(
                            "Experiment.run_model options.",
                            {
                                "num_epochs": Opt(50, _int(1), "passes over the training pixels"),
                                "patience": Opt(50, _int(1), "epochs without improvement before stopping"),
                                "batch_size": Opt(64, _int(1), "pixels per optimiser step"),
                                "learning_rate": Opt(1e-4, _float(0.0, lo_open=True), "initial Adam learning rate"),
                                "weight_decay": Opt(0.0, _float(0.0), "Adam L2 penalty"),
                                "task": Opt("train_all", _choice("train_all", "train_eval"), "train on all pixels, or 85 % with 15 % held out"),
                                "noise_added": Opt(0.0, _float(0.0), "denoising: input noise relative to each feature's std"),
                                "KLD_lambda": Opt(0.0, _float(0.0), "> 0 trains a variational autoencoder"),
                                "criterion": Opt("MSE", _choice("MSE", "BCE", "L1"), "reconstruction loss"),
                                "lr_scheduler_args": Table(
                                    "ReduceLROnPlateau arguments (an empty table disables the scheduler).",
                                    {
                                        "factor": Opt(0.5, _float(0.0, 1.0, lo_open=True), "LR multiplier on plateau"),
                                        "patience": Opt(5, _int(0), "epochs without improvement before reducing"),
                                        "threshold": Opt(1e-2, _float(0.0), "minimum change that counts as improvement"),
                                        "min_lr": Opt(1e-6, _float(0.0), "lower bound on the learning rate"),
                                        "verbose": Opt(True, _bool, "log learning-rate changes"),
                                    },
                                    empty_disables=True,
                                ),
                            },
                        ),
                    },
                ),
            },
        ),
        "clustering": Table(
            "Clustering of the latent space (PixelSegmenter).",
            {
                "method": Opt("GaussianMixture", _choice(*CLUSTERING_METHODS), "one of " + ", ".join(CLUSTERING_METHODS)),
                "method_args": Table(
                    "Keywords of the estimator (checked against its parameters). HDBSCAN example: "
                    "{min_cluster_size = 10, min_samples = 10, cluster_selection_epsilon = 0.1}.",
                    free_default={"n_components": "auto", "random_state": 0, "init_params": "kmeans"},
                ),
                "max_components": Opt(20, _int(2), "with n_components = \"auto\" (GaussianMixture, BayesianGaussianMixture, Kmeans): clusters of the over-segmentation that the counts then merge into phases (sigma.clustering.auto_k)"),
                "refine": Opt("spectra", _choice("spectra", "none"), "with a fixed number of clusters: reassign each pixel to the cluster whose mean spectrum best explains its counts, with a neighbour prior (undoes the boundary blur of neighbour_averaging); n_components = \"auto\" always does this; not used with --shared-phases"),
                "smoothness": Opt(1.0, _float(0.0), "weight of each agreeing neighbour in that prior; 0 scores every pixel alone"),
            },
        ),
        "nmf": Table(
            "Unmixing of the cluster spectra (get_unmixed_spectra_profile[_init_guess]).",
            {
                "enabled": Opt(True, _bool, "run NMF and write weights, components and abundance maps"),
                "clusters": Opt("All", _all_or_ints, "\"All\" or a list of cluster ids (clusters_to_be_calculated)"),
                "n_components": Opt(4, _all_or_int, "number of end-members, or \"All\" (one per cluster)"),
                "normalised": Opt(False, _bool, "normalise the cluster spectra before NMF"),
                "method": Opt("NMF", _choice("NMF"), "unmixing algorithm"),
                "seed_clusters": Opt("auto", _seeds, "clusters whose spectra start the NMF (initial guess); [] uses method_args.init; \"auto\": every cluster when n_components equals the number of clusters (K spectra into K end-members have no unique unseeded answer), else []"),
                "method_args": Table(
                    "Keywords of sklearn.decomposition.NMF.",
                    free_default={"init": "nndsvd"},
                ),
            },
        ),
        "masks": Table(
            "Binary cluster masks (export_cluster_masks).",
            {
                "export": Opt(True, _bool, "write masks/cluster_<k>.tiff"),
                "high_res_path": Opt("", _path_or_empty, "image whose resolution the masks are upscaled to; \"\" keeps the map's"),
            },
        ),
        "shared": Table(
            "Batch with --shared-phases: one latent space and clustering for all inputs.",
            {
                "pixels_per_input": Opt(20000, _int(10), "balanced sample: pixels drawn from every input to fit the latent space and clusters"),
                "seed": Opt(0, _int(0), "seed of the sample"),
            },
        ),
        "identify": Table(
            "What each cluster is: elements, naming against a phase library, modal statistics, EMSA export.",
            {
                "enabled": Opt(True, _bool, "identify the clusters, write phase_identification.csv, modal statistics and EMSA spectra"),
                "classes": Opt([], _phase_classes, "restrict the bundled library to these classes, e.g. [\"sulfide\", \"oxide\"]; [] keeps all"),
                "library": Opt("", _path_or_empty, "a phase library CSV (columns name, formula, wt_percent, class, group, source, note) used instead of the bundled one; \"\" keeps the bundled"),
                "extra_library": Opt([], _str_list, "library CSV files whose entries are added to the library"),
                "references": Opt([], _str_list, "EMSA/MSA reference spectra added to the library (named by file stem), e.g. phases saved from another map"),
                "nuisance": Opt("auto", _elements_or_auto, "elements fitted but not held against a candidate (coating, grid): \"auto\" is Cu (grid) and C (support film) for TEM, none for SEM"),
                "min_p_value": Opt(0.001, _probability, "a cluster whose best candidate fits worse than this p-value is 'unknown'"),
                "min_significance": Opt(3.0, _float(1.0), "an element is present when removing it raises the fit chi-square by this squared (sigma)"),
                "calibrate": Opt(False, _bool, "learn line sensitivities shared by the clusters of the map (slower; off: no measured gain on the benchmark)"),
                "beam_energy": Opt(0.0, _float(0.0), "kV, when the file gives none; 0 uses the file's"),
                "export_emsa": Opt(True, _bool, "write spectra/cluster_<k>.msa (and NMF components) as EMSA/MSA 1.0"),
                "kfactors": Table(
                    "TEM: Cliff-Lorimer k-factors {\"Fe_Ka\" = 1.45, \"Pt_La\" = 5.08}; when given, cliff_lorimer.csv holds at % per cluster (eXSpy quantification).",
                    free_default={},
                ),
            },
        ),
        "report": Table(
            "The HTML report.",
            {
                "enabled": Opt(True, _bool, "write report.html"),
                "max_latent_points": Opt(20000, _int(100), "points drawn in the latent-space scatter"),
                "alpha": Opt(0.5, _float(0.0, 1.0), "opacity of the phase map over the navigation image"),
            },
        ),
    },
)


# ------------------------------------------------------------------------------ defaults
def _defaults(table: Table) -> dict:
    out = {}
    for name, item in table.items.items():
        if isinstance(item, Table):
            out[name] = copy.deepcopy(item.free_default) if item.items is None else _defaults(item)
        else:
            out[name] = copy.deepcopy(item.default)
    return out


def default_config() -> dict:
    """A fresh copy of the default configuration (the tutorial's choices).

    Examples
    --------
    >>> default_config()["preprocess"]["bin"]
    [3, 3]
    """
    return _defaults(_SCHEMA)


# ------------------------------------------------------------------------------ validation
def _resolve_class(spec: str):
    import importlib

    mod, name = spec.split(":")
    return getattr(importlib.import_module(mod), name)


def _check_estimator_args(key: str, cls, args: Mapping):
    """Unknown keywords of an estimator are errors naming the dotted key and the accepted ones;
    values are checked by the estimator's own parameter constraints."""
    accepted = sorted(cls().get_params(deep=False))
    for k in args:
        if k not in accepted:
            close = difflib.get_close_matches(k, accepted, n=1)
            hint = f"; did you mean '{key}.{close[0]}'?" if close else "."
            raise ConfigError(
                f"Unknown key '{key}.{k}' for {cls.__name__}{hint} "
                f"Accepted keys in [{key}]: {', '.join(accepted)}."
            )
    est = cls(**args)
    validate = getattr(est, "_validate_params", None)
    if validate is None:
        return
    try:
        validate()
    except ValueError as exc:  # sklearn's InvalidParameterError names the parameter
        msg = re.sub(r"The '(\w+)' parameter", lambda m: f"The '{key}.{m.group(1)}' parameter", str(exc))
        raise ConfigError(msg) from None


def _merge(table: Table, user: Mapping, path: str, source: str) -> dict:
    if not isinstance(user, Mapping):
        raise _err(path or "config", user, "a table")
    out = {}
    items = table.items
    for k in user:
        if k not in items:
            dotted = f"{path}.{k}" if path else k
            cands = [f"{path}.{c}" if path else c for c in items]
            close = difflib.get_close_matches(dotted, cands, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else "."
            where = f"[{path}]" if path else "the top level"
            raise ConfigError(
                f"Unknown key '{dotted}'{source}{hint} Accepted keys in {where}: {', '.join(items)}."
            )
    for name, item in items.items():
        dotted = f"{path}.{name}" if path else name
        if isinstance(item, Table):
            if item.items is None:
                val = user.get(name, item.free_default)
                if not isinstance(val, Mapping):
                    raise _err(dotted, val, "a table of keywords")
                out[name] = dict(copy.deepcopy(val))
            elif item.empty_disables and name in user and user[name] == {}:
                out[name] = {}
            else:
                out[name] = _merge(item, user.get(name, {}), dotted, source)
        else:
            val = user.get(name, item.default)
            out[name] = item.check(dotted, copy.deepcopy(val))
    return out


def validate_config(user: Mapping | None = None, *, source: str | Path | None = None) -> dict:
    """Merge a user's configuration over the defaults and check every key and value.

    Parameters
    ----------
    user : mapping, optional
        Parsed TOML (nested dicts); missing keys take their defaults.
    source : str or Path, optional
        File name quoted in error messages.

    Returns
    -------
    dict
        The complete configuration.

    Raises
    ------
    ConfigError
        Unknown key (with the closest accepted one) or a value outside what is accepted.

    Examples
    --------
    >>> validate_config({"clustering": {"method": "KMeans"}})
    Traceback (most recent call last):
    ...
    sigma.pipeline.config.ConfigError: The 'clustering.method' parameter must be one of 'GaussianMixture', 'BayesianGaussianMixture', 'Kmeans', 'Birch', 'HDBSCAN'. Got 'KMeans' instead.
    """
    src = f" in {source}" if source else ""
    cfg = _merge(_SCHEMA, user or {}, "", src)
    cl = cfg["clustering"]
    user_cl = (user or {}).get("clustering", {})
    if "method" in user_cl and "method_args" not in user_cl and cl["method"] != "GaussianMixture":
        # GMM's defaults make no sense for another estimator; the number of phases stays automatic
        cl["method_args"] = {"n_components": "auto"} if cl["method"] in _AUTO_METHODS else {}
    args = dict(cl["method_args"])
    if cl["method"] in _N_CLUSTERS_ALIAS and "n_components" in args:
        args.setdefault("n_clusters", args.pop("n_components"))
    for key in ("n_components", "n_clusters"):
        if isinstance(args.get(key), str) and args[key] == "auto":
            if cl["method"] not in _AUTO_METHODS:
                raise _err(f"clustering.method_args.{key}", "auto", f"an int for method {cl['method']!r} "
                           "(\"auto\" is accepted for " + ", ".join(_AUTO_METHODS) + ")")
            args.pop(key)  # the over-segmentation size comes from clustering.max_components
    _check_estimator_args("clustering.method_args", _resolve_class(CLUSTERING_METHODS[cl["method"]]), args)
    from sklearn.decomposition import NMF

    _check_estimator_args("nmf.method_args", NMF, cfg["nmf"]["method_args"])
    if "n_components" in cfg["nmf"]["method_args"]:
        raise ConfigError("Key 'nmf.method_args.n_components' is set by 'nmf.n_components'; remove it.")
    _check_kfactors(cfg["identify"]["kfactors"])
    return cfg


def _check_kfactors(kf: Mapping) -> None:
    from ..xray import is_xray_line

    for line, k in kf.items():
        if not is_xray_line(line):
            raise _err(f"identify.kfactors.{line}", line, "X-ray lines written Element_Line, such as 'Fe_Ka'")
        if isinstance(k, bool) or not isinstance(k, int | float) or not math.isfinite(k) or k <= 0:
            raise _err(f"identify.kfactors.{line}", k, "a positive k-factor")
    if len(kf) == 1:
        raise _err("identify.kfactors", dict(kf), "at least two lines (Cliff-Lorimer gives ratios)")


def load_config(path) -> dict:
    """Read and validate a TOML configuration file.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "c.toml")
    >>> _ = open(p, "w").write("[preprocess]\\nbin = [1, 1]\\n")
    >>> load_config(p)["preprocess"]["bin"]
    [1, 1]
    """
    return validate_config(read_toml(path), source=Path(path))


def read_toml(path) -> dict:
    """The table of a TOML configuration file; a missing, unreadable or invalid file is a
    :class:`ConfigError` (``sigma`` exits with status 2), naming it.

    Examples
    --------
    >>> read_toml("nowhere.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sigma.pipeline.config.ConfigFileError: File 'nowhere.toml' does not exist; expected a TOML ...
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigFileError(str(bad_file(path, "does not exist",
                                           "a TOML configuration file (see `sigma config --example`)")))
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigFileError(str(bad_file(path, f"is not valid TOML ({exc})",
                                           "a TOML configuration file"))) from None
    except OSError as exc:
        raise ConfigFileError(str(bad_file(path, f"could not be read ({exc.strerror or exc})",
                                           "a readable TOML configuration file"))) from None


# ------------------------------------------------------------------------------ example
def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {v!r} as TOML")


def _render(table: Table, values: dict, path: str, lines: list[str]):
    leaves = [(k, it) for k, it in table.items.items() if not isinstance(it, Table)]
    subs = [(k, it) for k, it in table.items.items() if isinstance(it, Table)]
    if path:
        lines += ["", f"# {table.doc}", f"[{path}]"]
    for k, it in leaves:
        choices = getattr(it.check, "choices", None)
        doc = it.doc if not choices or "one of" in it.doc else f"{it.doc} ({' | '.join(map(str, choices))})"
        lines.append(f"{k} = {_toml_value(values[k])}  # {doc}")
    for k, it in subs:
        dotted = f"{path}.{k}" if path else k
        if it.items is None:
            lines += ["", f"# {it.doc}", f"[{dotted}]"]
            lines += [f"{a} = {_toml_value(b)}" for a, b in values[k].items()]
        else:
            _render(it, values[k], dotted, lines)


def example_toml() -> str:
    """A documented TOML file holding every option at its default (``sigma config --example``).

    Examples
    --------
    >>> import tomllib
    >>> validate_config(tomllib.loads(example_toml())) == default_config()
    True
    """
    lines = [
        "# SIGMA2 pipeline configuration: `sigma run INPUT... --config THIS.toml --out DIR`.",
        "# Every key is optional; missing keys take the values shown (the tutorial's choices).",
        "# Unknown keys are errors. Estimator tables (method_args, reader_args) pass their keys",
        "# to the named estimator or reader.",
    ]
    _render(_SCHEMA, default_config(), "", lines)
    return "\n".join(lines) + "\n"
