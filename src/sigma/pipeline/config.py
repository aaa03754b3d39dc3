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
from collections.abc import Mapping
from pathlib import Path

from .._errors import bad_file

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

from ._config_checks import (  # noqa: F401  (re-exported: the public names are here)
    _AUTO_METHODS,
    _FREE,
    _N_CLUSTERS_ALIAS,
    CLUSTERING_METHODS,
    NORMALISATIONS,
    ConfigError,
    ConfigFileError,
    Opt,
    Table,
    _err,
)
from ._config_schema import _SCHEMA


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
    'auto'
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
