"""Saving and loading a PixelSegmenter's state (safe ``.npz`` + JSON, never pickle).

Mixed into :class:`~sigma.clustering.PixelSegmenter`; the file format is in
:mod:`sigma.clustering.state`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

import numpy as np

from sigma._errors import SigmaError, bad_file, bad_value
from sigma.clustering._dataset import nav_shape
from sigma.clustering.state import FORMAT_VERSION, read_state, write_state


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
        ds_info = None
        if self.dataset is not None:
            h, w, f = nav_shape(self.dataset)
            ds_info = {
                "shape": [h, w, f],
                "feature_list": [str(s) for s in getattr(self.dataset, "feature_list", [])],
            }
        elif getattr(self, "_saved_dataset_info", None):
            ds_info = self._saved_dataset_info
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
    def from_saved_state(cls, path, dataset=None) -> Self:
        """Rebuild a PixelSegmenter from :meth:`save_state`'s file.

        Parameters
        ----------
        path : path
        dataset : dataset, optional
            Must have the saved grid shape and feature list (checked). Without it, labels,
            colours and edits work but spectra and NMF do not.

        Notes
        -----
        ``model`` is ``None`` after loading (the fitted estimator is not stored). Pickle
        files from the original SIGMA are refused.
        """
        arrays, meta = read_state(path)
        try:
            h, w = (int(v) for v in meta["shape"])
            labels = arrays["labels"].astype(np.int32)
            latent = arrays["latent"]
            if labels.shape != (h, w) or len(latent) != h * w:
                raise KeyError("shape")
            ds_info = meta.get("dataset")
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
                    raise bad_value(
                        "dataset", f"grid {(dh, dw)}", f"the saved grid {(h, w)} of '{path}'"
                    )
            self = cls.__new__(cls)
            self.dataset = dataset
            self.method = meta["method"]
            self.method_args = dict(meta.get("method_args") or {})
            self.model = None
            self.max_fit_samples = meta.get("max_fit_samples")
            self.random_state = meta.get("random_state")
            self.refine = meta.get("refine")  # files written before refine existed: None
            self.refine_args = dict(meta.get("refine_args") or {})
            self._saved_dataset_info = ds_info
            proba = arrays.get("proba_original")
            self._setup(latent, h, w, arrays["labels_original"], proba, arrays.get("membership"))
            self._labels = labels.copy()
            self._n_fit = int(meta["n_components_fit"])
            if proba is not None:
                self._component_map = arrays["component_map"].astype(np.int32)
                self._component_map_original = arrays["component_map_original"].astype(np.int32)
            self._prob_valid = bool(meta["prob_valid"])
            self.colors = {int(k): v for k, v in meta["colors"].items()}
            self._colors_original = {int(k): v for k, v in meta["colors_original"].items()}
            off = arrays["undo_offsets"]
            recs = meta["undo"]
            if len(off) != len(recs) + 1:
                raise KeyError("undo")
            for i, r in enumerate(recs):
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
        except SigmaError:
            raise
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise bad_file(
                path, f"is an inconsistent or incomplete state file ({exc!r})",
                f"a complete version-{FORMAT_VERSION} state written by save_state",
            ) from None  # fmt: skip
        self._cache = {}
        return self

