"""What a PixelSegmenter takes from its dataset, once, when it is fitted.

* the clustering grid ``(H, W, F)`` and a snapshot of the features (:func:`feature_snapshot`),
  so a later re-binning or re-normalisation of the dataset cannot change what the
  segmenter was fitted on;
* the scanned field of view: the unbinned map shape and the bin size (:func:`grid_geometry`),
  which cluster masks need to land on the right pixels;
* a fingerprint of the input (:func:`input_fingerprint`), which state files record so a state
  is not applied to another file of the same shape.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from sigma._errors import bad_value

logger = logging.getLogger(__name__)

#: Bytes hashed at each of the start, middle and end of an input file.
_PART = 1 << 20
#: Pixels whose counts go into the counts fingerprint (spread evenly over the map).
_COUNT_PIXELS = 1024


def nav_shape(dataset) -> tuple[int, int, int]:
    """``(H, W, F)`` of ``dataset.normalised_elemental_data``, or an error saying what to run."""
    data = getattr(dataset, "normalised_elemental_data", None)
    shape = getattr(data, "shape", None)
    if shape is None or len(shape) != 3:
        raise bad_value(
            "dataset",
            type(dataset).__name__,
            "a dataset with normalised_elemental_data of shape (H, W, F) "
            "(run dataset.normalisation(...) first)",
        )
    return int(shape[0]), int(shape[1]), int(shape[2])


def feature_snapshot(dataset) -> tuple[np.ndarray, list[str]]:
    """A float32 copy of the dataset's ``(H, W, F)`` features and its feature names.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> ds = SimpleNamespace(normalised_elemental_data=np.ones((2, 3, 2)), feature_list=["a", "b"])
    >>> x, names = feature_snapshot(ds)
    >>> x.dtype, x.shape, names, x is ds.normalised_elemental_data
    (dtype('float32'), (2, 3, 2), ['a', 'b'], False)
    """
    h, w, f = nav_shape(dataset)
    x = np.array(dataset.normalised_elemental_data, dtype=np.float32, copy=True)
    names = [str(s) for s in getattr(dataset, "feature_list", None) or []]
    if len(names) != f:
        names = names[:f] + [f"feature_{i}" for i in range(len(names), f)]
    x.flags.writeable = False
    return x, names


def valid_pixels(dataset, grid) -> np.ndarray | None:
    """A read-only copy of the dataset's ``valid_mask`` on ``grid``, or ``None`` when every
    pixel is valid (or the dataset has no mask, or one of another shape).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> valid_pixels(SimpleNamespace(valid_mask=np.array([[True, False]])), (1, 2)).tolist()
    [[True, False]]
    >>> valid_pixels(SimpleNamespace(), (1, 2)) is None
    True
    """
    mask = getattr(dataset, "valid_mask", None)
    if mask is None:
        return None
    mask = np.array(mask, dtype=bool, copy=True)
    if mask.shape != tuple(int(v) for v in grid) or mask.all():
        return None
    mask.flags.writeable = False
    return mask


def empty_pixels(dataset, grid, valid) -> np.ndarray | None:
    """The dataset's ``empty_mask`` on ``grid`` (scanned, finite, no count) outside ``valid``,
    or ``None`` when there is none (or the dataset has no such mask, or one of another shape).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> ds = SimpleNamespace(empty_mask=np.array([[False, True, False]]))
    >>> empty_pixels(ds, (1, 3), np.array([[True, False, False]])).tolist()
    [[False, True, False]]
    >>> empty_pixels(SimpleNamespace(), (1, 3), None) is None
    True
    """
    mask = getattr(dataset, "empty_mask", None)
    if mask is None or valid is None:
        return None
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != tuple(int(v) for v in grid):
        return None
    mask = mask & ~np.asarray(valid, dtype=bool)
    return mask if mask.any() else None


def _shape2(obj) -> tuple[int, int] | None:
    shape = getattr(getattr(obj, "data", obj), "shape", None)
    if shape is None or len(shape) < 2:
        return None
    return int(shape[0]), int(shape[1])


def grid_geometry(dataset, grid) -> tuple[tuple[int, int], tuple[int, int]]:
    """``(original_shape, bin_size)``: the scanned map and how it was binned into ``grid``.

    The bin size is ``dataset.bin_size`` (``(1, 1)`` when absent); the scanned shape is
    ``dataset.original_shape`` when the dataset records it, else the full-resolution
    spectra's (or navigation image's) shape. A shape that cannot give ``grid`` with that bin
    size (neither the dropped nor the padded partial edge) is not trusted: the grid times the
    bin size is used, with a log message.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> ds = SimpleNamespace(bin_size=(3, 3), spectra=np.zeros((31, 37, 4)))
    >>> grid_geometry(ds, (10, 12))
    ((31, 37), (3, 3))
    >>> grid_geometry(SimpleNamespace(), (10, 12))
    ((10, 12), (1, 1))
    """
    h, w = (int(v) for v in grid)
    try:
        by, bx = (int(v) for v in getattr(dataset, "bin_size", None) or (1, 1))
    except (TypeError, ValueError):
        by, bx = 1, 1
    if by < 1 or bx < 1:
        by, bx = 1, 1
    candidates = [getattr(dataset, "original_shape", None)]
    candidates += [_shape2(getattr(dataset, a, None)) for a in ("spectra", "nav_img")]
    for cand in candidates:
        if cand is None:
            continue
        h0, w0 = (int(v) for v in cand[:2])
        if h in (h0 // by, -(-h0 // by)) and w in (w0 // bx, -(-w0 // bx)):
            return (h0, w0), (by, bx)
        logger.info("scanned shape %s with bin %s does not give the grid %s; ignored",
                    (h0, w0), (by, bx), (h, w))  # fmt: skip
    return (h * by, w * bx), (by, bx)


def _file_part_hash(path: Path) -> dict:
    """Size, modification time and SHA-256 of the start, middle and end of one file."""
    st = path.stat()
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        if st.st_size <= 3 * _PART:
            h.update(fh.read())
        else:
            for pos in (0, st.st_size // 2 - _PART // 2, st.st_size - _PART):
                fh.seek(pos)
                h.update(fh.read(_PART))
    return {"name": path.name, "size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns),
            "sha256_parts": h.hexdigest()}  # fmt: skip


def _companions(path: Path) -> list[Path]:
    """Files read together with ``path``: the ``.raw`` of an ``.rpl``, the ``.ser`` of an ``.emi``."""
    suf = path.suffix.lower()
    if suf == ".rpl":
        return [p for p in path.parent.glob(path.stem + ".*") if p.suffix.lower() == ".raw"]
    if suf == ".emi":
        return sorted(path.parent.glob(path.stem + "_*.ser"))
    return []


def file_fingerprint(path) -> dict | None:
    """A cheap fingerprint of an input file (or folder), without reading it whole.

    For each file: name, size, modification time and the SHA-256 of its first, middle and
    last MiB (the whole file when it is smaller than 3 MiB); side files (``.raw``, ``.ser``)
    and the files of a folder (``.zspy``) are included. Comparisons use sizes and hashes
    (:func:`fingerprint_mismatch`), not names or times, so a renamed or copied file matches.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.hspy"
    >>> _ = p.write_bytes(b"abc")
    >>> fp = file_fingerprint(p)
    >>> fp["files"][0]["size"], fp["files"][0]["sha256_parts"][:8]
    (3, 'ba7816bf')
    """
    if path is None:
        return None
    path = Path(path)
    try:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            parts = []
            for f in files:
                st = f.stat()
                parts.append({"name": str(f.relative_to(path)), "size": int(st.st_size)})
            h = hashlib.sha256()
            for f in files[:64]:  # the headers of the first files (zarr metadata, ...)
                with open(f, "rb") as fh:
                    h.update(fh.read(1 << 16))
            return {"path": str(path), "files": parts, "sha256_heads": h.hexdigest()}
        if not path.is_file():
            return None
        return {"path": str(path),
                "files": [_file_part_hash(p) for p in [path, *_companions(path)]]}  # fmt: skip
    except OSError as exc:
        logger.info("no file fingerprint for %s (%s)", path, exc)
        return None


def _counts_fingerprint(dataset) -> dict | None:
    """SHA-256 of the counts of evenly spread pixels of the input cube, when it is in memory
    (a lazy cube is not read for this: the file fingerprint covers it)."""
    data = getattr(getattr(dataset, "info", None), "data", None)
    if not isinstance(data, np.ndarray) or data.ndim != 3 or data.size == 0:
        return None
    n = data.shape[0] * data.shape[1]
    pick = np.unique(np.linspace(0, n - 1, min(n, _COUNT_PIXELS)).astype(np.int64))
    rows, cols = np.divmod(pick, data.shape[1])
    sample = np.ascontiguousarray(data[rows, cols])
    h = hashlib.sha256(sample.tobytes())
    return {"shape": [int(s) for s in data.shape], "dtype": str(data.dtype), "sha256": h.hexdigest()}


def array_fingerprint(x) -> dict:
    """Shape and SHA-256 of an array's float32 values.

    Examples
    --------
    >>> array_fingerprint(np.zeros((1, 2, 1)))["shape"]
    [1, 2, 1]
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    return {"shape": [int(s) for s in x.shape], "sha256": hashlib.sha256(x.tobytes()).hexdigest()}


