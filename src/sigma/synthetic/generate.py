"""Making phantoms: :func:`make_phantom` in memory, :func:`write_large_phantom` streamed to disk.

See :mod:`sigma.synthetic.phantom` for the model (phase map, spectra, exact Poisson counts).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import numpy as np

from .._errors import bad_value
from ..xray.lines import default_lines_for_elements
from ._files import CHUNK_BYTES, _check_compression, _check_out_path, _divisor_at_most
from ._sampling import _KEY_NAV, _alias_table, _check_seed, _rng, _sample_rows
from .maps import _check_shape, mixed_abundances, phase_map
from .phantom import Phantom
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

#: Standard deviation of the navigation image's noise, relative to the largest phase mean Z.
NAV_NOISE = 0.02
#: Default beam energy (kV) per kind.
DEFAULT_BEAM_ENERGY = {"SEM": 20.0, "TEM": 200.0}
#: Target size (bytes) of one block generated at a time by :func:`write_large_phantom`.
BLOCK_BYTES = 64 * 2**20


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
    labels = phase_map((h, w), len(names), seed=seed)
    ab = mixed_abundances(labels, len(names), boundary_width)
    return _assemble(
        labels, ab, names, comps, axis, energy_scale, energy_offset, kind=kind, beam_energy=e0,
        fwhm_mnka=fwhm_mnka, counts_per_pixel=counts_per_pixel, seed=seed,
    )  # fmt: skip


def _assemble(
    labels, ab, names, comps, axis, energy_scale, energy_offset, *, kind, beam_energy, fwhm_mnka, counts_per_pixel, seed,
    intensity=None, continuum: float = 1.0,
) -> Phantom:
    """A :class:`Phantom` without counts from its maps and phases: spectra, navigation image
    (abundance-weighted mean Z plus noise), elements, lines and the samplers' alias tables."""
    e0 = float(beam_energy)
    h, w = labels.shape
    spectra = np.stack(
        [phase_spectrum(c, axis, beam_energy=e0, fwhm_mnka=fwhm_mnka, kind=kind, continuum=continuum)
         for c in comps]
    )
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
        phase_names=list(names),
        compositions=list(comps),
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
        intensity=intensity,
        _alias=(np.concatenate(prob), (np.stack(alias) + offsets).ravel()),
    )


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
