"""Dataset façades over :mod:`sigma.io` and :mod:`sigma.preprocessing`.

``SEMDataset``/``TEMDataset`` hold spectra as eXSpy signals (lazy when loaded with
``lazy=True``) and expose the tutorial's methods; the numeric work happens in the pure kernels
of :mod:`sigma.preprocessing`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .._errors import bad_file, bad_value
from .._progress import compute
from ..io import RawData, load
from ..io._common import fit_image_to_grid
from ..preprocessing import (
    bin_image,
    feature_maps,
    line_windows,
    normalise_spectra,
    rebin_cube,
)
from ..xray import (
    default_lines_for_elements,
    is_xray_line,
    lines_near_energy,
    propose_lines_from_spectrum,
)
from ._features import NAV_FEATURE, _FeatureMixin, _scaled01
from ._linestats import _LineStatsMixin
from ._signals import eds_signal, image_signal, raw_from_signal

log = logging.getLogger(__name__)

__all__ = ["NAV_FEATURE", "SpectrumDataset", "SEMDataset", "TEMDataset"]


class SpectrumDataset(_LineStatsMixin, _FeatureMixin):
    """An EDS spectrum image with the tutorial's pre-processing methods.

    Parameters
    ----------
    file_path
        A file of any supported format (see :func:`sigma.io.load`), or a HyperSpy signal.
    nag_file_path
        Optional image file used as the navigation image instead of the file's own.
    lazy
        Keep the cube on disk as a dask array chunked in whole rows; every step stays lazy and
        the feature maps are computed in one streaming pass.
    **reader_kwargs
        Passed to the reader (``site=``, ``energy_scale=`` ...).

    Attributes
    ----------
    spectra, spectra_bin, spectra_raw
        Full-resolution spectra, binned spectra, and the counts on the analysis grid.
    nav_img, nav_img_bin
        Navigation image (``Signal2D``) at full resolution and binned.
    feature_list, feature_dict
        X-ray lines used as features (plus ``'Navigator'`` once the image is added).
    normalised_elemental_data
        ``(H, W, F)`` float32 features after :meth:`normalisation`, else ``None``.

    Examples
    --------
    >>> from sigma.synthetic import make_phantom
    >>> ds = SpectrumDataset(make_phantom((6, 8), n_channels=256, energy_scale=0.04).to_signal())
    >>> ds.shape
    (6, 8)
    >>> ds.set_feature_list(["Fe_Ka", "Si_Ka"])
    >>> _ = ds.normalisation([])
    >>> ds.normalised_elemental_data.shape
    (6, 8, 2)
    """

    _signal_type = "EDS_SEM"

    def __init__(self, file_path, nag_file_path=None, *, lazy: bool = False, **reader_kwargs):
        if hasattr(file_path, "axes_manager"):
            raw = raw_from_signal(file_path, signal_type=None)
            self.file_path = None
        else:
            self.file_path = Path(file_path)
            raw = load(self.file_path, lazy=lazy, **reader_kwargs)
        if raw.kind != "spectrum":
            raise bad_file(
                raw.path or file_path, "holds element maps, not spectra",
                "a spectrum image; open element maps with ImageDataset",
            )
        if raw.signal_type != self._signal_type:
            log.info("%s: treating %s data as %s", type(self).__name__, raw.signal_type, self._signal_type)
            raw.signal_type = self._signal_type
        self.info = raw
        self.lazy = hasattr(raw.data, "dask")
        self.spectra = eds_signal(raw)
        self.fwhm_mnka = float(raw.energy_resolution_mnka or 130.0)
        nav = self._initial_nav_image(raw, nag_file_path)
        self.nav_img = image_signal(nav, raw, title=self._nav_title)
        self.spectra_bin = None
        self.nav_img_bin = None
        self.spectra_raw = None
        self.bin_size = (1, 1)
        self.normalised_elemental_data = None
        self.nav_img_feature = False
        self.norm_chain: list[str] = []
        self.normalised_spectra = False
        self._normalised_signal = None
        self._totals = None
        self.feature_list = self._initial_feature_list(raw)
        self._write_lines_metadata()

    # ----------------------------------------------------------------- set-up helpers
    def _initial_nav_image(self, raw: RawData, nag_file_path) -> np.ndarray:
        shape = raw.shape[:2]
        if nag_file_path is not None:
            from ..io.images import read_image

            self._nav_title = Path(nag_file_path).stem
            return fit_image_to_grid(read_image(nag_file_path), shape)
        if raw.nav_images:
            self._nav_title = next(iter(raw.nav_images))
            return np.asarray(next(iter(raw.nav_images.values())), dtype=np.float32)
        self._nav_title = "Sum of counts"
        total = raw.data.sum(axis=-1, dtype=np.float64) if not hasattr(raw.data, "dask") else (
            raw.data.sum(axis=-1, dtype=np.float32)
        )
        (total,) = compute(total, desc="navigation image")
        return np.nan_to_num(np.asarray(total, dtype=np.float32))

    def _initial_feature_list(self, raw: RawData) -> list[str]:
        lo, hi = self._energy_range()
        lines = [ln for ln in raw.xray_lines if is_xray_line(ln)]
        if not lines and raw.elements:
            lines = default_lines_for_elements(raw.elements, raw.beam_energy, (lo, hi))
        if not lines:
            spec = self.sum_spectrum()
            lines = propose_lines_from_spectrum(
                spec, self.energy_axis_of(self.spectra), fwhm_mnka=self.fwhm_mnka,
                beam_energy=raw.beam_energy,
            )
            if lines:
                log.info("%s names no elements; proposed lines from the sum spectrum: %s",
                         raw.path or "data", lines)
        from ..xray import line_energy

        return sorted({ln for ln in lines if lo <= line_energy(ln) <= hi})

    def _write_lines_metadata(self):
        for s in (self.spectra, self.spectra_bin, self.spectra_raw):
            if s is not None:
                s.metadata.set_item("Sample.xray_lines", list(self.xray_lines))
                s.metadata.set_item("Sample.elements", sorted({x.split("_")[0] for x in self.xray_lines}))

    # ----------------------------------------------------------------- properties
    @staticmethod
    def energy_axis_of(signal) -> np.ndarray:
        """Channel energies (keV) of a spectrum signal."""
        ax = signal.axes_manager.signal_axes[0]
        return ax.offset + ax.scale * np.arange(ax.size)

    def _energy_range(self) -> tuple[float, float]:
        e = self.energy_axis_of(self.spectra)
        return float(e[0]), float(e[-1])

    @property
    def analysis_spectra(self):
        """Counts on the analysis grid (binned and cropped when those steps ran)."""
        if self.spectra_raw is not None:
            return self.spectra_raw
        return self.spectra_bin if self.spectra_bin is not None else self.spectra

    @property
    def analysis_nav_img(self) -> np.ndarray:
        """Navigation image on the analysis grid, ``(H, W)`` float32."""
        img = self.nav_img_bin if self.nav_img_bin is not None else self.nav_img
        return np.asarray(img.data, dtype=np.float32)

    @property
    def energy_axis(self) -> np.ndarray:
        """Channel energies (keV) of :attr:`analysis_spectra`."""
        return self.energy_axis_of(self.analysis_spectra)

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of the analysis grid."""
        return tuple(self.analysis_spectra.data.shape[:2])

    def sum_spectrum(self, binned: bool = False) -> np.ndarray:
        """Sum of all pixels' spectra (float64), of the binned data when ``binned``."""
        sig = self.spectra_bin if (binned and self.spectra_bin is not None) else self.spectra
        total = sig.data.reshape(-1, sig.data.shape[-1])
        if hasattr(total, "dask"):
            (s,) = compute(total.sum(axis=0, dtype=np.float64), desc="sum spectrum")
            return np.nan_to_num(np.asarray(s))
        return np.nansum(total, axis=0, dtype=np.float64)

    # ----------------------------------------------------------------- pre-processing
    def rebin_signal(self, size=(2, 2)):
        """Sum counts over ``size = (ny, nx)`` pixel blocks; bins the navigation image alike.

        Returns
        -------
        (spectra_bin, nav_img_bin)
        """
        data = self.spectra.data
        binned = rebin_cube(data, size)
        fy, fx = int(size[0]), int(size[1])
        raw = self._derived_raw(binned, (fy, fx))
        self.spectra_bin = eds_signal(raw, binned)
        self.spectra_bin.metadata.General.title = f"{self.spectra.metadata.General.title} binned {fy}×{fx}"
        self.spectra_raw = self.spectra_bin
        self.nav_img_bin = image_signal(bin_image(self.nav_img.data, (fy, fx)), raw, title=self._nav_title)
        self.bin_size = (fy, fx)
        self.normalised_spectra = False
        self._normalised_signal = None
        self._totals = None
        self._write_lines_metadata()
        if self.normalised_elemental_data is not None:
            log.info("binning changed the grid: normalised_elemental_data must be recomputed")
            self.normalised_elemental_data = None
        return self.spectra_bin, self.nav_img_bin

    def _derived_raw(self, data, factors=(1, 1)) -> RawData:
        ax = self.spectra.axes_manager
        y, x = ax.navigation_axes[1], ax.navigation_axes[0]
        e = ax.signal_axes[0]
        info = self.info
        return RawData(
            data=data, path=info.path, energy_scale=float(e.scale), energy_offset=float(e.offset),
            nav_scale=(float(y.scale) * factors[0], float(x.scale) * factors[1]),
            nav_offset=(float(y.offset), float(x.offset)), nav_units=str(x.units),
            signal_type=self._signal_type, beam_energy=info.beam_energy,
            energy_resolution_mnka=self.fwhm_mnka, elements=info.elements,
            xray_lines=self.xray_lines, metadata={"title": self.spectra.metadata.General.title},
        )

    def peak_intensity_normalisation(self):
        """Divide every pixel's spectrum by its total counts (pixels then sum to 1).

        Works on the binned spectra when they exist. The counts stay available as
        :attr:`spectra_raw`; pixels with no counts (or NaN) become zero spectra.
        """
        target = self.spectra_bin if self.spectra_bin is not None else self.spectra
        if target is self._normalised_signal:
            log.info("peak_intensity_normalisation: the spectra are already normalised")
            return target
        self.spectra_raw = target
        # Pixel totals, kept so that line maps of the normalised spectra can be taken from the
        # counts in one pass (window sum / total) without reading a float32 copy of the cube.
        data = target.data
        if hasattr(data, "dask"):
            self._totals = data.sum(axis=-1, dtype=np.float64)
        else:
            self._totals = np.nansum(data, axis=-1, dtype=np.float64)
        raw = self._derived_raw(None, self.bin_size)
        ax = target.axes_manager.signal_axes[0]
        raw.energy_scale, raw.energy_offset = float(ax.scale), float(ax.offset)
        norm = eds_signal(raw, normalise_spectra(target.data))
        norm.metadata.General.title = f"{target.metadata.General.title} (normalised)"
        if self.spectra_bin is not None:
            self.spectra_bin = norm
        else:
            self.spectra = norm
        self.normalised_spectra = True
        self._normalised_signal = norm
        self._write_lines_metadata()
        return norm

    def remove_first_peak(self, end: float = 0.1):
        """Crop every spectrum below ``end`` keV, removing the zero-energy (noise) peak.

        Applies to the full-resolution, binned and raw-count spectra alike (views, no copy).
        """
        lo, hi = self._energy_range()
        if not np.isfinite(end) or end >= hi:
            raise bad_value("end", end, f"an energy in keV below the top of the axis ({hi:.3f} keV)")
        if end <= lo:
            log.info("remove_first_peak: %.3f keV is below the axis start; nothing cropped", end)
            return
        seen = {}
        for name in ("spectra", "spectra_bin", "spectra_raw"):
            s = getattr(self, name)
            if s is None:
                continue
            if id(s) not in seen:
                seen[id(s)] = s.isig[float(end):]
                if s is self._normalised_signal:
                    self._normalised_signal = seen[id(s)]
            setattr(self, name, seen[id(s)])

    def set_energy_calibration(self, scale: float, offset: float):
        """Set the energy axis (keV/channel, keV at channel 0) of every spectrum signal."""
        if not (np.isfinite(scale) and scale > 0):
            raise bad_value("scale", scale, "a positive energy step in keV per channel")
        if not np.isfinite(offset):
            raise bad_value("offset", offset, "a finite energy in keV")
        for name in ("spectra", "spectra_bin", "spectra_raw"):
            s = getattr(self, name)
            if s is not None:
                ax = s.axes_manager.signal_axes[0]
                ax.scale, ax.offset = float(scale), float(offset)
        self.info.energy_scale, self.info.energy_offset, self.info.calibrated = scale, offset, True
        self._renormalise_if_needed()

    def set_feature_list(self, feature_list):
        """Choose the features: X-ray lines such as ``'Fe_Ka'``, and ``'Navigator'``.

        An unknown line or a line outside the energy axis raises an error naming it. When
        :attr:`normalised_elemental_data` exists it is recomputed with the same chain.
        """
        feats = [str(f).strip() for f in feature_list]
        if not feats:
            raise bad_value("feature_list", feature_list, "at least one X-ray line such as 'Fe_Ka'")
        lo, hi = self._energy_range()
        from ..xray import line_energy

        for f in feats:
            if f == NAV_FEATURE:
                continue
            if not is_xray_line(f):
                raise bad_value("feature_list", f, "X-ray lines written Element_Line, such as 'Fe_Ka', or 'Navigator'")
            if not lo <= line_energy(f) <= hi:
                raise bad_value("feature_list", f, f"lines inside the energy axis {lo:.3f}–{hi:.3f} keV")
        self.feature_list = list(dict.fromkeys(feats))
        self.nav_img_feature = NAV_FEATURE in self.feature_list
        self._write_lines_metadata()
        log.info("feature list: %s", self.feature_list)
        self._renormalise_if_needed()

    def lines_near_energy(self, energy: float, width: float = 0.2, only_major: bool = False):
        """X-ray lines within ``width/2`` keV of ``energy`` (the GUI's "Energy (keV)" box)."""
        return lines_near_energy(float(energy), width, only_major)

    def get_feature_maps(self, feature_list=None, raw_data: bool = False, background: bool = False):
        """Line intensity maps ``(H, W, F)`` float32 summed over line ± FWHM.

        Parameters
        ----------
        feature_list
            Features to compute (default :attr:`feature_list`); ``'Navigator'`` gives the
            navigation image scaled to 0–1.
        raw_data
            Use the full-resolution spectra even when binned ones exist.
        background
            Subtract a linear background estimated either side of each line.
        """
        feats = list(self.feature_list if feature_list is None else feature_list)
        if not feats:
            raise bad_value(
                "feature_list", feats,
                "at least one X-ray line; this data names no elements and no peaks were found, "
                "so set them with set_feature_list(['Fe_Ka', ...])",
            )
        use_bin = self.spectra_bin is not None and not raw_data
        src, counts, divide = self._count_source(raw_data)
        lines = [f for f in feats if f != NAV_FEATURE]
        e = self.energy_axis_of(src)
        maps = None
        if lines:
            wins = line_windows(lines, float(e[1] - e[0]), float(e[0]), e.size,
                                fwhm_mnka=self.fwhm_mnka, background=background)
            sums = self._window_sums(counts, wins, background, with_totals=divide)
            if divide:
                # window sums of the normalised spectra == window sums of the counts / total
                tot = self._totals
                safe = np.where(tot > 0, tot, 1.0).astype(np.float32)
                maps = sums / safe[..., None] * (tot > 0)[..., None]
            else:
                maps = sums
            maps = np.asarray(maps, dtype=np.float32)
        cols, j = [], 0
        nav = (self.nav_img_bin if use_bin else self.nav_img).data
        for f in feats:
            if f == NAV_FEATURE:
                cols.append(_scaled01(nav))
            else:
                cols.append(maps[..., j])
                j += 1
        return np.stack(cols, axis=-1).astype(np.float32, copy=False)

    def _count_source(self, raw_data: bool = False):
        """``(src, summed, divide)``: the spectra the features describe, the signal whose window
        sums are taken, and whether those sums must be divided by the pixel totals (normalised
        spectra whose counts are kept: the sums are then counts, read in one pass)."""
        use_bin = self.spectra_bin is not None and not raw_data
        src = self.spectra_bin if use_bin else self.spectra
        counts = self.spectra_raw
        if (src is self._normalised_signal and counts is not None and counts is not src
                and counts.data.shape == src.data.shape and self._totals is not None):
            return src, counts, True
        return src, src, False

    def _window_sums(self, sig, wins, background: bool, *, with_totals: bool = False):
        """``(H, W, len(wins))`` window sums of ``sig``, computing only lines not cached yet.

        The cache belongs to one signal object (held weakly) and one energy axis, FWHM and
        background choice; any pre-processing step makes a new signal, so it never goes stale.
        With ``with_totals`` the pixel totals are computed in the same pass when lazy.
        """
        import weakref

        e = sig.axes_manager.signal_axes[0]
        key = (float(e.scale), float(e.offset), int(e.size), float(self.fwhm_mnka), bool(background))
        cache = getattr(self, "_sums_cache", None)
        if cache is None or cache["ref"]() is not sig or cache["key"] != key:
            cache = self._sums_cache = {"ref": weakref.ref(sig), "key": key, "maps": {}}
        missing = [w for w in wins if w.line not in cache["maps"]]
        todo = [feature_maps(sig.data, missing)] if missing else []
        lazy_tot = with_totals and hasattr(self._totals, "dask")
        if lazy_tot:
            todo.append(self._totals)
        if todo:
            done = compute(*todo, desc="feature maps")
            if missing:
                new = np.asarray(done[0], dtype=np.float32)
                for i, w in enumerate(missing):
                    cache["maps"][w.line] = new[..., i]
            if lazy_tot:
                self._totals = np.asarray(done[-1], dtype=np.float64)
        return np.stack([cache["maps"][w.line] for w in wins], axis=-1)

    def __repr__(self) -> str:
        h, w = self.spectra.data.shape[:2]
        src = self.file_path.name if self.file_path else "signal"
        return (f"<{type(self).__name__} {src}: {h}×{w} px, {self.spectra.data.shape[2]} channels, "
                f"features={self.feature_list}{', lazy' if self.lazy else ''}>")


class SEMDataset(SpectrumDataset):
    """SEM EDS spectrum image (``EDS_SEM``); see :class:`SpectrumDataset`.

    Examples
    --------
    >>> from sigma.synthetic import make_phantom
    >>> sem = SEMDataset(make_phantom((12, 16), counts_per_pixel=50).to_signal())
    >>> sem.rebin_signal(size=(2, 2))[0].data.shape[:2]
    (6, 8)
    """

    _signal_type = "EDS_SEM"


class TEMDataset(SpectrumDataset):
    """STEM/TEM EDS spectrum image (``EDS_TEM``); see :class:`SpectrumDataset`.

    Examples
    --------
    >>> from sigma.synthetic import make_phantom
    >>> ph = make_phantom((8, 8), kind="TEM", n_channels=512, energy_scale=0.04)
    >>> tem = TEMDataset(ph.to_signal())
    >>> tem.shape, tem.spectra.metadata.Signal.signal_type
    ((8, 8), 'EDS_TEM')
    >>> "Cu_Ka" in tem.feature_list
    True
    """

    _signal_type = "EDS_TEM"
