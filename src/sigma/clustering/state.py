"""Safe, versioned state files for :class:`~sigma.clustering.PixelSegmenter`.

A state file is a NumPy ``.npz`` archive (a zip of ``.npy`` arrays) holding plain numeric
arrays and one JSON document under the key ``"meta"``. It is read with
``np.load(..., allow_pickle=False)``, so loading can never execute code. Files are written to
a temporary file in the target folder and moved into place with :func:`os.replace`, so an
interrupted save never leaves a half-written file. The file name is free (the tutorial's
``.pkl`` works); the content is always this format.

JSON document (format ``"sigma2.PixelSegmenter"``, version 2)::

    format, version, method, method_is_custom, method_args, shape [H, W],
    dataset {"shape": [H, W, F], "feature_list": [...]}, n_components_fit,
    colors, colors_original ({"id": "#rrggbb"}), prob_valid, undo [records],
    geometry {"original_shape": [H0, W0], "bin_size": [by, bx]}        (version 2)
    input {"file": {...}, "counts": {...}, "features": {...}}         (version 2)

Arrays: ``latent``, ``labels``, ``labels_original``, optional ``proba_original``,
``membership``, ``component_map``, ``component_map_original`` and the undo stack's
concatenated ``undo_idx``/``undo_old`` with ``undo_offsets``.

Every array and the document are checked on load (:func:`check_state`): shapes, dtypes and
ranges, every label with a colour, undo indices inside the map, offsets monotone, and so on,
so a damaged or hand-edited file is refused with the name of what is wrong instead of
corrupting a segmentation later. ``input`` is the fingerprint of the data the clustering was
fitted on (see :func:`sigma.clustering._dataset.input_fingerprint`). Version-1 files (no
geometry, no fingerprint) are still read.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from sigma._errors import bad_file
from sigma._files import atomic_write

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "check_state", "write_state", "read_state"]

FORMAT_NAME = "sigma2.PixelSegmenter"
FORMAT_VERSION = 2

_PICKLE_MAGIC = (b"\x80", b"(dp", b"(lp", b"}q", b"]q", b"ccopy_reg")


def write_state(path, arrays: dict, meta: dict) -> Path:
    """Atomically write ``arrays`` and the JSON ``meta`` to ``path``.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.pkl"
    >>> _ = write_state(p, {"a": np.arange(3)}, {"x": 1})
    >>> arrays, meta = read_state(p)
    >>> arrays["a"].tolist(), meta["x"], meta["format"]
    ([0, 1, 2], 1, 'sigma2.PixelSegmenter')
    """
    path = Path(path)
    meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **meta}
    payload = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    for k, v in payload.items():
        if v.dtype == object:
            raise TypeError(f"state array {k!r} has dtype object")  # programming error
    payload["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    if not path.parent.exists():
        raise bad_file(path.parent, "does not exist", "an existing folder for the state file")
    with atomic_write(path) as fh:
        np.savez_compressed(fh, **payload)
    return path


def read_state(path) -> tuple[dict, dict]:
    """Read a state file; refuse pickles and anything that is not this format.

    Returns
    -------
    arrays : dict of str -> ndarray
    meta : dict

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> p = write_state(pathlib.Path(tempfile.mkdtemp()) / "s.npz", {"b": np.ones(2)}, {})
    >>> arrays, meta = read_state(p)
    >>> arrays["b"].tolist(), meta["version"]
    ([1.0, 1.0], 2)
    """
    path = Path(path)
    if not path.is_file():
        raise bad_file(path, "does not exist", "a SIGMA2 state file written by save_state")
    with open(path, "rb") as fh:
        head = fh.read(16)
    if not head.startswith(b"PK"):
        if head.startswith(_PICKLE_MAGIC):
            raise bad_file(
                path,
                "is a Python pickle (the old upstream format); SIGMA2 never unpickles state "
                "files because loading a pickle can run arbitrary code",
                "a state file written by SIGMA2's save_state (re-create the clustering and "
                "save it again)",
            )
        raise bad_file(path, "is not a SIGMA2 state file (not an .npz archive)",
                       "a state file written by save_state")  # fmt: skip
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise bad_file(path, f"is a damaged or truncated state file ({exc})",
                       "a state file written by save_state") from None  # fmt: skip
    raw = arrays.pop("meta", None)
    try:
        meta = json.load(io.BytesIO(raw.tobytes())) if raw is not None else None
    except (ValueError, UnicodeDecodeError):
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise bad_file(path, "has no SIGMA2 PixelSegmenter metadata",
                       f"a {FORMAT_NAME!r} state file written by save_state")  # fmt: skip
    version = meta.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise bad_file(path, f"has state format version {version!r}",
                       f"version 1..{FORMAT_VERSION}; upgrade SIGMA2 to read it")  # fmt: skip
    return arrays, meta


# ----------------------------------------------------------------------------- validation
class InvalidState(ValueError):
    """One entry of a state (an array or a field of the JSON document) is invalid.

    Attributes
    ----------
    key : str
        The array or field, e.g. ``'labels'`` or ``'meta.colors'``.
    problem : str
        What is wrong with it, with the offending value.
    """

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}")
        self.key, self.problem = key, problem


def _array(a, key, kinds, ndim=None, shape=None) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind not in kinds:
        want = {"iu": "integers", "iuf": "numbers", "f": "floats"}.get(kinds, kinds)
        raise InvalidState(key, f"has dtype {a.dtype}, expected {want}")
    if ndim is not None and a.ndim != ndim:
        raise InvalidState(key, f"has shape {a.shape}, expected {ndim} dimension(s)")
    if shape is not None and a.shape != tuple(shape):
        raise InvalidState(key, f"has shape {a.shape}, expected {tuple(shape)}")
    return a


def _finite_in(a, key, lo=None, hi=None, tol=1e-5) -> None:
    if a.size == 0:
        return
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise InvalidState(key, "holds NaN or infinite values")
    if lo is not None and a.min() < lo - (tol if a.dtype.kind == "f" else 0):
        raise InvalidState(key, f"holds {a.min().item()!r}, below the smallest allowed value {lo}")
    if hi is not None and a.max() > hi + (tol if a.dtype.kind == "f" else 0):
        raise InvalidState(key, f"holds {a.max().item()!r}, above the largest allowed value {hi}")


def check_labels(labels, shape, ids=None, key="labels") -> np.ndarray:
    """``(H, W)`` integer labels, ``-1`` or ``>= 0`` (and among ``ids`` when given), as int32.

    Examples
    --------
    >>> check_labels([[0, -1], [2, 2]], (2, 2), ids={0, 2}).dtype
    dtype('int32')
    >>> check_labels([[0, -5]], (1, 2))
    Traceback (most recent call last):
    ...
    sigma.clustering.state.InvalidState: labels: holds -5, below the smallest allowed value -1
    """
    a = _array(labels, key, "iu", shape=shape)
    _finite_in(a, key, lo=-1, hi=np.iinfo(np.int32).max)
    if ids is not None and a.size:
        used = np.unique(a[a >= 0])
        missing = sorted(set(used.tolist()) - set(ids))
        if missing:
            raise InvalidState(key, f"holds cluster id(s) {missing[:10]} without a colour")
    return a.astype(np.int32)


def check_proba(proba, n, k=None, key="proba") -> np.ndarray:
    """``(N, K)`` finite probabilities in [0, 1] (``K = k`` when given), as float32.

    Examples
    --------
    >>> check_proba([[0.25, 0.75]], 1, 2).dtype
    dtype('float32')
    """
    a = _array(proba, key, "f", ndim=2)
    if a.shape[0] != n or (k is not None and a.shape[1] != k):
        raise InvalidState(key, f"has shape {a.shape}, expected ({n}, {'K' if k is None else k})")
    _finite_in(a, key, 0.0, 1.0)
    return a.astype(np.float32)


def check_membership(membership, n, key="membership") -> np.ndarray:
    """``(N,)`` finite membership strengths in [0, 1], as float32.

    Examples
    --------
    >>> check_membership([0.0, 1.0], 2).tolist()
    [0.0, 1.0]
    """
    a = _array(membership, key, "f", shape=(n,))
    _finite_in(a, key, 0.0, 1.0)
    return a.astype(np.float32)


def check_colors(colors, key="meta.colors") -> dict[int, str]:
    """``{"id": "#rrggbb"}`` with int ids >= -1 and hex colours, as ``{int: str}``.

    Examples
    --------
    >>> check_colors({"-1": "#7f7f7f", "0": "#1f77b4"})
    {-1: '#7f7f7f', 0: '#1f77b4'}
    """
    import re

    if not isinstance(colors, dict):
        raise InvalidState(key, f"is {type(colors).__name__}, expected a dict id -> colour")
    out = {}
    for k, v in colors.items():
        try:
            i = int(k)
        except (TypeError, ValueError):
            raise InvalidState(key, f"has the key {k!r}, expected cluster ids") from None
        if i < -1 or not isinstance(v, str) or not re.fullmatch(r"#[0-9a-fA-F]{6}", v):
            raise InvalidState(key, f"has {k!r}: {v!r}, expected id >= -1: '#rrggbb'")
        out[i] = v
    if -1 not in out:
        raise InvalidState(key, "has no colour for noise (-1)")
    return out


def _int_list(v, key, n, lo=1) -> list[int]:
    if (
        not isinstance(v, list | tuple) or len(v) != n
        or not all(isinstance(x, int) and not isinstance(x, bool) and x >= lo for x in v)
    ):  # fmt: skip
        raise InvalidState(key, f"is {v!r}, expected {n} ints >= {lo}")
    return [int(x) for x in v]


def check_state(arrays: dict, meta: dict) -> None:
    """Check every array and field of a state read by :func:`read_state`.

    Raises :class:`InvalidState` naming the first invalid entry. Checked: the grid and latent
    shapes; labels (int, ``-1`` or an id that has a colour); colours; the undo stack (offsets
    from 0, monotone, ending at the number of entries; indices in ``[0, N)`` and unique per
    edit; old labels with a colour of that edit); probabilities ``(N, K_fit)`` finite in
    [0, 1] with component maps ``(K_fit,)`` in ``[0, K_fit)``; membership ``(N,)`` in [0, 1];
    the geometry (version 2) consistent with the grid.

    Examples
    --------
    >>> import numpy as np
    >>> arrays = {"latent": np.zeros((2, 2)), "labels": np.array([[0, -1]]),
    ...           "labels_original": np.array([[0, 0]]), "undo_idx": np.array([1]),
    ...           "undo_old": np.array([0]), "undo_offsets": np.array([0, 1])}
    >>> c = {"-1": "#7f7f7f", "0": "#1f77b4"}
    >>> meta = {"shape": [1, 2], "n_components_fit": 1, "colors": c, "colors_original": c,
    ...         "prob_valid": True, "undo": [{"op": "x", "args": {}, "colors": c, "valid": True}]}
    >>> check_state(arrays, meta)
    >>> arrays["undo_idx"] = np.array([2])
    >>> check_state(arrays, meta)
    Traceback (most recent call last):
    ...
    sigma.clustering.state.InvalidState: undo_idx: holds 2, above the largest allowed value 1
    """
    h, w = _int_list(meta.get("shape"), "meta.shape", 2)
    n = h * w
    k_fit = _int_list([meta.get("n_components_fit")], "meta.n_components_fit", 1, lo=0)[0]
    for key in ("latent", "labels", "labels_original", "undo_idx", "undo_old", "undo_offsets"):
        if key not in arrays:
            raise InvalidState(key, "is missing")
    lat = _array(arrays["latent"], "latent", "iuf", ndim=2)
    if lat.shape[0] != n:
        raise InvalidState("latent", f"has {lat.shape[0]} points, expected {n} = {h} x {w}")
    _finite_in(lat, "latent")
    colors = check_colors(meta.get("colors"), "meta.colors")
    colors_orig = check_colors(meta.get("colors_original"), "meta.colors_original")
    check_labels(arrays["labels"], (h, w), colors, "labels")
    check_labels(arrays["labels_original"], (h, w), colors_orig, "labels_original")
    if not isinstance(meta.get("prob_valid"), bool):
        raise InvalidState("meta.prob_valid", f"is {meta.get('prob_valid')!r}, expected a bool")

    undo = meta.get("undo")
    if not isinstance(undo, list):
        raise InvalidState("meta.undo", f"is {type(undo).__name__}, expected a list")
    off = _array(arrays["undo_offsets"], "undo_offsets", "iu", shape=(len(undo) + 1,))
    idx = _array(arrays["undo_idx"], "undo_idx", "iu", ndim=1)
    old = _array(arrays["undo_old"], "undo_old", "iu", shape=idx.shape)
    if off[0] != 0 or off[-1] != len(idx) or (np.diff(off.astype(np.int64)) < 0).any():
        raise InvalidState(
            "undo_offsets", f"is {off.tolist()[:12]}, expected monotone offsets from 0 to {len(idx)}"
        )
    _finite_in(idx, "undo_idx", 0, n - 1)
    _finite_in(old, "undo_old", -1, np.iinfo(np.int32).max)
    for i, rec in enumerate(undo):
        key = f"meta.undo[{i}]"
        if not isinstance(rec, dict) or not isinstance(rec.get("op"), str) \
                or not isinstance(rec.get("args"), dict) or not isinstance(rec.get("valid"), bool):
            raise InvalidState(key, "expected {'op': str, 'args': dict, 'colors': ..., 'valid': bool}")
        rc = check_colors(rec.get("colors"), f"{key}.colors")
        seg = slice(int(off[i]), int(off[i + 1]))
        if len(np.unique(idx[seg])) != off[i + 1] - off[i]:
            raise InvalidState("undo_idx", f"repeats a pixel within edit {i}")
        ids = np.unique(old[seg])
        missing = sorted(set(ids[ids >= 0].tolist()) - set(rc))
        if missing:
            raise InvalidState("undo_old", f"holds cluster id(s) {missing[:10]} without a colour in edit {i}")

    comp = ("proba_original", "component_map", "component_map_original", "undo_maps")
    if "proba_original" in arrays:
        check_proba(arrays["proba_original"], n, k_fit, "proba_original")
        for key, shape in (("component_map", (k_fit,)), ("component_map_original", (k_fit,)),
                           ("undo_maps", (len(undo), k_fit))):  # fmt: skip
            if key not in arrays:
                raise InvalidState(key, "is missing (the file has probabilities)")
            a = _array(arrays[key], key, "iu", shape=shape)
            _finite_in(a, key, 0, k_fit - 1)
    else:
        extra = [k for k in comp if k in arrays]
        if extra:
            raise InvalidState(extra[0], "is present without 'proba_original'")
    if "membership" in arrays:
        check_membership(arrays["membership"], n, "membership")

    geo = meta.get("geometry")
    if geo is not None:
        if not isinstance(geo, dict):
            raise InvalidState("meta.geometry", f"is {geo!r}, expected a dict")
        h0, w0 = _int_list(geo.get("original_shape"), "meta.geometry.original_shape", 2)
        by, bx = _int_list(geo.get("bin_size"), "meta.geometry.bin_size", 2)
        for got, scan, b, axis in ((h, h0, by, "rows"), (w, w0, bx, "columns")):
            if got not in (scan // b, -(-scan // b)):
                raise InvalidState(
                    "meta.geometry", f"{scan} scanned {axis} binned by {b} cannot give {got}"
                )
    ds = meta.get("dataset")
    if ds is not None:
        if not isinstance(ds, dict):
            raise InvalidState("meta.dataset", f"is {ds!r}, expected a dict")
        _int_list(ds.get("shape"), "meta.dataset.shape", 3)
        fl = ds.get("feature_list")
        if not isinstance(fl, list) or not all(isinstance(x, str) for x in fl):
            raise InvalidState("meta.dataset.feature_list", f"is {fl!r}, expected a list of names")
    if meta.get("input") is not None and not isinstance(meta["input"], dict):
        raise InvalidState("meta.input", f"is {meta['input']!r}, expected a dict")
