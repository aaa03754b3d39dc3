"""Synthetic EDS spectrum images with a known phase map (the ground truth of accuracy tests).

A phantom is built in three steps, all seeded:

1. **Phase map.** Phase 0 is the matrix; every other phase owns the blobs where its own smoothed
   Gaussian random field is the largest of all and above the 40 % quantile of their maximum, so
   shapes are spatially coherent and every phase is present. With ``boundary_width=w > 0`` the
   abundances are the one-hot map averaged over a ``(2w+1) x (2w+1)`` box: pixels within ``w``
   pixels of another phase are fractional mixtures (the labels stay the unmixed map).
2. **Spectra.** Each phase has a noiseless spectrum (:func:`sigma.synthetic.spectra.phase_spectrum`)
   summing to 1; a pixel expects ``counts_per_pixel * abundances @ phase_spectra``.
3. **Counts.** Sampled exactly as a Poisson process: per pixel a Poisson total, then each count's
   phase (from the abundances) and channel (inverse CDF of that phase's spectrum). Each *row*
   has its own random stream, so :func:`make_phantom` and :func:`write_large_phantom` give the
   same numbers for the same seed, whatever the block size.

The navigation image (``nav_img``) is the abundance-weighted mean atomic number plus Gaussian
noise of 2 % of the largest phase's :math:`\\bar Z` (a BSE image for SEM, HAADF-like for TEM).

**How the navigation image travels in ``.hspy``.** HyperSpy's ``.hspy`` holds one signal per file,
so :meth:`Phantom.to_signal` and :meth:`Phantom.save_hspy` put the image in the spectrum's own
metadata, as a float32 ``(H, W)`` array at ``metadata.Signal.sigma_nav_image``
(:data:`sigma.io.hspy.NAV_IMAGE_NODE`, where :func:`sigma.io.hspy.read_hspy` looks for it), and
its name, ``'BSE'`` (SEM) or ``'HAADF'`` (TEM), at ``metadata.Signal.sigma_nav_image_title``
(:data:`sigma.io.hspy.NAV_IMAGE_TITLE_NODE`); the reader returns it as ``raw.nav_images['BSE']``
or ``raw.nav_images['HAADF']``. HyperSpy writes metadata arrays as HDF5 datasets, so
``hs.load(path).metadata.Signal.sigma_nav_image`` and
``rsciio.hspy.file_reader(path)[0]['metadata']['Signal']['sigma_nav_image']`` return it too. The
ground truth rides along in ``original_metadata.phantom`` (``labels``, ``phase_names``, ``seed``,
``counts_per_pixel``, ``nav_image_name``). In ``.h5oina`` files the image is the BSE image of
the electron-image group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._files import CHUNK_BYTES, _check_compression, _check_out_path, _divisor_at_most, _row_chunks

#: Pixel size of the phantom's navigation axes (µm).
PIXEL_SIZE_UM = 0.1


@dataclass
class Phantom:
    """A synthetic EDS spectrum image and its ground truth.

    Attributes
    ----------
    spectra : ndarray
        ``(H, W, C)`` counts (``dtype`` of :func:`make_phantom`, uint16 by default); a lazy dask
        array when returned by :func:`write_large_phantom`.
    labels : ndarray
        ``(H, W)`` int phase index of every pixel (the unmixed map).
    abundances : ndarray
        ``(H, W, P)`` float32 phase fractions, summing to 1 per pixel.
    phase_spectra : ndarray
        ``(P, C)`` float64 noiseless pure-phase spectra, each summing to 1.
    phase_names : list of str
    compositions : list of dict
        Weight fractions ``{element: fraction}`` per phase.
    nav_img : ndarray
        ``(H, W)`` float32 BSE-like image (mean atomic number plus noise).
    energy_scale, energy_offset : float
        keV per channel and keV at channel 0.
    energy_axis : ndarray
        ``(C,)`` channel energies in keV.
    beam_energy : float
        kV.
    kind : {'SEM', 'TEM'}
    elements : list of str
        Every element of the phases (and Cu for TEM, from the grid).
    xray_lines : list of str
        One line per element (:func:`sigma.xray.default_lines_for_elements`).
    fwhm_mnka : float
        Detector FWHM at Mn Kα in eV.
    counts_per_pixel : float
        Mean total counts of a pixel (times :attr:`intensity` where that is set).
    seed : int
    pixel_size : float
        µm per pixel of the navigation axes.
    intensity : ndarray or None
        ``(H, W)`` float relative count rate: a pixel expects ``counts_per_pixel * intensity``
        counts (thicker or heavier places give more X-rays). ``None``: the same everywhere.

    Examples
    --------
    >>> from sigma.synthetic import make_phantom
    >>> ph = make_phantom((6, 8), n_channels=256, energy_scale=0.04)
    >>> ph.spectra.shape, ph.labels.shape, ph.abundances.shape, ph.phase_spectra.shape
    ((6, 8, 256), (6, 8), (6, 8, 5), (5, 256))
    >>> ph  # doctest: +NORMALIZE_WHITESPACE
    Phantom(kind='SEM', shape=(6, 8, 256), phases=['quartz', 'albite', 'magnetite', 'calcite',
    'ilmenite'], counts_per_pixel=100, beam_energy=20, seed=0)
    """

    spectra: object
    labels: np.ndarray
    abundances: np.ndarray
    phase_spectra: np.ndarray
    phase_names: list[str]
    compositions: list[dict]
    nav_img: np.ndarray
    energy_scale: float
    energy_offset: float
    energy_axis: np.ndarray
    beam_energy: float
    kind: str
    elements: list[str]
    xray_lines: list[str]
    fwhm_mnka: float
    counts_per_pixel: float = 100.0
    seed: int = 0
    pixel_size: float = PIXEL_SIZE_UM
    intensity: np.ndarray | None = field(default=None, repr=False)
    _alias: tuple | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        lazy = ", lazy" if hasattr(self.spectra, "dask") else ""
        return (
            f"Phantom(kind={self.kind!r}, shape={self.shape}{lazy}, phases={self.phase_names}, "
            f"counts_per_pixel={self.counts_per_pixel:g}, beam_energy={self.beam_energy:g}, "
            f"seed={self.seed})"
        )

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(H, W, C)``."""
        return tuple(int(n) for n in self.spectra.shape)

    @property
    def nav_name(self) -> str:
        """Name of the navigation image: ``'BSE'`` (SEM) or ``'HAADF'`` (TEM)."""
        return "BSE" if self.kind == "SEM" else "HAADF"

    @property
    def expected(self) -> np.ndarray:
        """``(H, W, C)`` float32 expected counts (the noiseless cube); small phantoms only."""
        out = np.float32(self.counts_per_pixel) * (
            self.abundances @ self.phase_spectra.astype(np.float32)
        )
        if self.intensity is not None:
            out *= np.asarray(self.intensity, dtype=np.float32)[..., None]
        return out.astype(np.float32, copy=False)

    def to_signal(self, lazy: bool = False):
        """The spectra as an eXSpy ``EDSSEMSpectrum`` / ``EDSTEMSpectrum`` with full metadata.

        Axes are ``'y'``, ``'x'`` (µm, :attr:`pixel_size`) and ``'Energy'`` (keV). Metadata:
        ``Sample.elements``, ``Sample.xray_lines``, ``Acquisition_instrument.<kind>.beam_energy``,
        ``Acquisition_instrument.<kind>.Detector.EDS.energy_resolution_MnKa``, the navigation
        image at ``Signal.sigma_nav_image`` (where :func:`sigma.io.hspy.read_hspy` finds it), its
        name (:attr:`nav_name`) at ``Signal.sigma_nav_image_title`` and the ground truth at
        ``original_metadata.phantom``.

        Parameters
        ----------
        lazy : bool
            Return a lazy signal (dask array chunked by whole rows).

        Examples
        --------
        >>> from sigma.synthetic import make_phantom
        >>> s = make_phantom((4, 5), n_channels=128, energy_scale=0.08).to_signal()
        >>> s.axes_manager.signal_axes[0].units, s.metadata.Sample.xray_lines[0]
        ('keV', 'Si_Ka')
        >>> s.metadata.Signal.sigma_nav_image.shape, s.metadata.Signal.sigma_nav_image_title
        ((4, 5), 'BSE')
        """
        import exspy

        h, w, c = self.shape
        data = self.spectra
        if lazy and not hasattr(data, "dask"):
            import dask.array as da

            data = da.from_array(data, chunks=_row_chunks((h, w, c), data.dtype.itemsize))
        name = "EDS_SEM" if self.kind == "SEM" else "EDS_TEM"
        cls = {
            ("SEM", False): exspy.signals.EDSSEMSpectrum,
            ("TEM", False): exspy.signals.EDSTEMSpectrum,
            ("SEM", True): exspy.signals.LazyEDSSEMSpectrum,
            ("TEM", True): exspy.signals.LazyEDSTEMSpectrum,
        }[(self.kind, bool(lazy) or hasattr(data, "dask"))]
        axes = [
            {"name": "y", "size": h, "scale": self.pixel_size, "offset": 0.0, "units": "µm"},
            {"name": "x", "size": w, "scale": self.pixel_size, "offset": 0.0, "units": "µm"},
            {
                "name": "Energy",
                "size": c,
                "scale": float(self.energy_scale),
                "offset": float(self.energy_offset),
                "units": "keV",
            },
        ]
        from ..io.hspy import NAV_IMAGE_NODE, NAV_IMAGE_TITLE_NODE

        group, key = NAV_IMAGE_NODE.split(".")
        title_group, title_key = NAV_IMAGE_TITLE_NODE.split(".")
        md = {
            "General": {"title": f"Synthetic {self.kind} phantom"},
            "Signal": {"signal_type": name},
            "Sample": {"elements": list(self.elements), "xray_lines": list(self.xray_lines)},
            "Acquisition_instrument": {
                self.kind: {
                    "beam_energy": float(self.beam_energy),
                    "Detector": {"EDS": {"energy_resolution_MnKa": float(self.fwhm_mnka)}},
                }
            },
        }
        om = {
            "phantom": {
                "labels": np.asarray(self.labels, dtype=np.int16),
                "phase_names": list(self.phase_names),
                "seed": int(self.seed),
                "counts_per_pixel": float(self.counts_per_pixel),
                "nav_image_name": self.nav_name,
            }
        }
        md.setdefault(group, {})[key] = np.asarray(self.nav_img, dtype=np.float32)
        md.setdefault(title_group, {})[title_key] = self.nav_name
        s = cls(data, axes=axes, metadata=md, original_metadata=om)
        s.axes_manager.navigation_axes[0].navigate = True
        return s

    def save_hspy(self, path, chunks=None, compression=None, overwrite: bool = False) -> Path:
        """Write the phantom as a HyperSpy ``.hspy`` file (see the module notes on ``nav_img``).

        Parameters
        ----------
        path : str or Path
            Must end in ``.hspy``.
        chunks : tuple of int, optional
            HDF5 chunk shape; default whole rows of about 8 MiB with every channel, which read
            fastest row block by row block.
        compression : {None, 'lzf', 'gzip'}
            HDF5 filter. ``None`` (default) decodes fastest; ``'lzf'`` is nearly as fast and much
            smaller for sparse counts; ``'gzip'`` (HyperSpy's default) is slowest to read.
        overwrite : bool
            Replace an existing file.

        Returns
        -------
        Path

        Examples
        --------
        >>> import tempfile, os, hyperspy.api as hs
        >>> from sigma.synthetic import make_phantom
        >>> ph = make_phantom((4, 5), n_channels=64, energy_scale=0.2)
        >>> p = ph.save_hspy(os.path.join(tempfile.mkdtemp(), "ph.hspy"))
        >>> bool((hs.load(p).data == ph.spectra).all())
        True
        """
        path = _check_out_path(path, ".hspy", overwrite)
        _check_compression(compression)
        s = self.to_signal(lazy=hasattr(self.spectra, "dask"))
        if chunks is None:
            chunks = _row_chunks(self.shape, np.dtype(self.spectra.dtype).itemsize, CHUNK_BYTES)
        s.save(
            path,
            chunks=tuple(chunks),
            compression=compression,
            overwrite=True,
            show_progressbar=False,
        )
        return path

    def save_h5oina(self, path, compression: str | None = "lzf", overwrite: bool = False, **kw):
        """Write the phantom as an Oxford ``.h5oina`` file with :func:`sigma.io.h5oina.write_h5oina`.

        The navigation image is the BSE image; ``elements`` get Window Integral maps. A lazy
        :attr:`spectra` (from :func:`write_large_phantom`) is streamed in row blocks into
        ``<site>/EDS/Data/Spectrum`` and then carries no Window Integral maps.

        Parameters
        ----------
        path : str or Path
            Must end in ``.h5oina``.
        compression : {'lzf', 'gzip', None}
        overwrite : bool
        **kw
            Passed to ``write_h5oina`` (``site``, ``live_time``...).

        Returns
        -------
        Path

        Examples
        --------
        >>> import tempfile, os, h5py
        >>> from sigma.synthetic import make_phantom
        >>> ph = make_phantom((4, 5), n_channels=64, energy_scale=0.2)
        >>> p = ph.save_h5oina(os.path.join(tempfile.mkdtemp(), "ph.h5oina"))
        >>> with h5py.File(p) as f:
        ...     f["1/EDS/Data/Spectrum"].shape
        (20, 64)
        """
        from ..io.h5oina import write_h5oina

        path = _check_out_path(path, ".h5oina", overwrite)
        lazy = hasattr(self.spectra, "dask")
        args = {
            "energy_scale": float(self.energy_scale),
            "energy_offset": float(self.energy_offset),
            "nav_scale": (self.pixel_size, self.pixel_size),
            "beam_energy": float(self.beam_energy),
            "elements": () if lazy else tuple(self.elements),
            "bse_image": np.asarray(self.nav_img, dtype=np.float32),
            "compression": compression,
            "overwrite": True,
        }
        args.update(kw)
        if not lazy:
            return write_h5oina(path, self.spectra, **args)
        # Stream: write the file around a one-channel placeholder, then swap in the full cube.
        import dask.array as da
        import h5py

        h, w, c = self.shape
        write_h5oina(path, np.zeros((h, w, 1), np.int32), **args)
        site, det = str(args.get("site", "1")), str(args.get("detector", "EDS"))
        with h5py.File(path, "r+") as f:
            group = f[f"{site}/{det}"]
            hdr = group["Header"]
            hdr["Number Channels"][...] = c
            hdr["Energy Range"][...] = self.energy_offset + c * self.energy_scale
            del group["Data/Spectrum"]
            block = self.spectra.chunks[0][0]
            rows = _divisor_at_most(block, max(1, CHUNK_BYTES // (w * c * 4)))
            dset = group["Data"].create_dataset(
                "Spectrum",
                shape=(h * w, c),
                dtype=np.int32,
                chunks=(rows * w, c),
                compression=compression,
            )
            cube = self.spectra.astype(np.int32).reshape(h * w, c)
            da.store(cube, dset, lock=True)
        return path
