"""Whole-spectrum features of a spectrum dataset: Poisson-PCA scores beside or instead of the
X-ray line maps (issue 10, item 3).

The kernels are in :mod:`sigma.preprocessing.spectral_features`; this mixin runs them on the
dataset's counts on the analysis grid (binned and cropped as the steps left them), keeps the
result until the next pre-processing step, and puts the scores through the same
normalisation chain as the line maps, so that a notebook and ``sigma run``
(``features.source``) build the same latent-space input.
"""

from __future__ import annotations

import logging

import numpy as np

from .._display import quiet
from .._errors import bad_value
from ..preprocessing.normalisation import apply_chain, chain_names

log = logging.getLogger(__name__)

#: The accepted values of ``source``.
SOURCES = ("lines", "spectrum", "both")


class _SpectralMixin:
    """``spectral_decomposition``, ``spectral_features`` and ``normalised_features``."""

    def analysis_sum_spectrum(self) -> np.ndarray:
        """Sum over every pixel of :attr:`analysis_spectra` (counts on the analysis grid), float64.

        Taken from the one-pass summary made when the file was read when that is the same sum
        exactly (integer counts, every pixel valid, no row or column dropped by the binning:
        sums of integer counts in float64 are exact whatever the grid), so a lazy file is not
        read again; otherwise summed from the analysis cube.

        Examples
        --------
        >>> import numpy as np
        >>> from sigma.synthetic import tiny_dataset
        >>> ds = tiny_dataset()
        >>> _ = ds.rebin_signal((2, 2))
        >>> s = ds.analysis_sum_spectrum()
        >>> bool(np.array_equal(s, np.asarray(ds.analysis_spectra.data).sum((0, 1), dtype=np.float64)))
        True
        """
        data = self.analysis_spectra.data
        total = self._analysis_sum_from_summary()
        if total is not None:
            return total
        mem = getattr(self, "_memory", None)
        if mem is not None and mem[0] == self._steps.bin_size:  # the in-memory copy's sum: exact
            return mem[1].sum_spectrum()[self._steps.crop:]
        if hasattr(data, "dask"):
            from .._progress import compute

            (total,) = compute(data.sum(axis=(0, 1), dtype=np.float64), desc="sum spectrum")
            return np.asarray(total)
        return np.asarray(data).sum(axis=(0, 1), dtype=np.float64)

    def _analysis_sum_from_summary(self) -> np.ndarray | None:
        """:meth:`analysis_sum_spectrum` from the summary already made, when it is that sum
        exactly; ``None`` when there is no summary yet or the sums could differ."""
        summary, data, counts, steps = self._summary, self.analysis_spectra.data, self._counts, self._steps
        if summary is None or data.dtype.kind not in "ui" or np.dtype(counts.dtype).kind not in "ui":
            return None
        if not np.all(summary.valid):
            return None
        if steps.bin_size is not None and any(n % f for n, f in zip(counts.shape[:2], steps.bin_size, strict=True)):
            return None
        total = np.asarray(self.sum_spectrum(), dtype=np.float64)
        return total if total.shape == (data.shape[2],) else None

    def spectral_decomposition(self, n_components: int = 8, n_bands: int = 128):
        """Poisson-PCA of the whole spectrum of every pixel, with its explained variance.

        The counts on the analysis grid (:attr:`analysis_spectra`: binned and cropped when
        those steps ran; counts even after :meth:`peak_intensity_normalisation`) are summed
        over ``n_bands`` equal-count energy bands and decomposed as HyperSpy's
        ``decomposition(normalize_poissonian_noise=True)`` does. Invalid pixels
        (:attr:`valid_mask`) stay out and get score 0. The result is kept until the next
        pre-processing step.

        Parameters
        ----------
        n_components : int
            Components kept.
        n_bands : int
            Energy bands (:func:`~sigma.preprocessing.spectral_features.energy_bands`).

        Returns
        -------
        SpectralDecomposition
            ``.scores`` ``(H, W, d)``, ``.explained_variance_ratio``, ``.components`` over the
            bands whose channel edges are ``.edges`` (of :attr:`energy_axis`), ``.names``.

        Examples
        --------
        >>> from sigma.synthetic import tiny_dataset
        >>> d = tiny_dataset().spectral_decomposition(n_components=3, n_bands=32)
        >>> d.scores.shape, d.names
        ((8, 8, 3), ['PC1', 'PC2', 'PC3'])
        >>> bool(d.explained_variance_ratio[0] > d.explained_variance_ratio[1])
        True
        """
        from ..preprocessing.spectral_features import spectral_decomposition

        key = f"spectral_decomposition:{int(n_components)}:{int(n_bands)}"

        def make():
            valid = self.valid_mask
            log.info("Poisson-PCA of the whole spectrum: %d components over %d bands", n_components, n_bands)
            return spectral_decomposition(self.analysis_spectra.data, n_components, n_bands,
                                          mask=None if valid.all() else valid)

        return self._view(key, make)

    def spectral_features(self, n_components: int = 8, n_bands: int = 128) -> np.ndarray:
        """Poisson-PCA scores of the whole spectrum of every pixel, ``(H, W, d)`` float32
        (the ``scores`` of :meth:`spectral_decomposition`); features beside or instead of the
        line maps, not normalised (see :meth:`normalised_features`)."""
        return self.spectral_decomposition(n_components, n_bands).scores

    def normalised_features(self, source: str = "both", n_components: int = 8, n_bands: int = 128,
                            norm_list=None):
        """The latent-space input: line maps, whole-spectrum scores, or both, normalised.

        ``"lines"`` is :attr:`normalised_elemental_data`; ``"spectrum"`` the Poisson-PCA scores
        of :meth:`spectral_decomposition` through the same normalisation chain; ``"both"``
        the two side by side (line features first, then ``PC1 …``; see
        :meth:`normalised_feature_names`). ``sigma run`` builds its latent space with the
        same method (``features.source``).

        Parameters
        ----------
        source : {'lines', 'spectrum', 'both'}
        n_components, n_bands : int
            Of :meth:`spectral_decomposition`.
        norm_list : list, optional
            The normalisation chain; by default that of the last :meth:`normalisation`
            (whose :attr:`normalised_elemental_data` are then the line part). Given, the line
            maps are normalised with it anew (the dataset is not changed).

        Returns
        -------
        ndarray of float32, shape (H, W, F)
            Shown in a notebook as one line.

        Examples
        --------
        >>> from sigma.synthetic import tiny_dataset
        >>> sem = tiny_dataset()
        >>> _ = sem.normalisation(["zscore"])
        >>> data = sem.normalised_features("both", n_components=2, n_bands=32)
        >>> data.shape, sem.normalised_feature_names("both", 2)
        ((8, 8, 5), ['Fe_Ka', 'Si_Ka', 'Ca_Ka', 'PC1', 'PC2'])
        >>> round(float(data[..., 3].std()), 3)  # z-scored like the lines
        1.0
        """
        if source not in SOURCES:
            raise bad_value("source", source, "one of " + ", ".join(repr(s) for s in SOURCES))
        steps = self._norm_steps if norm_list is None else tuple(norm_list)
        mask = self._valid_for_features()
        parts = []
        if source in ("lines", "both"):
            if norm_list is not None:
                parts.append(apply_chain(self.get_feature_maps(self.feature_list), steps, mask=mask))
            elif self.normalised_elemental_data is None:
                raise bad_value("source", source, "'spectrum' before dataset.normalisation([...]) has made "
                                "the line maps (call it first, or pass norm_list)")
            else:
                parts.append(np.asarray(self.normalised_elemental_data, dtype=np.float32))
        if source in ("spectrum", "both"):
            scores = self.spectral_features(n_components, n_bands)
            parts.append(apply_chain(scores, steps, mask=mask))
        out = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)
        names = self.normalised_feature_names(source, out.shape[-1] - (len(self.feature_list)
                                                                        if source == "both" else 0))
        chain = ", ".join(chain_names(steps)) or "raw"
        return quiet(out, f"{source} features {', '.join(names)} ({chain})")

    def normalised_feature_names(self, source: str = "both", n_components: int = 8) -> list[str]:
        """Names of the columns of :meth:`normalised_features` (``PC1 …`` for the scores).

        Examples
        --------
        >>> from sigma.synthetic import tiny_dataset
        >>> tiny_dataset().normalised_feature_names("spectrum", 3)
        ['PC1', 'PC2', 'PC3']
        """
        if source not in SOURCES:
            raise bad_value("source", source, "one of " + ", ".join(repr(s) for s in SOURCES))
        lines = list(self.feature_list) if source in ("lines", "both") else []
        pcs = [f"PC{i + 1}" for i in range(int(n_components))] if source in ("spectrum", "both") else []
        return lines + pcs
