"""Conversions between :class:`sigma.io.RawData` and HyperSpy/eXSpy signals."""

from __future__ import annotations

import warnings

import numpy as np

from .._errors import bad_value
from ..io import RawData
from ..io.hspy import NAV_IMAGE_NODE, NAV_IMAGE_TITLE_NODE, nav_image_title


def _quiet_hyperspy():
    warnings.filterwarnings("ignore", category=Warning, module=r"hyperspy\.misc\._utils")


def eds_signal(raw: RawData, data=None):
    """An eXSpy ``EDSSEMSpectrum``/``EDSTEMSpectrum`` (lazy for dask data) around ``raw``'s cube."""
    _quiet_hyperspy()
    import exspy.signals as es

    data = raw.data if data is None else data
    lazy = hasattr(data, "dask")
    cls = {
        ("EDS_SEM", False): es.EDSSEMSpectrum, ("EDS_SEM", True): es.LazyEDSSEMSpectrum,
        ("EDS_TEM", False): es.EDSTEMSpectrum, ("EDS_TEM", True): es.LazyEDSTEMSpectrum,
    }[(raw.signal_type, lazy)]
    axes = [
        {"name": "y", "size": data.shape[0], "scale": raw.nav_scale[0], "offset": raw.nav_offset[0],
         "units": raw.nav_units, "navigate": True},
        {"name": "x", "size": data.shape[1], "scale": raw.nav_scale[1], "offset": raw.nav_offset[1],
         "units": raw.nav_units, "navigate": True},
        {"name": "Energy", "size": data.shape[2], "scale": raw.energy_scale,
         "offset": raw.energy_offset, "units": "keV", "navigate": False},
    ]
    inst = "TEM" if raw.signal_type == "EDS_TEM" else "SEM"
    det = {"energy_resolution_MnKa": raw.energy_resolution_mnka or 130.0}
    md = {
        "General": {"title": str(raw.metadata.get("title") or (raw.path.stem if raw.path else "EDS"))},
        "Signal": {"signal_type": raw.signal_type, "quantity": "X-rays (Counts)"},
        "Sample": {"elements": list(raw.elements), "xray_lines": list(raw.xray_lines)},
        "Acquisition_instrument": {inst: {"Detector": {"EDS": det}}},
    }
    if raw.path is not None:
        md["General"]["original_filename"] = raw.path.name
    if raw.beam_energy is not None:
        md["Acquisition_instrument"][inst]["beam_energy"] = raw.beam_energy
    return cls(data, axes=axes, metadata=md)


def image_signal(img, raw: RawData, title: str = "Navigator"):
    """A ``Signal2D`` with the map's spatial calibration."""
    _quiet_hyperspy()
    import hyperspy.api as hs

    axes = [
        {"name": "y", "size": img.shape[0], "scale": raw.nav_scale[0], "offset": raw.nav_offset[0],
         "units": raw.nav_units},
        {"name": "x", "size": img.shape[1], "scale": raw.nav_scale[1], "offset": raw.nav_offset[1],
         "units": raw.nav_units},
    ]
    return hs.signals.Signal2D(np.asarray(img, dtype=np.float32), axes=axes,
                               metadata={"General": {"title": title}})


def raw_from_signal(sig, signal_type: str | None = None) -> RawData:
    """Wrap a HyperSpy signal given in place of a file path."""
    am = sig.axes_manager
    if am.navigation_dimension not in (1, 2) or am.signal_dimension != 1:
        raise bad_value(
            "file_path", repr(sig), "a path or a HyperSpy spectrum image with 1 or 2 navigation axes"
        )
    data = sig.data
    nav = am.navigation_axes[::-1]  # HyperSpy lists navigation axes fast-first
    if data.ndim == 2:
        data = data[None]
        nav = [None, *nav]
    e = am.signal_axes[0]
    scale, offset = float(e.scale), float(e.offset)
    if str(e.units) == "eV":
        scale, offset = scale / 1000, offset / 1000
    md = sig.metadata
    stype = signal_type or str(md.get_item("Signal.signal_type", "") or "")
    if not stype.startswith("EDS"):
        stype = "EDS_TEM" if md.has_item("Acquisition_instrument.TEM") else "EDS_SEM"
    inst = "TEM" if stype == "EDS_TEM" else "SEM"

    def ax(a, key, default):
        return default if a is None else getattr(a, key)

    nav_images = {}
    stored = md.get_item(NAV_IMAGE_NODE)  # written by sigma.synthetic / SIGMA2
    if stored is not None and np.shape(stored) == tuple(data.shape[:2]):
        title = nav_image_title(md.get_item(NAV_IMAGE_TITLE_NODE), stype)
        nav_images[title] = np.asarray(stored, dtype=np.float32)
    return RawData(
        data=data,
        nav_images=nav_images,
        energy_scale=scale,
        energy_offset=offset,
        nav_scale=(float(ax(nav[0], "scale", 1.0)), float(ax(nav[1], "scale", 1.0))),
        nav_offset=(float(ax(nav[0], "offset", 0.0)), float(ax(nav[1], "offset", 0.0))),
        nav_units=str(ax(nav[1], "units", "px")),
        signal_type=stype,
        beam_energy=md.get_item(f"Acquisition_instrument.{inst}.beam_energy"),
        energy_resolution_mnka=md.get_item(
            f"Acquisition_instrument.{inst}.Detector.EDS.energy_resolution_MnKa"
        ),
        elements=[str(x) for x in (md.get_item("Sample.elements") or [])],
        xray_lines=[str(x) for x in (md.get_item("Sample.xray_lines") or [])],
        metadata={"title": md.get_item("General.title", ""), "format": "signal"},
    )
