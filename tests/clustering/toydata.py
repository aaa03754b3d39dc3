"""A tiny duck-typed stand-in for SEMDataset: 3 phases with Gaussian-peak spectra.

Pixels in rows 0..19 are pure phases in three column bands; rows 20..29 are known mixtures
(``abundances``). Counts are Poisson. Only the attributes PixelSegmenter uses are provided:
``normalised_elemental_data``, ``feature_list``, ``analysis_spectra`` (a real HyperSpy
Signal1D), ``analysis_nav_img`` and ``energy_axis``.
"""

from __future__ import annotations

import numpy as np

H, W, C = 30, 40, 200
SCALE, OFFSET = 0.05, 0.0  # keV per channel, keV
PEAKS = {  # keV -> feature name
    0.52: "O_Ka",
    1.49: "Al_Ka",
    1.74: "Si_Ka",
    3.69: "Ca_Ka",
    6.40: "Fe_Ka",
}
PHASES = (  # (peak keV, height) per phase
    ((1.74, 1.0), (0.52, 0.8)),  # quartz-like
    ((6.40, 1.0), (0.52, 0.5), (0.70, 0.3)),  # iron oxide-like
    ((3.69, 1.0), (1.49, 0.6), (0.52, 0.6)),  # Ca-Al silicate-like
)


def phase_spectra() -> np.ndarray:
    e = OFFSET + SCALE * np.arange(C)
    out = np.zeros((len(PHASES), C))
    for p, peaks in enumerate(PHASES):
        out[p] = 0.02 * np.exp(-e / 4.0)  # a little continuum
        for mu, hgt in peaks:
            out[p] += hgt * np.exp(-0.5 * ((e - mu) / 0.06) ** 2)
    return out / out.sum(axis=1, keepdims=True)


def abundances() -> np.ndarray:
    a = np.zeros((H, W, 3))
    band = np.repeat(np.arange(3), [13, 14, 13])
    a[:20, np.arange(W), band] = 1.0
    t = np.linspace(0, 1, W)
    a[20:, :, 0] = (1 - t) * 0.7
    a[20:, :, 1] = t * 0.7
    a[20:, :, 2] = 0.3
    return a


class ToyDataset:
    def __init__(self, counts_per_pixel=2000.0, seed=0, lazy=False):
        import hyperspy.api as hs

        rng = np.random.default_rng(seed)
        self.phase_spectra = phase_spectra()
        self.abundances = abundances()
        self.phase_labels = np.where(
            self.abundances.max(axis=2) == 1.0, self.abundances.argmax(axis=2), -1
        )
        expected = counts_per_pixel * self.abundances @ self.phase_spectra
        counts = rng.poisson(expected).astype(np.float32)
        sig = hs.signals.Signal1D(counts)
        sig.axes_manager[-1].scale = SCALE
        sig.axes_manager[-1].offset = OFFSET
        sig.axes_manager[-1].units = "keV"
        if lazy:
            sig = sig.as_lazy()
            sig.data = sig.data.rechunk((7, 40, 200))
        self._spectra = sig
        e = self.energy_axis
        norm = counts / counts.sum(axis=2, keepdims=True)
        feats = np.stack([norm[..., np.abs(e - k) < 0.1].sum(axis=2) for k in PEAKS], axis=2)
        feats = (feats - feats.mean(axis=(0, 1))) / feats.std(axis=(0, 1))
        self.normalised_elemental_data = feats.astype(np.float32)
        self.feature_list = list(PEAKS.values())

    @property
    def analysis_spectra(self):
        return self._spectra

    @property
    def analysis_nav_img(self) -> np.ndarray:
        return np.asarray(self._spectra.data.sum(axis=2), dtype=np.float32)

    @property
    def energy_axis(self) -> np.ndarray:
        return OFFSET + SCALE * np.arange(C)

    def latent(self, d=2) -> np.ndarray:
        """A cheap deterministic latent space: PCA of the features."""
        x = self.normalised_elemental_data.reshape(-1, len(self.feature_list)).astype(np.float64)
        x = x - x.mean(axis=0)
        _, _, vt = np.linalg.svd(x, full_matrices=False)
        return (x @ vt[:d].T).astype(np.float32)
