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

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._errors import bad_value
from ..xray.lines import default_lines_for_elements
from .spectra import (
    DEFAULT_SEM_PHASES,
    DEFAULT_TEM_PHASES,
    _check_kind,
    energy_axis,
    mean_atomic_number,
    normalise_composition,
    phase_spectrum,
)

log = logging.getLogger(__name__)

#: Fraction of the map left to the matrix (phase 0) before any missing phase is stamped in.
MATRIX_FRACTION = 0.4
#: Standard deviation of the navigation image's noise, relative to the largest phase mean Z.
NAV_NOISE = 0.02
#: Pixel size of the phantom's navigation axes (µm).
PIXEL_SIZE_UM = 0.1
#: Default beam energy (kV) per kind.
DEFAULT_BEAM_ENERGY = {"SEM": 20.0, "TEM": 200.0}
#: Target size (bytes) of one HDF5 chunk when saving: whole rows, every channel.
CHUNK_BYTES = 8 * 2**20
#: Target size (bytes) of one block generated at a time by :func:`write_large_phantom`.
BLOCK_BYTES = 64 * 2**20

_KEY_LABELS, _KEY_NAV, _KEY_ROWS = 0, 1, 2


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
        Mean total counts of a pixel.
    seed : int
    pixel_size : float
        µm per pixel of the navigation axes.

    Examples
    --------
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
        return (
            np.float32(self.counts_per_pixel)
            * (self.abundances @ self.phase_spectra.astype(np.float32))
        ).astype(np.float32)

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


def _divisor_at_most(n: int, target: int) -> int:
    """Largest divisor of ``n`` that is at most ``target`` (file chunks that tile a block)."""
    return max(d for d in range(1, int(n) + 1) if n % d == 0 and d <= max(1, target))


