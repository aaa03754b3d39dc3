"""How a segmenter turns a first clustering into its labels: the number of phases decided from the
counts (``n_components='auto'``, :mod:`sigma.clustering.auto_k`) or a spectral refinement of a
fixed number (``refine='spectra'``, :mod:`sigma.clustering.refine`).

Both read the dataset's counts on the analysis grid (``analysis_spectra``); the mixin keeps
that wiring out of the segmenter's state and edit logic.
"""

from __future__ import annotations

import logging

import numpy as np

from sigma._errors import SigmaError, bad_value

logger = logging.getLogger("sigma.clustering.segmenter")


def _sum_spectrum(ds, data) -> np.ndarray:
    """The analysis cube's sum spectrum: the dataset's own (read once, see
    :meth:`~sigma.datasets.base.SpectrumDataset.analysis_sum_spectrum`), or summed here for any
    other object holding ``analysis_spectra``."""
    if hasattr(ds, "analysis_sum_spectrum"):
        return ds.analysis_sum_spectrum()
    if hasattr(data, "dask"):
        from sigma._progress import compute

        (total,) = compute(data.sum(axis=(0, 1), dtype=np.float64), desc="sum spectrum")
        return np.asarray(total)
    return np.asarray(data).sum(axis=(0, 1), dtype=np.float64)


def first_fit(latent, keep, method, fit_args, *, max_fit_samples, random_state, sample=False):
    """The clusterer fitted on the valid pixels' latent points (``keep``; all when ``None``),
    its labels spread back over every pixel (:func:`_expand_fit`). Too few valid pixels for
    the method is an error naming them.

    ``sample``: fit on ``max_fit_samples`` random points when there are more, and predict the
    others (the over-segmentation of ``n_components='auto'``, whose clusters only seed the
    count model: on a 519k-pixel map the full Gaussian mixture took 17 s of the run).
    """
    from sigma.clustering.methods import fit_clusters, predict_clusters

    x = latent if keep is None else latent[keep]
    try:
        if sample and max_fit_samples is not None and len(x) > max_fit_samples and method != "HDBSCAN":
            rng = np.random.default_rng(random_state)
            idx = np.sort(rng.choice(len(x), size=int(max_fit_samples), replace=False))
            logger.info("over-segmentation fitted on %d of %d pixels", len(idx), len(x))
            fit = predict_clusters(fit_clusters(x[idx], method, fit_args, random_state=random_state), x)
        else:
            fit = fit_clusters(  # excluded pixels (outside the scan, NaN, no counts) stay out
                x, method, fit_args, max_fit_samples=max_fit_samples, random_state=random_state,
            )
    except ValueError as exc:
        if keep is None or isinstance(exc, SigmaError):
            raise
        n_ok = int(keep.sum())
        raise bad_value(
            "dataset", f"{n_ok} valid pixels of {keep.size}",
            f"enough pixels that were scanned, are finite and hold counts to cluster them "
            f"({type(exc).__name__}: {exc})",
        ) from exc
    return fit if keep is None else _expand_fit(fit, keep)


def _expand_fit(fit, keep):
    """A fit of the valid pixels spread back over every pixel: label -1, probability and
    membership 0 for the excluded ones."""
    import dataclasses

    n = keep.size
    labels = np.full(n, -1, dtype=np.int32)
    labels[keep] = fit.labels
    changes = {"labels": labels}
    for name in ("proba", "membership"):
        v = getattr(fit, name, None)
        if v is not None:
            v = np.asarray(v)
            full = np.zeros((n, *v.shape[1:]), dtype=v.dtype)
            full[keep] = v
            changes[name] = full
    return dataclasses.replace(fit, **changes)


