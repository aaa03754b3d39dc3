"""The checkers and building blocks of the pipeline's configuration schema
(:mod:`sigma.pipeline._config_schema`), and its errors: each checker takes the dotted key and
the user's value and returns the value to use, or raises :class:`ConfigError` naming both.
:mod:`sigma.pipeline.config` re-exports the public names.

Examples
--------
>>> _int_pair("preprocess.bin", [2, 2])
[2, 2]
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._errors import SigmaFileError, SigmaValueError, bad_value


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


def _bin(key, v):
    if v == "auto":
        return v
    try:
        return _int_pair(key, v)
    except ConfigError:
        raise _err(key, v, '"auto" or a pair of positive ints [ny, nx]') from None


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


# the public names live in sigma.pipeline.config (tracebacks and pickles name them there)
ConfigError.__module__ = ConfigFileError.__module__ = "sigma.pipeline.config"