def _row_chunks(shape, itemsize: int, target: int = CHUNK_BYTES) -> tuple[int, int, int]:
    h, w, c = shape
    rows = int(max(1, min(h, target // max(w * c * itemsize, 1))))
    return (rows, w, c)


def _check_compression(compression):
    if compression not in (None, "gzip", "lzf", "szip"):
        raise bad_value("compression", compression, "None, 'lzf' or 'gzip'")


def _check_out_path(path, suffix: str, overwrite: bool) -> Path:
    p = Path(path)
    if p.suffix.lower() != suffix:
        raise bad_value("path", str(path), f"a file name ending in {suffix!r}")
    if p.exists() and not overwrite:
        raise bad_value("overwrite", overwrite, f"True to replace the existing file '{p}'")
    return p


# --------------------------------------------------------------------------------------------
# Plan: everything but the counts
# --------------------------------------------------------------------------------------------


def _resolve_phases(phases, kind: str) -> tuple[list[str], list[dict]]:
    if phases is None:
        phases = DEFAULT_SEM_PHASES if kind == "SEM" else DEFAULT_TEM_PHASES
    if isinstance(phases, Mapping):
        items = list(phases.items())
    else:
        try:
            items = [(str(n), c) for n, c in phases]
        except (TypeError, ValueError):
            raise bad_value(
                "phases", phases, "a dict {name: formula or {element: fraction}}"
            ) from None
    if len(items) < 1:
        raise bad_value("phases", phases, "at least one phase")
    return [str(n) for n, _ in items], [normalise_composition(c) for _, c in items]


def _check_shape(shape, n_phases: int) -> tuple[int, int]:
    try:
        h, w = (int(n) for n in shape)
    except (TypeError, ValueError):
        raise bad_value("shape", shape, "a pair (H, W) of positive ints") from None
    if h < 1 or w < 1 or h * w < 2 * n_phases:
        raise bad_value(
            "shape", tuple(shape), f"a pair (H, W) of positive ints with H*W >= {2 * n_phases}"
        )
    return h, w


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise bad_value("seed", seed, "a non-negative int")
    return int(seed)


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def phase_map(shape, n_phases: int, *, seed: int = 0, smoothness: float | None = None):
    """Spatially coherent ``(H, W)`` labels ``0..n_phases-1`` from smoothed random fields.

    Phase 0 is the matrix (about 40 % of the map); every phase is present.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)``.
    n_phases : int
    seed : int
    smoothness : float, optional
        Gaussian smoothing (pixels) of the fields; default ``max(1.5, min(H, W) / 12)``.

    Examples
    --------
    >>> lab = phase_map((20, 30), 4, seed=1)
    >>> lab.shape, sorted(np.unique(lab).tolist())
    ((20, 30), [0, 1, 2, 3])
    """
    from scipy.ndimage import gaussian_filter

    if int(n_phases) != n_phases or n_phases < 1:
        raise bad_value("n_phases", n_phases, "a positive int")
    n_phases = int(n_phases)
    h, w = _check_shape(shape, n_phases)
    seed = _check_seed(seed)
    if n_phases == 1:
        return np.zeros((h, w), dtype=np.int32)
    sig = float(smoothness) if smoothness else max(1.5, min(h, w) / 12.0)
    rng = _rng(seed, _KEY_LABELS)
    fields = rng.standard_normal((n_phases - 1, h, w), dtype=np.float32)
    for f in fields:
        f[...] = gaussian_filter(f, sig, mode="reflect")
        f -= f.mean()
        f /= max(float(f.std()), 1e-12)
    top = fields.max(axis=0)
    labels = np.where(top > np.quantile(top, MATRIX_FRACTION), fields.argmax(axis=0) + 1, 0)
    labels = labels.astype(np.int32)
    # Stamp any phase the fields left out: the pixels nearest its field's maximum.
    area = max(1, (h * w) // (4 * n_phases))
    for p in range(n_phases):
        if np.any(labels == p):
            continue
        src = fields[p - 1] if p > 0 else -top
        yy, xx = np.unravel_index(int(np.argmax(src)), (h, w))
        d = np.hypot(*np.meshgrid(np.arange(h) - yy, np.arange(w) - xx, indexing="ij"))
        order = np.argsort(d, axis=None, kind="stable")[:area]
        # never take every pixel of another phase: keep the farthest pixel of each
        victims = labels.flat[order]
        last = np.zeros(victims.size, dtype=bool)
        last[np.unique(victims[::-1], return_index=True)[1]] = True
        keep = order[~last[::-1]]
        labels.flat[keep] = p
    return labels


def mixed_abundances(labels: np.ndarray, n_phases: int, boundary_width: int = 0) -> np.ndarray:
    """``(H, W, P)`` float32 abundances: one-hot labels averaged over a ``2w+1`` box.

    Examples
    --------
    >>> lab = np.array([[0, 0, 1, 1]])
    >>> mixed_abundances(lab, 2, 1)[0, :, 1].round(3)
    array([0.   , 0.333, 0.667, 1.   ], dtype=float32)
    """
    from scipy.ndimage import uniform_filter

    if int(boundary_width) != boundary_width or boundary_width < 0:
        raise bad_value("boundary_width", boundary_width, "a non-negative int (pixels)")
    onehot = (labels[..., None] == np.arange(n_phases)).astype(np.float32)
    if boundary_width == 0:
        return onehot
    size = 2 * int(boundary_width) + 1
    ab = uniform_filter(onehot, size=(size, size, 1), mode="nearest")
    ab[ab < 1e-6] = 0.0
    ab /= ab.sum(axis=-1, keepdims=True)
    return ab.astype(np.float32)


def _plan(
    shape,
    *,
    kind,
    phases,
    counts_per_pixel,
    n_channels,
    energy_scale,
    energy_offset,
    beam_energy,
    fwhm_mnka,
    boundary_width,
    seed,
    dtype,
) -> Phantom:
    """Everything of a phantom but its counts (``spectra`` left ``None``)."""
    kind = _check_kind(kind)
    seed = _check_seed(seed)
    if not np.isfinite(counts_per_pixel) or counts_per_pixel <= 0:
        raise bad_value("counts_per_pixel", counts_per_pixel, "a positive mean count, such as 100")
    dt = np.dtype(dtype)
    if dt.kind not in "uif":
        raise bad_value("dtype", dtype, "an integer or float NumPy dtype, such as np.uint16")
    e0 = DEFAULT_BEAM_ENERGY[kind] if beam_energy is None else float(beam_energy)
    if not np.isfinite(e0) or e0 <= 0:
        raise bad_value("beam_energy", beam_energy, "a positive accelerating voltage in kV")
    if not fwhm_mnka or not np.isfinite(fwhm_mnka) or fwhm_mnka <= 0:
        raise bad_value("fwhm_mnka", fwhm_mnka, "a positive resolution in eV, such as 130")
    names, comps = _resolve_phases(phases, kind)
    h, w = _check_shape(shape, len(names))
    axis = energy_axis(n_channels, energy_scale, energy_offset)
    spectra = np.stack(
        [phase_spectrum(c, axis, beam_energy=e0, fwhm_mnka=fwhm_mnka, kind=kind) for c in comps]
    )
    labels = phase_map((h, w), len(names), seed=seed)
    ab = mixed_abundances(labels, len(names), boundary_width)
    zbar = np.array([mean_atomic_number(c) for c in comps], dtype=np.float32)
    nav = ab @ zbar
    nav += (
        _rng(seed, _KEY_NAV).normal(0.0, NAV_NOISE * float(zbar.max()), (h, w)).astype(np.float32)
    )
    elements: list[str] = []
    for c in comps:
        elements += [el for el in c if el not in elements]
    if kind == "TEM" and "Cu" not in elements:
        elements.append("Cu")
    lines = default_lines_for_elements(
        elements, beam_energy=e0, energy_range=(max(axis[0], 0.1), float(axis[-1]))
    )
    prob, alias = zip(*(_alias_table(sp) for sp in spectra), strict=True)
    offsets = (np.arange(len(names)) * axis.size)[:, None]
    return Phantom(
        spectra=None,
        labels=labels,
        abundances=ab,
        phase_spectra=spectra,
        phase_names=names,
        compositions=comps,
        nav_img=nav.astype(np.float32),
        energy_scale=float(energy_scale),
        energy_offset=float(energy_offset),
        energy_axis=axis,
        beam_energy=e0,
        kind=kind,
        elements=elements,
        xray_lines=lines,
        fwhm_mnka=float(fwhm_mnka),
        counts_per_pixel=float(counts_per_pixel),
        seed=seed,
        _alias=(np.concatenate(prob), (np.stack(alias) + offsets).ravel()),
    )


def _alias_table(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias table of a discrete distribution: ``(prob, alias)``, each ``(C,)``."""
    n = p.size
    q = np.asarray(p, dtype=np.float64) * (n / p.sum())
    prob = np.ones(n)
    alias = np.arange(n)
    small = [int(i) for i in np.flatnonzero(q < 1.0)]
    large = [int(i) for i in np.flatnonzero(q >= 1.0)]
    while small and large:  # O(C) once per phase
        s, g = small.pop(), large.pop()
        prob[s], alias[s] = q[s], g
        q[g] -= 1.0 - q[s]
        (small if q[g] < 1.0 else large).append(g)
    return prob, alias


def _sample_rows(plan: Phantom, row0: int, row1: int, dtype) -> np.ndarray:
    """Counts of rows ``row0:row1``: exact Poisson sampling, one random stream per row.

    A pixel's total is Poisson(``counts_per_pixel``); each count picks a phase from the pixel's
    abundances and a channel from that phase's spectrum, which makes every channel an
    independent Poisson variable with mean ``counts_per_pixel * abundances @ phase_spectra``.
    """
    h, w = plan.labels.shape
    n_ph, c = plan.phase_spectra.shape
    dt = np.dtype(dtype)
    out = np.empty((row1 - row0, w, c), dtype=dt)
    limit = np.iinfo(dt).max if dt.kind in "ui" else None
    prob, alias = plan._alias
    for r in range(row0, row1):
        rng = _rng(plan.seed, _KEY_ROWS, r)
        n = rng.poisson(plan.counts_per_pixel, size=w)
        pix = np.repeat(np.arange(w, dtype=np.int64), n)
        ab = plan.abundances[r]
        if ab.max(axis=1).min() < 1.0:  # some mixed pixels in this row
            cum = np.cumsum(ab, axis=1, dtype=np.float64)
            cum[:, -1] = 1.0
            u = rng.random(pix.size)
            phase = np.minimum((u[:, None] >= cum[pix]).sum(axis=1), n_ph - 1)
        else:
            phase = plan.labels[r, pix]
        # Walker's alias method: a uniform channel, kept with probability prob, else its alias
        x = rng.random(pix.size) * c
        i = np.minimum(x.astype(np.int64), c - 1)
        flat = i + phase * c
        ch = np.where(x - i < prob[flat], flat, alias[flat]) - phase * c
        if limit is not None and n.size and n.max() > limit:
            row = np.bincount(pix * c + ch, minlength=w * c)
            if row.max() > limit:
                raise bad_value(
                    "dtype", dt.name, f"a dtype that holds {int(row.max())} counts in one channel"
                )
        out[r - row0] = np.bincount(pix * c + ch, minlength=w * c).reshape(w, c)
    return out


_DEFAULT_KW = {
    "kind": "SEM",
    "phases": None,
    "energy_scale": 0.01,
    "energy_offset": -0.47,
    "beam_energy": None,
    "fwhm_mnka": 130.0,
    "boundary_width": 0,
    "seed": 0,
}


def make_phantom(
    shape=(96, 128),
    *,
    kind: str = "SEM",
    phases=None,
    counts_per_pixel: float = 100,
    n_channels: int = 2048,
    energy_scale: float = 0.01,
    energy_offset: float = -0.47,
    beam_energy: float | None = None,
    fwhm_mnka: float = 130.0,
    boundary_width: int = 0,
    seed: int = 0,
    dtype=np.uint16,
) -> Phantom:
    """A synthetic EDS spectrum image with known phases, abundances and spectra.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` pixels.
    kind : {'SEM', 'TEM'}
        SEM: five minerals at 20 kV (quartz matrix, albite, magnetite, calcite, ilmenite).
        TEM: carbon support, FePt, magnetite and Pt at 200 kV, with Cu grid lines everywhere.
    phases : dict, optional
        ``{name: formula or {element: weight fraction}}``; the first is the matrix.
    counts_per_pixel : float
        Mean total counts of a pixel (Poisson).
    n_channels, energy_scale, energy_offset
        Energy axis: channels, keV per channel, keV at channel 0 (Bruker-like defaults).
    beam_energy : float, optional
        kV; 20 for SEM, 200 for TEM by default.
    fwhm_mnka : float
        Detector FWHM at Mn Kα (eV).
    boundary_width : int
        Half-width in pixels of mixed bands at phase boundaries (0: pure pixels only).
    seed : int
        Everything (map, noise, counts) is a function of the seed.
    dtype : numpy dtype
        Counts dtype; an error is raised if a channel would overflow it.

    Returns
    -------
    Phantom

    Examples
    --------
    >>> ph = make_phantom((8, 10), counts_per_pixel=50, n_channels=512, energy_scale=0.04)
    >>> ph.phase_names
    ['quartz', 'albite', 'magnetite', 'calcite', 'ilmenite']
    >>> ph.spectra.dtype, ph.xray_lines
    (dtype('uint16'), ['Si_Ka', 'O_Ka', 'Na_Ka', 'Al_Ka', 'Fe_Ka', 'Ca_Ka', 'C_Ka', 'Ti_Ka'])
    >>> round(float(ph.abundances.sum(-1).mean()), 6)
    1.0
    """
    plan = _plan(
        shape,
        kind=kind,
        phases=phases,
        counts_per_pixel=counts_per_pixel,
        n_channels=n_channels,
        energy_scale=energy_scale,
        energy_offset=energy_offset,
        beam_energy=beam_energy,
        fwhm_mnka=fwhm_mnka,
        boundary_width=boundary_width,
        seed=seed,
        dtype=dtype,
    )
    plan.spectra = _sample_rows(plan, 0, plan.labels.shape[0], dtype)
    return plan


def write_large_phantom(
    path,
    shape=(1024, 768),
    n_channels: int = 2048,
    counts_per_pixel: float = 100,
    rows_per_block: int | None = None,
    format: str = "hspy",
    *,
    compression: str | None = None,
    chunks=None,
    overwrite: bool = False,
    dtype=np.uint16,
    num_workers: int | None = None,
    **kwargs,
) -> Phantom:
    """Stream a big phantom to disk in row blocks, never holding the whole cube in memory.

    The counts equal ``make_phantom(shape, ...).spectra`` for the same arguments and seed (each
    row has its own random stream), whatever ``rows_per_block``.

    Parameters
    ----------
    path : str or Path
        Output file, ``.hspy`` or ``.h5oina`` to match ``format``.
    shape : tuple of int
        ``(H, W)``; the default with 2048 uint16 channels is a 3.2 GB cube.
    n_channels, counts_per_pixel
        As in :func:`make_phantom`.
    rows_per_block : int, optional
        Rows generated per block (default: about 64 MiB per block). Peak memory is about
        ``num_workers`` blocks plus the ``(H, W, P)`` ground truth.
    format : {'hspy', 'h5oina'}
    compression : {None, 'lzf', 'gzip'}
        HDF5 filter for ``'hspy'`` (default ``None``, fastest to read) and ``'h5oina'``.
    chunks : tuple of int, optional
        HDF5 chunk shape (``'hspy'``); default whole rows dividing ``rows_per_block``.
    overwrite : bool
    dtype : numpy dtype
    num_workers : int, optional
        Threads generating blocks (default: dask's).
    **kwargs
        ``kind``, ``phases``, ``energy_scale``, ``energy_offset``, ``beam_energy``,
        ``fwhm_mnka``, ``boundary_width``, ``seed`` as in :func:`make_phantom`.

    Returns
    -------
    Phantom
        The ground truth, with ``spectra`` a lazy dask array of the same counts.

    Examples
    --------
    >>> import tempfile, os, hyperspy.api as hs
    >>> p = os.path.join(tempfile.mkdtemp(), "big.hspy")
    >>> gt = write_large_phantom(p, (6, 5), 64, energy_scale=0.2, rows_per_block=2)
    >>> bool((hs.load(p).data == make_phantom((6, 5), n_channels=64, energy_scale=0.2).spectra).all())
    True
    """
    import dask
    import dask.array as da

    unknown = set(kwargs) - set(_DEFAULT_KW)
    if unknown:
        raise bad_value("kwargs", sorted(unknown), f"keywords among {sorted(_DEFAULT_KW)}")
    fmt = str(format).lower()
    if fmt not in ("hspy", "h5oina"):
        raise bad_value("format", format, "'hspy' or 'h5oina'")
    _check_compression(compression)
    path = _check_out_path(path, "." + fmt, overwrite)
    kw = {**_DEFAULT_KW, **kwargs}
    plan = _plan(shape, counts_per_pixel=counts_per_pixel, n_channels=n_channels, dtype=dtype, **kw)
    h, w = plan.labels.shape
    c = int(n_channels)
    itemsize = np.dtype(dtype).itemsize
    row_bytes = w * c * itemsize
    if rows_per_block is None:  # a multiple of the file's chunk rows
        f_rows = max(1, CHUNK_BYTES // row_bytes)
        rows_per_block = max(f_rows, (BLOCK_BYTES // row_bytes) // f_rows * f_rows)
    if int(rows_per_block) != rows_per_block or rows_per_block < 1:
        raise bad_value("rows_per_block", rows_per_block, "a positive int")
    rpb = int(min(rows_per_block, h))
    starts = list(range(0, h, rpb))
    row_chunks = tuple(min(rpb, h - s) for s in starts)

    def block(block_info=None):
        (r0, r1), _, _ = block_info[None]["array-location"]
        return _sample_rows(plan, r0, r1, dtype)

    cube = da.map_blocks(block, chunks=(row_chunks, (w,), (c,)), dtype=np.dtype(dtype))
    plan.spectra = cube
    if chunks is None:
        chunks = (_divisor_at_most(rpb, CHUNK_BYTES // row_bytes), w, c)
    t0 = time.perf_counter()
    cfg = {"scheduler": "threads"}
    if num_workers:
        cfg["num_workers"] = int(num_workers)
    with dask.config.set(cfg):
        if fmt == "hspy":
            s = plan.to_signal(lazy=True)
            s.save(
                path,
                chunks=tuple(chunks),
                compression=compression,
                overwrite=True,
                show_progressbar=False,
            )
        else:
            plan.save_h5oina(path, compression=compression or "lzf", overwrite=True)
    dt = time.perf_counter() - t0
    mb = h * row_bytes / 1e6
    log.info("wrote %s: %.0f MB in %.1f s (%.0f MB/s)", path, mb, dt, mb / max(dt, 1e-9))
    return plan
