"""Spectrum datasets: façades over :mod:`sigma.io` and :mod:`sigma.preprocessing`.

A :class:`SpectrumDataset` keeps the counts exactly as the reader gave them (a NumPy array, or
a dask array when loaded with ``lazy=True``) and one :class:`~sigma.datasets._record.Processing`
record of the pre-processing steps. The tutorial's attributes are views derived from the two:

- ``spectra``: the full-resolution **counts** (energy-cropped), always counts;
- ``spectra_raw``: the counts on the analysis grid (binned when binned);
- ``spectra_bin``: the spectra on the analysis grid as the steps left them: binned counts, or
  normalised (each pixel divided by its total) once
  :meth:`~SpectrumDataset.peak_intensity_normalisation` ran; ``None`` before either step;
- ``nav_img`` / ``nav_img_bin``: the navigation image, full resolution / binned (``None``
  when not binned);
- ``analysis_spectra``: the counts on the analysis grid (what clustering and NMF read);
- ``valid_mask``: the pixels that are scanned, finite and hold counts.

The normalised ``spectra_bin`` is a lazily evaluated eXSpy signal (dask, for eager data too):
``plot``, ``get_lines_intensity``, slicing and ``compute()`` work as on any HyperSpy signal,
and no float copy of the cube is held unless it is asked for.

All the numbers the pre-processing needs (navigation image when the file has none, sum
spectrum, pixel totals, the line-window sums of the current feature list, and the binned cube
of an eager dataset) come from **one read** of the cube
(:func:`sigma.preprocessing.cubepass.summarise_cube`), done when first needed; a later change
of the feature list reads only the new lines' channels.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .._errors import bad_file, bad_value
from .._progress import compute
from ..io import RawData, load
from ..io._common import fit_image_to_grid
from ..preprocessing import bin_image, line_windows, normalise_spectra, rebin_cube
from ..preprocessing.binning import _check_factors, _warn_dropped, binned_axis, binned_shape
from ..xray import (
    default_lines_for_elements,
    is_xray_line,
    lines_near_energy,
    propose_lines_from_spectrum,
)
from ._features import NAV_FEATURE, _FeatureMixin, _scaled01
from ._linestats import _LineStatsMixin
from ._record import Processing, ProcessingRecord
from ._signals import eds_signal, image_signal, raw_from_signal
from ._spectral import _SpectralMixin
from ._summary import _SummaryMixin

log = logging.getLogger(__name__)

__all__ = ["NAV_FEATURE", "SpectrumDataset", "SEMDataset", "TEMDataset"]


class SpectrumDataset(_SummaryMixin, _LineStatsMixin, _SpectralMixin, _FeatureMixin):
    """An EDS spectrum image with the tutorial's pre-processing methods.

    Parameters
    ----------
    file_path
        A file of any supported format (see :func:`sigma.io.load`), a HyperSpy signal, or
        what :func:`sigma.io.load` returned for a file (``lazy`` and ``reader_kwargs`` then
        do not apply).
    nag_file_path
        Optional image file used as the navigation image instead of the file's own.
    lazy
        Keep the cube on disk as a dask array chunked in whole rows; nothing is read until a
        result needs it, and then the cube is streamed once for everything.
    **reader_kwargs
        Passed to the reader (``site=``, ``energy_scale=`` ...).

    Attributes
    ----------
    spectra, spectra_bin, spectra_raw
        Full-resolution counts, the processed spectra on the analysis grid, and the counts on
        the analysis grid (see the module notes).
    nav_img, nav_img_bin
        Navigation image (``Signal2D``) at full resolution and binned.
    feature_list, feature_dict
        X-ray lines used as features (plus ``'Navigator'`` once the image is added).
    lines_source
        Where the initial feature list came from: ``'file'`` (lines or elements named in the
        file) or ``'sum spectrum'`` (proposed from the peaks of the map's sum spectrum, the
        case in which ``sigma run`` takes a second look in each cluster's spectrum).
    normalised_elemental_data
        ``(H, W, F)`` float32 features after :meth:`normalisation`, else ``None``.
    processing
        :class:`~sigma.datasets._record.ProcessingRecord`: the analysis-grid counts, the
        steps and the valid-pixel mask in one object.

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
        elif isinstance(file_path, RawData):  # already read (sigma run's "auto" kind)
            raw = file_path
            self.file_path = None if raw.path is None else Path(raw.path)
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
        self.fwhm_mnka = float(raw.energy_resolution_mnka or 130.0)
        self._counts = raw.data
        self._valid_in = None if raw.valid is None else np.asarray(raw.valid, dtype=bool)
        if self._valid_in is not None and self._valid_in.shape != tuple(raw.shape[:2]):
            raise bad_value("valid", self._valid_in.shape, f"a mask of the map's shape {raw.shape[:2]}")
        self._steps = Processing(energy_scale=float(raw.energy_scale), energy_offset=float(raw.energy_offset))
        self._summary = None  # one pass over the full-resolution cube (CubeSummary)
        self._wins: dict[tuple[int, int], np.ndarray] = {}  # absolute channel window -> (H, W)
        self._binned = None  # (bin_size, counts on the binned grid)
        self._memory = None  # lazy: (bin_size, SparseCounts, its dask view) kept from the one pass
        self._views: dict[str, object] = {}
        self._nav_data = self._initial_nav_image(raw, nag_file_path)
        self.normalised_elemental_data = None
        self.nav_img_feature = False
        self._norm_steps = ()
        self.feature_list: list[str] = []
        self.feature_list = self._initial_feature_list(raw)

    # ----------------------------------------------------------------- set-up helpers
    def _initial_nav_image(self, raw: RawData, nag_file_path) -> np.ndarray | None:
        """The file's (or the separate file's) image; ``None``: the counts' sum, read later."""
        shape = raw.shape[:2]
        if nag_file_path is not None:
            from ..io.images import read_image

            self._nav_title = Path(nag_file_path).stem
            return fit_image_to_grid(read_image(nag_file_path), shape)
        if raw.nav_images:
            self._nav_title = next(iter(raw.nav_images))
            return np.asarray(next(iter(raw.nav_images.values())), dtype=np.float32)
        self._nav_title = "Sum of counts"
        return None

    def _initial_feature_list(self, raw: RawData) -> list[str]:
        lo, hi = self._energy_range()
        lines = [ln for ln in raw.xray_lines if is_xray_line(ln)]
        self.lines_source = "file"
        if not lines and raw.elements:
            lines = default_lines_for_elements(raw.elements, raw.beam_energy, (lo, hi))
        if not lines:
            self.lines_source = "sum spectrum"
            spec = self.sum_spectrum()
            lines = propose_lines_from_spectrum(
                spec, self.energy_axis, fwhm_mnka=self.fwhm_mnka, beam_energy=raw.beam_energy,
            )
            if lines:
                log.info("%s names no elements; proposed lines from the sum spectrum: %s",
                         raw.path or "data", lines)
        from ..xray import line_energy

        return sorted({ln for ln in lines if lo <= line_energy(ln) <= hi})

    def _write_lines_metadata(self):
        for s in self._views.values():
            if hasattr(s, "metadata") and s.metadata.has_item("Sample"):
                s.metadata.set_item("Sample.xray_lines", list(self.xray_lines))
                s.metadata.set_item("Sample.elements", sorted({x.split("_")[0] for x in self.xray_lines}))

    def _set_steps(self, **changes):
        """Record a pre-processing step; every derived view is rebuilt on next access."""
        self._steps = self._steps.step(**changes)
        self._views.clear()

    def _view(self, key: str, make):
        if key not in self._views:
            self._views[key] = make()
        return self._views[key]

    # ----------------------------------------------------------------- derived views
    def _grid_raw(self, data, factor=(1, 1), title: str | None = None) -> RawData:
        info, st = self.info, self._steps
        ys, yo = binned_axis(info.nav_scale[0], info.nav_offset[0], factor[0])
        xs, xo = binned_axis(info.nav_scale[1], info.nav_offset[1], factor[1])
        return RawData(
            data=data, path=info.path, energy_scale=st.energy_scale, energy_offset=st.energy_offset,
            nav_scale=(ys, xs), nav_offset=(yo, xo), nav_units=info.nav_units,
            signal_type=self._signal_type, beam_energy=info.beam_energy,
            energy_resolution_mnka=self.fwhm_mnka, elements=info.elements,
            xray_lines=self.xray_lines, metadata={"title": title or self._title},
        )

    @property
    def _title(self) -> str:
        return str(self.info.metadata.get("title") or (self.info.path.stem if self.info.path else "EDS"))

    def _binned_counts(self):
        """Counts on the binned grid (uncropped); ``None`` when not binned."""
        size = self._steps.bin_size
        if size is None:
            return None
        mem = self._memory_counts(size)
        if mem is not None:
            return mem
        if self._binned is None or self._binned[0] != size:
            if self.lazy:  # from the in-memory copy of the full grid when there is one
                self._binned = (size, rebin_cube(self._full_counts(), size))
            else:
                _warn_dropped(self._counts.shape, *size)
                self._ensure_summary(force=True)
        return self._binned[1]

    def _analysis_counts(self):
        """Counts on the analysis grid, energy-cropped (NumPy view or dask)."""
        data = self._binned_counts()
        data = self._full_counts() if data is None else data
        return data[..., self._steps.crop:] if self._steps.crop else data

    def _full_counts(self):
        """Full-resolution counts: the in-memory copy of a lazy dataset when it has one."""
        mem = self._memory_counts(None)
        return self._counts if mem is None else mem

    @property
    def spectra(self):
        """Full-resolution counts as an eXSpy signal (energy-cropped by :meth:`remove_first_peak`)."""
        c0 = self._steps.crop

        def make():
            counts = self._full_counts()
            return eds_signal(self._grid_raw(None), counts[..., c0:] if c0 else counts)

        return self._view("spectra", make)

    @property
    def spectra_raw(self):
        """Counts on the analysis grid (binned when :meth:`rebin_signal` ran)."""
        if self._steps.bin_size is None:
            return self.spectra
        fy, fx = self._steps.bin_size

        def make():
            return eds_signal(self._grid_raw(None, (fy, fx), f"{self._title} binned {fy}×{fx}"),
                              self._analysis_counts())

        return self._view("spectra_raw", make)

    @property
    def spectra_bin(self):
        """Spectra on the analysis grid as the steps left them; ``None`` before any step.

        Binned counts after :meth:`rebin_signal`; after :meth:`peak_intensity_normalisation`
        each pixel divided by its total (a lazily evaluated signal over the counts).
        """
        st = self._steps
        if not st.normalised:
            return None if st.bin_size is None else self.spectra_raw

        def make():
            from .._blocks import as_dask

            counts = self._binned_counts()
            counts = as_dask(self._full_counts() if counts is None else counts)
            data = normalise_spectra(counts[..., st.norm_crop:])[..., st.crop - st.norm_crop:]
            base = self.spectra_raw.metadata.General.title
            return eds_signal(self._grid_raw(data, st.grid_factor, f"{base} (normalised)"), data)

        return self._view("spectra_bin", make)

    @property
    def nav_img(self):
        """Navigation image (``Signal2D``): the file's electron image, or the counts' sum."""

        def make():
            img = self._nav_data
            if img is None:
                img = np.asarray(self._ensure_summary().totals, dtype=np.float32)
            return image_signal(img, self._grid_raw(None), title=self._nav_title)

        return self._view("nav_img", make)

    @property
    def nav_img_bin(self):
        """Navigation image binned like the spectra; ``None`` when not binned."""
        size = self._steps.bin_size
        if size is None:
            return None
        return self._view("nav_img_bin", lambda: image_signal(
            bin_image(self.nav_img.data, size), self._grid_raw(None, size), title=self._nav_title))

    @property
    def bin_size(self) -> tuple[int, int]:
        """``(ny, nx)`` of the analysis grid, ``(1, 1)`` when not binned."""
        return self._steps.grid_factor

    @property
    def normalised_spectra(self) -> bool:
        """Whether :meth:`peak_intensity_normalisation` ran."""
        return self._steps.normalised

    @property
    def processing(self) -> ProcessingRecord:
        """Counts on the analysis grid, the steps that made them, and the valid-pixel mask."""
        return ProcessingRecord(self._analysis_counts(), self._steps, self._valid())

    @property
    def valid_mask(self) -> np.ndarray:
        """``(H, W)`` bool on the analysis grid: scanned, finite, non-negative, with counts.

        A binned pixel is valid when none of its pixels is outside the scan or holds NaN, and
        its total is positive. Invalid pixels stay out of the feature statistics, get the
        label -1 when clustered, and stay out of cluster spectra and NMF.
        """
        return self._valid()

    @property
    def empty_mask(self) -> np.ndarray:
        """``(H, W)`` bool on the analysis grid: pixels that were scanned and are finite but hold
        no count (the thin film of a low-dose TEM map has many).

        They are left out of :attr:`valid_mask` (a pixel without counts has no spectrum to
        normalise or embed), but they are measurements: ``n_components='auto'`` labels them
        from their neighbours (and, on a TEM map, from their count rate).
        """
        return self._empty()

    @property
    def n_invalid(self) -> int:
        """Number of invalid pixels on the analysis grid (see :attr:`valid_mask`)."""
        v = self._valid()
        return int(v.size - np.count_nonzero(v))

    # ----------------------------------------------------------------- properties
    @staticmethod
    def energy_axis_of(signal) -> np.ndarray:
        """Channel energies (keV) of a spectrum signal."""
        ax = signal.axes_manager.signal_axes[0]
        return ax.offset + ax.scale * np.arange(ax.size)

    def _energy_range(self) -> tuple[float, float]:
        e = self.energy_axis
        return float(e[0]), float(e[-1])

    @property
    def analysis_spectra(self):
        """Counts on the analysis grid (binned and cropped when those steps ran)."""
        return self.spectra_raw

    @property
    def analysis_nav_img(self) -> np.ndarray:
        """Navigation image on the analysis grid, ``(H, W)`` float32."""
        img = self.nav_img_bin if self._steps.bin_size is not None else self.nav_img
        return np.asarray(img.data, dtype=np.float32)

    @property
    def energy_axis(self) -> np.ndarray:
        """Channel energies (keV) of the (cropped) spectra."""
        st = self._steps
        return st.energy_offset + st.energy_scale * np.arange(self._counts.shape[2] - st.crop)

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of the analysis grid."""
        full = tuple(int(n) for n in self._counts.shape[:2])
        return full if self._steps.bin_size is None else binned_shape(full, self._steps.bin_size)

    def sum_spectrum(self, binned: bool = False) -> np.ndarray:
        """Sum of the valid pixels' spectra (float64), of :attr:`spectra_bin` when ``binned``."""
        if binned and self.spectra_bin is not None:
            data = self.spectra_bin.data
            flat = data.reshape(-1, data.shape[-1])
            if hasattr(flat, "dask"):
                import dask.array as da

                (s,) = compute(da.nansum(flat, axis=0, dtype=np.float64), desc="sum spectrum")
                return np.asarray(s)
            return np.nansum(flat, axis=0, dtype=np.float64)
        return np.asarray(self._ensure_summary().spectrum[self._steps.crop:], dtype=np.float64)

    # ----------------------------------------------------------------- pre-processing
    def rebin_signal(self, size=(2, 2)):
        """Sum counts over ``size = (ny, nx)`` pixel blocks; bins the navigation image alike.

        Rows and columns that do not fill a whole block are dropped (HyperSpy's
        ``rebin(crop=True)``; see :mod:`sigma.preprocessing.binning`). The counts are binned,
        whatever steps ran before: after :meth:`peak_intensity_normalisation` the binned
        spectra are normalised again from the binned counts.

        Returns
        -------
        (spectra_bin, nav_img_bin)
        """
        fy, fx = _check_factors(size, self._counts.shape)
        self._set_steps(bin_size=(fy, fx))
        if self.normalised_elemental_data is not None:
            log.info("binning changed the grid: normalised_elemental_data must be recomputed")
            self.normalised_elemental_data = None
        self._binned_counts()
        return self.spectra_bin, self.nav_img_bin

    def peak_intensity_normalisation(self):
        """Divide every pixel's spectrum by its total counts (pixels then sum to 1).

        The counts are kept (:attr:`spectra_raw`, :attr:`analysis_spectra`); the normalised
        spectra are :attr:`spectra_bin`. Pixels with no counts (or NaN) become zero spectra.

        Returns
        -------
        The normalised signal (:attr:`spectra_bin`).
        """
        if self._steps.normalised:
            log.info("peak_intensity_normalisation: the spectra are already normalised")
        else:
            self._set_steps(normalised=True, norm_crop=self._steps.crop)
        return self.spectra_bin

    def remove_first_peak(self, end: float = 0.1):
        """Crop every spectrum below ``end`` keV, removing the zero-energy (noise) peak.

        The channel is found as HyperSpy's ``isig[end:]`` finds it; every view of the
        spectra is cropped alike (views, no copy).
        """
        from ..preprocessing.spectra import isig_index

        lo, hi = self._energy_range()
        if not np.isfinite(end) or end >= hi:
            raise bad_value("end", end, f"an energy in keV below the top of the axis ({hi:.3f} keV)")
        if end <= lo:
            log.info("remove_first_peak: %.3f keV is below the axis start; nothing cropped", end)
            return
        st = self._steps
        i = isig_index(float(end), st.energy_offset, st.energy_scale, int(self._counts.shape[2] - st.crop))
        if i:
            self._set_steps(crop=st.crop + i, energy_offset=float(st.energy_offset + i * st.energy_scale))

    def set_energy_calibration(self, scale: float, offset: float):
        """Set the energy axis (keV/channel, keV at the first channel) of every spectrum."""
        if not (np.isfinite(scale) and scale > 0):
            raise bad_value("scale", scale, "a positive energy step in keV per channel")
        if not np.isfinite(offset):
            raise bad_value("offset", offset, "a finite energy in keV")
        self._set_steps(energy_scale=float(scale), energy_offset=float(offset))
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

    def _line_windows(self, lines, background: bool = False):
        e = self.energy_axis
        return line_windows(lines, float(e[1] - e[0]), float(e[0]), e.size,
                            fwhm_mnka=self.fwhm_mnka, background=background)

    def _line_counts(self, lines, background: bool = False, full: bool = False) -> np.ndarray:
        """``(H, W, F)`` float32 counts in each line's window (background-subtracted when asked)."""
        wins = self._line_windows(lines, background)
        c0 = self._steps.crop
        pairs = []
        for w in wins:
            pairs.append((w.lo + c0, w.hi + c0))
            if background:
                pairs += [(w.bg_left[0] + c0, w.bg_left[1] + c0), (w.bg_right[0] + c0, w.bg_right[1] + c0)]
        sums = iter(self._window_counts(pairs, full))
        cols = []
        for w in wins:
            s = next(sums)
            if background:
                left, right = next(sums), next(sums)
                nl, nr = w.bg_left[1] - w.bg_left[0], w.bg_right[1] - w.bg_right[0]
                s = s - np.float32(w.hi - w.lo) * np.float32(0.5) * (left / np.float32(nl) + right / np.float32(nr))
            cols.append(s)
        return np.stack(cols, axis=-1).astype(np.float32, copy=False)

    def get_feature_maps(self, feature_list=None, raw_data: bool = False, background: bool = False):
        """Line intensity maps ``(H, W, F)`` float32 summed over line ± FWHM.

        After :meth:`peak_intensity_normalisation` the maps are those of the normalised
        spectra (window counts divided by the pixel totals). Invalid pixels (see
        :attr:`valid_mask`) are 0.

        Parameters
        ----------
        feature_list
            Features to compute (default :attr:`feature_list`); ``'Navigator'`` gives the
            navigation image scaled to 0–1.
        raw_data
            The full-resolution counts, even when the data are binned or normalised.
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
        full = raw_data or self._steps.bin_size is None
        lines = [f for f in feats if f != NAV_FEATURE]
        maps = None
        if lines:
            maps = self._line_counts(lines, background, full)
            if self._steps.normalised and not raw_data:
                # window sums of the normalised spectra == window sums of the counts / total
                tot = self._totals(full, self._steps.norm_crop)
                safe = np.where(tot > 0, tot, 1.0).astype(np.float32)
                maps = maps / safe[..., None] * (tot > 0)[..., None]
            maps = np.asarray(maps, dtype=np.float32)
        cols, j = [], 0
        nav = self._on_grid(np.asarray(self.nav_img.data), full)
        for f in feats:
            if f == NAV_FEATURE:
                cols.append(_scaled01(nav))
            else:
                cols.append(maps[..., j])
                j += 1
        out = np.stack(cols, axis=-1).astype(np.float32, copy=False)
        valid = self._valid(full)
        if not valid.all():
            out[~valid] = 0.0
        return out

    def __repr__(self) -> str:
        h, w, c = self._counts.shape
        src = self.file_path.name if self.file_path else "signal"
        return (f"<{type(self).__name__} {src}: {h}×{w} px, {c} channels, "
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
