"""Safe, versioned state files for :class:`~sigma.clustering.PixelSegmenter`.

A state file is a NumPy ``.npz`` archive (a zip of ``.npy`` arrays) holding plain numeric
arrays and one JSON document under the key ``"meta"``. It is read with
``np.load(..., allow_pickle=False)``, so loading can never execute code. Files are written to
a temporary file in the target folder and moved into place with :func:`os.replace`, so an
interrupted save never leaves a half-written file. The file name is free (the tutorial's
``.pkl`` works); the content is always this format.

JSON document (format ``"sigma2.PixelSegmenter"``, version 1)::

    format, version, method, method_is_custom, method_args, shape [H, W],
    dataset {"shape": [H, W, F], "feature_list": [...]}, n_components_fit,
    colors, colors_original ({"id": "#rrggbb"}), prob_valid, undo [records]

Arrays: ``latent``, ``labels``, ``labels_original``, optional ``proba_original``,
``membership``, ``component_map``, ``component_map_original`` and the undo stack's
concatenated ``undo_idx``/``undo_old`` with ``undo_offsets``.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from sigma._errors import bad_file
from sigma._files import atomic_write

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "write_state", "read_state"]

FORMAT_NAME = "sigma2.PixelSegmenter"
FORMAT_VERSION = 1

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
    ([1.0, 1.0], 1)
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
