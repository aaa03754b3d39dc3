"""FEI/ThermoFisher TIA ``.emi`` + ``.ser`` files through RosettaSciIO."""

from __future__ import annotations

import logging
from glob import escape as glob_escape
from pathlib import Path

from .._errors import bad_file
from ._common import from_rsciio_spectrum, rechunk_nav, wrap_reader_error
from ._types import RawData

log = logging.getLogger(__name__)

_EELS_HINTS = ("EELS", "GIF", "Energy loss", "Filter", "Spectrometer")


def _is_eds(sig: dict) -> bool:
    """An energy axis in eV/keV and nothing in ObjectInfo that says EELS.

    RosettaSciIO leaves ``signal_type`` empty for TIA spectra, so EDS is recognised from the
    energy axis and the acquisition record.
    """
    stype = str(sig["metadata"].get("Signal", {}).get("signal_type", "") or "")
    if stype.startswith("EDS"):
        return True
    if stype:  # EELS or anything else the reader recognised
        return False
    ax = sig["axes"][-1]
    if str(ax.get("name", "")).lower() != "energy" or ax.get("units") not in ("eV", "keV"):
        return False
    info = sig.get("original_metadata", {}).get("ObjectInfo", {})
    acq = str(info.get("AcquireInfo", "")) + str(info.get("TrueImageHeaderInfo", ""))
    desc = info.get("ExperimentalDescription", {}) or {}
    filt = desc.get("Filter mode") if isinstance(desc, dict) else None
    return not any(h in acq for h in _EELS_HINTS) and not filt


def read_emi(path, *, lazy: bool = False) -> RawData:
    """Read a TIA ``.emi`` file (with its ``.ser`` files) or a single ``.ser`` file.

    The energy calibration is taken from the file (converted to keV), never assumed. Spectrum
    images and line scans are accepted; a line scan becomes a map of one row. Other signals in
    the same ``.emi`` (diffraction patterns, images) are ignored.

    Examples
    --------
    >>> raw = read_emi(DATA / "emi_ser" / "16x16-spectrum_image_5x5x4000-not_square.emi")  # doctest: +SKIP
    >>> raw.energy_scale  # doctest: +SKIP
    0.005
    """
    from rsciio.tia import file_reader

    path = Path(path)
    if path.suffix.lower() == ".emi":
        sers = sorted(path.parent.glob(f"{glob_escape(path.stem)}_*.ser"))
        if not sers:
            raise bad_file(
                path,
                f"has no .ser data file beside it (TIA keeps the spectra in "
                f"'{path.stem}_1.ser' in the same folder)",
                "the .emi copied together with its .ser files",
            )
    try:
        sigs = file_reader(str(path), lazy=lazy)
    except Exception as exc:  # noqa: BLE001
        raise wrap_reader_error(path, exc) from exc
    eds = [s for s in sigs if _is_eds(s)]
    if not eds:
        raise bad_file(path, "holds no EDS spectrum or spectrum image", "a TIA EDS acquisition")
    sig = eds[0]
    om = sig.get("original_metadata", {}).get("ObjectInfo", {}) or {}
    desc = om.get("ExperimentalDescription", {}) or {}
    beam = desc.get("High tension_kV") if isinstance(desc, dict) else None
    if beam is None:
        volts = (om.get("ExperimentalConditions", {}) or {}).get("MicroscopeConditions", {}) or {}
        if "AcceleratingVoltage" in volts:
            beam = float(volts["AcceleratingVoltage"]) / 1000.0
    sig = dict(sig)
    sig["metadata"] = {**sig["metadata"]}
    sig["metadata"].setdefault("Acquisition_instrument", {}).setdefault("TEM", {})
    if beam is not None:
        sig["metadata"]["Acquisition_instrument"]["TEM"]["beam_energy"] = float(beam)
    raw = from_rsciio_spectrum(
        path, sig, signal_type="EDS_TEM",
        extra_md={"format": "emi", "microscope": desc.get("Microscope") if isinstance(desc, dict) else None,
                  "original_shape": list(sig["data"].shape)},
    )
    if lazy:
        raw.data = rechunk_nav(raw.data)
    return raw
