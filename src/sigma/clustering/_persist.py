"""Saving and loading a PixelSegmenter's state (safe ``.npz`` + JSON, never pickle).

Mixed into :class:`~sigma.clustering.PixelSegmenter`; the file format is in
:mod:`sigma.clustering.state`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Self

import numpy as np

from sigma._errors import bad_file, bad_value
from sigma.clustering._dataset import fingerprint_mismatch, nav_shape
from sigma.clustering.state import InvalidState, check_state, read_state, write_state


def _jsonable(obj):
    """Plain-JSON copy of method arguments (numpy scalars and tuples converted; anything
    else is stored as its ``repr`` string)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    return repr(obj)




class StateMixin:
    """State files; see :class:`~sigma.clustering.PixelSegmenter`."""

    def save_state(self, path) -> Path:
        """Save labels, edits, colours and probabilities to a safe state file.

        The file is an ``.npz`` archive with a JSON header (see :mod:`sigma.clustering.state`)
        whatever its extension, written atomically. It never contains pickled objects; the
        fitted model is not saved.
        """
        undo = self._undo
        offsets = np.cumsum([0] + [r["idx"].size for r in undo]).astype(np.int64)
        arrays = {
            "latent": np.asarray(self.latent),
            "labels": self._labels,
            "labels_original": np.asarray(self._labels_original),
            "undo_idx": np.concatenate([r["idx"] for r in undo] or [np.empty(0, np.int64)]),
            "undo_old": np.concatenate([r["old"] for r in undo] or [np.empty(0, np.int32)]),
            "undo_offsets": offsets,
        }
        if self._proba is not None:
            arrays["proba_original"] = self._proba
            arrays["component_map"] = self._component_map
            arrays["component_map_original"] = self._component_map_original
            arrays["undo_maps"] = (
                np.stack([r["map"] for r in undo]) if undo else np.empty((0, self._n_fit), np.int32)
            )
        if self._membership is not None:
            arrays["membership"] = self._membership
        ds_info = getattr(self, "_saved_dataset_info", None)
        if self._features is not None:
            ds_info = {"shape": [int(v) for v in self._features.shape],
                       "feature_list": list(self._feature_list)}  # fmt: skip
        meta = {
            "method": self._method_name(),
            "method_is_custom": not isinstance(self.method, str),
            "method_args": _jsonable(self.method_args),
            "max_fit_samples": self.max_fit_samples,
            "random_state": _jsonable(self.random_state),
            "refine": self.refine,
            "refine_args": _jsonable(self.refine_args),
            "shape": [self.height, self.width],
            "dataset": ds_info,
            "geometry": {"original_shape": [int(v) for v in self.original_shape],
                         "bin_size": [int(v) for v in self.bin_size]},
            "input": _jsonable(getattr(self, "_input", None)),
            "n_components_fit": self._n_fit,
            "colors": {str(k): v for k, v in self.colors.items()},
            "colors_original": {str(k): v for k, v in self._colors_original.items()},
            "prob_valid": self._prob_valid,
            "undo": [
                {
                    "op": r["op"],
                    "args": _jsonable(r["args"]),
                    "colors": {str(k): v for k, v in r["colors"].items()},
                    "valid": r["valid"],
                }
                for r in undo
            ],
        }
        return write_state(path, arrays, meta)

    @classmethod
    def from_saved_state(cls, path, dataset=None, *, allow_mismatch: bool = False) -> Self:
        """Rebuild a PixelSegmenter from :meth:`save_state`'s file.

        Every array and field is checked (shapes, dtypes, ranges, colours, the undo stack;
        :func:`sigma.clustering.state.check_state`): a damaged or hand-edited file is refused
        with what is wrong in it.

        Parameters
        ----------
        path : path
        dataset : dataset, optional
            Must have the saved grid shape and feature list, and hold the same data: the
            file's fingerprint saved with the state (size and sampled content of the input
            file, sampled counts) must match. Without it, labels, colours and edits work but
            spectra and NMF do not.
        allow_mismatch : bool, keyword-only
            Apply the state to a dataset whose input differs from the one it was fitted on
            (same shape, other file or counts) with a warning, instead of refusing.

        Notes
        -----
        ``model`` is ``None`` after loading (the fitted estimator is not stored). Pickle
        files from the original SIGMA are refused.
        """
        arrays, meta = read_state(path)
        try:
            check_state(arrays, meta)
        except InvalidState as exc:
            raise bad_file(
                path, f"has an invalid {exc.key!r}: {exc.problem}",
                f"a version-{meta.get('version')} state as written by save_state (was it edited?)",
            ) from None  # fmt: skip
        h, w = (int(v) for v in meta["shape"])
        ds_info = meta.get("dataset")
        self = cls.__new__(cls)
        if dataset is not None:
            dh, dw, df = nav_shape(dataset)
            feats = [str(s) for s in getattr(dataset, "feature_list", [])]
            if ds_info is not None and (
                [dh, dw, df] != list(ds_info["shape"]) or feats != list(ds_info["feature_list"])
            ):
                raise bad_value(
                    "dataset",
                    f"shape {(dh, dw, df)} with features {feats}",
                    f"the dataset the state in '{path}' was saved with: shape "
                    f"{tuple(ds_info['shape'])} with features {ds_info['feature_list']}",
                )
            if (dh, dw) != (h, w):
                raise bad_value("dataset", f"grid {(dh, dw)}", f"the saved grid {(h, w)} of '{path}'")
            self._bind_dataset(dataset)
            differs, notes = fingerprint_mismatch(meta.get("input"), self._input)
            if differs and not allow_mismatch:
                raise bad_value(
                    "dataset", "; ".join(differs),
                    f"the data the state in '{path}' was fitted on (or pass "
                    "allow_mismatch=True to apply it to this dataset anyway)",
                )  # fmt: skip
            for msg in differs + notes:
                warnings.warn(f"state '{path}': {msg}", UserWarning, stacklevel=2)
            if not differs:  # keep what the labels were fitted on (a forced state: this input)
                self._input = meta.get("input") or self._input
        else:
            self._bind_dataset(None)
            self._input = meta.get("input")
        geo = meta.get("geometry")
        if geo is not None:
            self.original_shape = tuple(int(v) for v in geo["original_shape"])
            self.bin_size = tuple(int(v) for v in geo["bin_size"])
        elif self.original_shape is None:
            self.original_shape, self.bin_size = (h, w), (1, 1)
        self.method = meta["method"]
        self.method_args = dict(meta.get("method_args") or {})
        self.model = None
        self.max_fit_samples = meta.get("max_fit_samples")
        self.random_state = meta.get("random_state")
        self.refine = meta.get("refine")  # files written before refine existed: None
        self.refine_args = dict(meta.get("refine_args") or {})
        self._saved_dataset_info = ds_info
        proba = arrays.get("proba_original")
        self._setup(arrays["latent"], h, w, arrays["labels_original"].astype(np.int32), proba,
                    arrays.get("membership"))  # fmt: skip
        self._labels = arrays["labels"].astype(np.int32)
        self._n_fit = int(meta["n_components_fit"])
        if proba is not None:
            self._component_map = arrays["component_map"].astype(np.int32)
            self._component_map_original = arrays["component_map_original"].astype(np.int32)
        self._prob_valid = bool(meta["prob_valid"])
        self.colors = {int(k): v for k, v in meta["colors"].items()}
        self._colors_original = {int(k): v for k, v in meta["colors_original"].items()}
        off = arrays["undo_offsets"]
        for i, r in enumerate(meta["undo"]):
            self._undo.append(
                {
                    "op": r["op"],
                    "args": r["args"],
                    "idx": arrays["undo_idx"][off[i] : off[i + 1]].astype(np.int64),
                    "old": arrays["undo_old"][off[i] : off[i + 1]].astype(np.int32),
                    "colors": {int(k): v for k, v in r["colors"].items()},
                    "map": None if proba is None else arrays["undo_maps"][i].astype(np.int32),
                    "valid": bool(r["valid"]),
                }
            )
        self._cache = {}
        return self