class FitMixin:
    """``n_components='auto'`` and ``refine='spectra'`` for :class:`PixelSegmenter`."""

    #: Keys accepted in ``auto_args``.
    _AUTO_KEYS = ("max_components", "smoothness", "n_bands", "max_fit_pixels", "intensity", "boundary",
                  "enclosed", "on_film")

    def _auto_start_size(self, auto_args, n) -> int:
        k0 = (auto_args or {}).get("max_components", 20)
        if isinstance(k0, bool) or not isinstance(k0, int | np.integer) or k0 < 2:
            raise bad_value("auto_args['max_components']", k0, "an int >= 2")
        from sigma.clustering.auto_k import start_size

        return start_size(k0, n)

    def _analysis_counts(self, h, w, param, value, fix):
        spectra = getattr(self.dataset, "analysis_spectra", None)
        data = getattr(spectra, "data", None)
        if data is None or getattr(data, "ndim", 0) != 3 or tuple(data.shape[:2]) != (h, w):
            raise bad_value(
                param, value, f"a dataset whose analysis_spectra hold an ({h}, {w}, C) cube, {fix}"
            )
        return data

    def _auto_phases(self, labels, h, w):
        from sigma.clustering._dataset import empty_pixels
        from sigma.clustering.auto_k import (
            boundary_exponent,
            checked_boundary,
            checked_share,
            enclosed_share,
            film_share,
            find_phases,
            intensity_weight,
        )
        from sigma.preprocessing.spectral_features import band_counts, energy_bands

        args = self.auto_args
        unknown = sorted(set(args) - set(self._AUTO_KEYS))
        if unknown:
            raise bad_value("auto_args", unknown[0], "keys among " + ", ".join(self._AUTO_KEYS))
        key = "n_clusters" if "n_clusters" in self.method_args else "n_components"
        data = self._analysis_counts(h, w, f"method_args['{key}']", "auto",
                                     "or a fixed number of clusters")
        total = _sum_spectrum(self.dataset, data)
        y = band_counts(data, energy_bands(total, int(args.get("n_bands", 64))))
        smooth = args.get("smoothness", self.refine_args.get("smoothness", 1.0))
        thin = self._is_thin_sample()
        intensity = args.get("intensity", intensity_weight(thin))
        if isinstance(intensity, bool) or not isinstance(intensity, int | float) or not 0 <= intensity <= 1:
            raise bad_value("auto_args['intensity']", intensity, "a weight from 0 to 1")
        boundary = checked_boundary(args.get("boundary", boundary_exponent(thin)), "auto_args['boundary']")
        enclosed = checked_share(args.get("enclosed", enclosed_share(thin)), "auto_args['enclosed']")
        on_film = checked_share(args.get("on_film", film_share(thin)), "auto_args['on_film']")
        # pixels without a count are left out of the features but labelled: part of the map
        empty = empty_pixels(self.dataset, (h, w), self._valid)
        res = find_phases(
            y, np.asarray(labels, dtype=np.int32).reshape(h, w), smoothness=smooth, fill=empty,
            max_fit_pixels=int(args.get("max_fit_pixels", 20_000)), intensity=float(intensity),
            boundary=boundary, enclosed=enclosed, on_film=on_film,
            random_state=self.random_state,
        )  # fmt: skip
        if empty is not None:  # labelled: not excluded (see PixelSegmenter._setup, excluded_mask)
            self._valid = self._valid | (empty & (res.labels >= 0))
            self._valid.flags.writeable = False
        k = res.evidence.n_components
        return res.labels.ravel(), res.proba.reshape(h * w, k), res.evidence

    def _refined(self, labels, proba, h, w):
        from sigma.clustering.refine import reassign_by_spectra

        data = self._analysis_counts(h, w, "refine", "'spectra'", "or refine=None")
        allowed = {"iterations", "smoothness", "icm_iterations"}
        unknown = sorted(set(self.refine_args) - allowed)
        if unknown:
            raise bad_value("refine_args", unknown[0], "keys among " + ", ".join(sorted(allowed)))
        lab = np.asarray(labels, dtype=np.int32).reshape(h, w)
        new, post = reassign_by_spectra(data, lab, **self.refine_args)
        moved = int((new != lab).sum())
        logger.info("refine='spectra': %d of %d pixels changed cluster", moved, lab.size)
        if proba is None:
            return new.ravel(), None, None  # the clusterer gave no probabilities: none made up
        k = proba.shape[1]
        full = np.zeros((h * w, k), dtype=np.float32)
        full[:, : post.shape[-1]] = post.reshape(h * w, -1)[:, :k]
        return new.ravel(), full, None