def input_fingerprint(dataset, features=None, feature_list=None) -> dict:
    """What identifies the data a segmenter is fitted on: ``file``, ``counts``, ``features``.

    ``file`` is :func:`file_fingerprint` of ``dataset.file_path`` (``None`` for a dataset made
    from a signal in memory); ``counts`` hashes evenly spread pixels of the input cube when
    it is in memory; ``features`` hashes the fitted feature array and names its features.
    """
    path = getattr(dataset, "file_path", None)
    if path is None:
        path = getattr(getattr(dataset, "info", None), "path", None)
    out = {"file": file_fingerprint(path) if path is not None and str(path) else None,
           "counts": _counts_fingerprint(dataset), "features": None}  # fmt: skip
    if features is not None:
        out["features"] = {**array_fingerprint(features), "feature_list": list(feature_list or [])}
    return out


def _file_key(fp):
    if not fp:
        return None
    if "sha256_heads" in fp:
        return ("dir", tuple((f["name"], f["size"]) for f in fp["files"]), fp["sha256_heads"])
    return ("file", tuple((f["size"], f["sha256_parts"]) for f in fp["files"]))


def fingerprint_mismatch(saved: dict | None, current: dict | None) -> tuple[list[str], list[str]]:
    """Compare two :func:`input_fingerprint` results.

    Returns
    -------
    differs : list of str
        What shows another input: a file of other size or content, other counts; or, when
        neither file nor counts can be compared, other features.
    notes : list of str
        Differences that do not show another input (the features, when the file or counts
        match: the same data processed differently).

    Examples
    --------
    >>> a = {"file": None, "counts": {"sha256": "1"}, "features": {"sha256": "x"}}
    >>> fingerprint_mismatch(a, {**a, "features": {"sha256": "y"}})
    ([], ['the features differ (the same data processed differently?)'])
    >>> fingerprint_mismatch(a, {**a, "counts": {"sha256": "2"}})[0]
    ['the counts of the input differ']
    """
    if not saved or not current:
        return [], []
    differs, compared = [], False
    fs, fc = _file_key(saved.get("file")), _file_key(current.get("file"))
    if fs is not None and fc is not None:
        compared = True
        if fs != fc:
            a, b = saved["file"], current["file"]
            differs.append(f"the input file differs (saved: {a.get('path')} "
                           f"{[f.get('size') for f in a['files']]} bytes; now: {b.get('path')} "
                           f"{[f.get('size') for f in b['files']]} bytes)")  # fmt: skip
    cs, cc = saved.get("counts"), current.get("counts")
    if cs and cc:
        compared = True
        if cs.get("sha256") != cc.get("sha256") or cs.get("shape", None) != cc.get("shape", None):
            differs.append("the counts of the input differ")
    notes = []
    xs, xc = saved.get("features"), current.get("features")
    if xs and xc and xs.get("sha256") != xc.get("sha256"):
        if compared:
            notes.append("the features differ (the same data processed differently?)")
        else:
            differs.append("the features differ and there is no file or counts to compare")
    return differs, notes
