"""Counts per line and energy calibration from peaks: the statistics a spectrum dataset reports."""

from __future__ import annotations

import numpy as np

from .._errors import bad_value
from ._features import NAV_FEATURE


class _LineStatsMixin:
    """:meth:`line_counts`, :meth:`weak_lines` and :meth:`calibrate_spectra` of a spectrum dataset."""

    def line_counts(self, feature_list=None, top_fraction: float = 0.05, mask=None) -> dict[str, dict[str, float]]:
        """Counts per pixel in each line's window, on the analysis grid.

        A line whose map is mostly 0s and 1s carries little per-pixel information, and
        z-scoring turns its single counts into large jumps that split every phase into
        islands in a UMAP projection. These figures tell such lines apart; they come from the
        counts, which the dataset always keeps. They are taken over the valid pixels (see
        ``valid_mask``). Computed maps are cached, so a following :meth:`normalisation` of the
        same lines reads the spectra no more.

        Parameters
        ----------
        feature_list : list of str, optional
            X-ray lines (default: the lines of :attr:`feature_list`).
        top_fraction : float
            Share of brightest pixels averaged for ``'top_mean'`` (a phase covering this
            share of the map shows its own level there).
        mask : array_like of bool, optional
            ``(H, W)`` on the analysis grid: the figures over these pixels only (e.g. one
            cluster's, where a minority phase is a larger share than of the whole map).

        Returns
        -------
        dict
            ``{line: {'mean': counts per pixel over the map, 'top_mean': mean of the
            brightest top_fraction of pixels}}``.

        Examples
        --------
        >>> from sigma.datasets import SEMDataset
        >>> from sigma.synthetic import make_phantom
        >>> ds = SEMDataset(make_phantom((24, 32), counts_per_pixel=100, seed=1).to_signal())
        >>> _ = ds.peak_intensity_normalisation()
        >>> c = ds.line_counts()
        >>> c["Si_Ka"]["top_mean"] > 10 > c["C_Ka"]["top_mean"]
        True
        """
        if not 0 < float(top_fraction) <= 1:
            raise bad_value("top_fraction", top_fraction, "a share in (0, 1]")
        lines = [f for f in (self.feature_list if feature_list is None else feature_list)
                 if f != NAV_FEATURE]
        if not lines:
            return {}
        maps = self._line_counts(lines)
        valid = self.valid_mask
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != valid.shape:
                raise bad_value("mask", mask.shape, f"a boolean map of the analysis grid's shape {valid.shape}")
            valid = valid & mask
        flat = maps[valid] if not valid.all() else maps.reshape(-1, len(lines))
        n = flat.shape[0]
        if n == 0:
            return {line: {"mean": 0.0, "top_mean": 0.0} for line in lines}
        k = max(1, int(round(float(top_fraction) * n)))
        top = np.partition(flat, n - k, axis=0)[n - k:].mean(axis=0, dtype=np.float64)
        mean = flat.mean(axis=0, dtype=np.float64)
        return {line: {"mean": float(mean[i]), "top_mean": float(top[i])} for i, line in enumerate(lines)}

    def weak_lines(self, min_counts: float = 2.0, feature_list=None, top_fraction: float = 0.05) -> list[str]:
        """Lines with fewer than ``min_counts`` counts per pixel in their brightest pixels.

        See :meth:`line_counts`. Such lines are better dropped from the features (or the map
        binned more, or ``neighbour_averaging`` added) before a UMAP projection.

        Examples
        --------
        >>> from sigma.datasets import SEMDataset
        >>> from sigma.synthetic import make_phantom
        >>> ds = SEMDataset(make_phantom((24, 32), counts_per_pixel=100, seed=1).to_signal())
        >>> ds.weak_lines(5.0)  # C Kα of calcite: about 4 counts in the brightest pixels
        ['C_Ka']
        """
        counts = self.line_counts(feature_list, top_fraction)
        return [line for line, c in counts.items() if c["top_mean"] < float(min_counts)]

    def calibrate_spectra(self, measured_peaks: dict | None = None, tolerance: float = 0.2):
        """Fix a wrong energy axis from peaks of known lines (linear fit E_true = a·E + b).

        Parameters
        ----------
        measured_peaks
            ``{'Fe_Ka': 6.37, 'Si_Ka': 1.72}`` measured positions in keV; when omitted, peaks of
            the sum spectrum are matched to the nearest lines of :attr:`feature_list`.
        tolerance
            Largest distance (keV) between a peak and the line it is matched to.
        """
        from scipy.optimize import linear_sum_assignment
        from scipy.signal import find_peaks

        from ..xray import line_energy

        if measured_peaks is None:
            from scipy.stats import theilslopes

            spec = self.sum_spectrum()
            e = self.energy_axis
            pk, _ = find_peaks(spec, prominence=max(5 * np.sqrt(max(spec.max(), 1)), 1))
            meas = e[pk][e[pk] > 0.15]  # never the zero-energy (noise) peak
            refs = np.asarray([line_energy(x) for x in self.xray_lines])

            def match(m, tol):
                cost = np.abs(m[:, None] - refs[None, :])
                cost[cost > tol] = 1e6
                r, c = linear_sum_assignment(cost)
                keep = cost[r, c] <= tol
                return r[keep], c[keep]

            r, c = match(meas, tolerance)
            if len(r) < 2:
                raise bad_value("measured_peaks", None, "at least two sum-spectrum peaks within "
                                f"{tolerance} keV of the feature lines (found {len(r)})")
            a, b = theilslopes(refs[c], meas[r])[:2]  # robust to a wrong first match
            for tol in (tolerance / 3, tolerance / 6):
                r2, c2 = match(a * meas + b, tol)
                if len(r2) < 2:  # a tighter tolerance lost the peaks: keep the fit so far
                    break
                r, c = r2, c2
                a, b = np.polyfit(meas[r], refs[c], 1)
            pairs = list(zip(meas[r], refs[c], strict=True))
        else:
            pairs = [(float(v), line_energy(k)) for k, v in measured_peaks.items()]
        if len(pairs) < 2:
            raise bad_value("measured_peaks", measured_peaks, "at least two peaks matched to known X-ray lines")
        m, t = np.asarray(pairs).T
        a, b = np.polyfit(m, t, 1)
        e = self.energy_axis
        self.set_energy_calibration(a * float(e[1] - e[0]), a * float(e[0]) + b)
        return float(a), float(b)
