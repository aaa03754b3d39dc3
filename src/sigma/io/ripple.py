"""Ripple ``.rpl`` + ``.raw`` exports (Oxford AZtec, Bruker Esprit) through RosettaSciIO.

A ripple header rarely carries a usable energy calibration. AZtec writes it next to the export
in an EMSA spectrum ``<name>.txt`` (``#XPERCHAN``, ``#OFFSET``, ``#XUNITS``), and the map size in a
``<name>.par`` "Details" text (map width/height and the resolution in pixels). Both are read when
present. Without them the axis is left uncalibrated, a warning says so, and
:meth:`sigma.datasets.SEMDataset.set_energy_calibration` or
:meth:`~sigma.datasets.SEMDataset.calibrate_spectra` fixes it.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

from .._errors import bad_file
from ._common import from_rsciio_spectrum, rechunk_nav, wrap_reader_error
from ._types import RawData

log = logging.getLogger(__name__)

_UNIT_TO_UM = {"km": 1e9, "m": 1e6, "mm": 1e3, "µm": 1.0, "um": 1.0, "μm": 1.0, "nm": 1e-3, "pm": 1e-6}
_NUM = r"([-+]?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?)"


def read_emsa_calibration(path) -> tuple[float, float] | None:
    """Energy scale and offset in keV from an EMSA/MSA text file, or ``None``.

    ``#XPERCHAN`` and ``#OFFSET`` are in the units of ``#XUNITS`` (eV when absent and the step
    is larger than 1, as AZtec writes them).

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.txt")
    >>> _ = open(p, "w").write("#FORMAT : EMSA/MAS Spectral Data File\\n#XUNITS : eV\\n"
    ...                        "#XPERCHAN : 10.0\\n#OFFSET : -200.0\\n")
    >>> read_emsa_calibration(p)
    (0.01, -0.2)
    """
    keys = {}
    with open(path, encoding="latin-1") as fh:
        for line in fh:
            if not line.startswith("#"):
                continue
            k, _, v = line[1:].partition(":")
            keys[k.strip().upper()] = v.strip()
    if "XPERCHAN" not in keys:
        return None
    try:
        scale = float(keys["XPERCHAN"].replace(",", "."))
        offset = float(keys.get("OFFSET", "0").replace(",", "."))
    except ValueError:
        return None
    units = keys.get("XUNITS", "").strip().lower()
    if units == "ev" or (not units and scale > 1.0):
        scale, offset = scale / 1000.0, offset / 1000.0
    return scale, offset


def read_par(path) -> dict:
    """Pixel size (µm) and spectral details from an AZtec ``.par`` "Details" text.

    Recognises lines such as ``Map Width: 250 µm``, ``Map Height: 187.5 µm``,
    ``Resolution (Width): 512 pixels``, ``Resolution (Height): 384 pixels``,
    ``Energy Range: 20 keV`` and ``Number Of Channels: 2048`` (separators ``:``, ``=`` or tabs).

    Returns
    -------
    dict
        Any of ``scale_x``, ``scale_y`` (µm per pixel), ``energy_range`` (keV), ``n_channels``.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.par")
    >>> _ = open(p, "w").write("Map Width: 100 um\\nMap Height: 50 um\\n"
    ...                        "Resolution (Width): 200 pixels\\nResolution (Height): 100 pixels\\n")
    >>> read_par(p)
    {'scale_x': 0.5, 'scale_y': 0.5}
    """
    blob = Path(path).read_bytes()
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        text = blob.decode("latin-1")

    def find(pattern):
        m = re.search(pattern, text, flags=re.IGNORECASE)
        return m

    out: dict = {}
    lengths = {}
    for dim in ("Width", "Height"):
        m = find(rf"Map\s+{dim}\s*[:=\t]\s*{_NUM}\s*(km|mm|µm|μm|um|nm|pm|m)\b")
        if m:
            lengths[dim] = float(m.group(1).replace(",", ".")) * _UNIT_TO_UM[m.group(2)]
        r = find(rf"Resolution\s*\(?\s*{dim}\s*\)?\s*[:=\t]\s*(\d+)")
        if r and dim in lengths:
            n = int(r.group(1))
            if n > 0:
                out["scale_x" if dim == "Width" else "scale_y"] = lengths[dim] / n
    m = find(rf"Energy\s+Range\s*[:=\t]\s*{_NUM}\s*keV")
    if m:
        out["energy_range"] = float(m.group(1).replace(",", "."))
    m = find(r"Number\s+Of\s+Channels\s*[:=\t]\s*(\d+)")
    if m:
        out["n_channels"] = int(m.group(1))
    return out


def _check_raw_size(rpl: Path, raw_file: Path) -> None:
    """Refuse a ``.raw`` whose size is not what its header describes.

    RosettaSciIO maps the first bytes of the ``.raw`` with the header's shape and data type and
    ignores the rest, so a file written with another data type (twice the size for 32-bit
    counts under a 16-bit header) would load as garbage without a word.
    """
    from rsciio.ripple._api import parse_ripple

    try:
        with open(rpl, encoding="latin-1", errors="replace") as fh:
            info = parse_ripple(fh)
        h, w, d = (int(info[k]) for k in ("height", "width", "depth"))
        length, offset = int(info["data-length"]), int(info.get("offset", 0))
    except Exception as exc:  # noqa: BLE001 - a header that cannot be parsed is a bad file
        raise wrap_reader_error(rpl, exc) from exc
    expected = offset + h * w * d * length
    actual = raw_file.stat().st_size
    if actual != expected:
        ratio = f" ({actual / (expected - offset):.3g} times the data described)" if expected > offset else ""
        raise bad_file(
            raw_file,
            f"holds {actual} bytes but its header '{rpl.name}' describes {h} x {w} x {d} values "
            f"of {length} byte(s) ({info.get('data-type')}) after {offset} byte(s) = "
            f"{expected} bytes{ratio}; the header's size or data type does not match the data",
            "a .raw of exactly the size its .rpl describes (check data-length, data-type, "
            "width, height and depth in the .rpl)",
        )


def read_ripple(path, *, lazy: bool = False, energy_scale=None, energy_offset=None) -> RawData:
    """Read a ``.rpl``/``.raw`` pair (either file may be given).

    Parameters
    ----------
    path
        The ``.rpl`` header or its ``.raw`` data file.
    lazy
        Memory-map the ``.raw`` file into a dask cube chunked in whole rows.
    energy_scale, energy_offset
        Calibration in keV to use when the files carry none.

    Examples
    --------
    >>> raw = read_ripple(VENDOR / "4on3_full.rpl", energy_scale=0.01, energy_offset=-0.4701)  # doctest: +SKIP
    >>> raw.shape  # doctest: +SKIP
    (3, 4, 1024)
    """
    from rsciio.ripple import file_reader

    path = Path(path)
    rpl = path.with_suffix(".rpl")
    if not rpl.exists():
        raise bad_file(rpl, "was not found next to the data file", "a .rpl header for the .raw cube")
    raw_file = rpl.with_suffix(".raw")
    if not raw_file.exists():
        raise bad_file(raw_file, "was not found next to the header", "the .raw data file of the .rpl pair")
    _check_raw_size(rpl, raw_file)
    try:
        sigs = file_reader(str(rpl), lazy=lazy)
    except Exception as exc:  # noqa: BLE001
        raise wrap_reader_error(rpl, exc) from exc
    sig = sigs[0]
    if sig["data"].ndim != 3:
        raise bad_file(rpl, f"describes a {sig['data'].ndim}-D cube", "a spectrum image (height, width, depth)")
    md = sig.get("metadata", {})
    stype = str(md.get("Signal", {}).get("signal_type") or "")
    stype = stype if stype.startswith("EDS") else "EDS_SEM"
    raw = from_rsciio_spectrum(rpl, sig, signal_type=stype, extra_md={"format": "rpl"})
    calib_src = "ripple header" if raw.calibrated else None
    emsa = rpl.with_suffix(".txt")
    if emsa.exists():
        cal = read_emsa_calibration(emsa)
        if cal is not None:
            raw.energy_scale, raw.energy_offset = cal
            calib_src = f"EMSA file {emsa.name}"
    par = rpl.with_suffix(".par")
    if par.exists():
        info = read_par(par)
        if "scale_x" in info or "scale_y" in info:
            sx = info.get("scale_x", info.get("scale_y"))
            sy = info.get("scale_y", sx)
            raw.nav_scale, raw.nav_units = (sy, sx), "µm"
        raw.metadata["par"] = info
    if energy_scale is not None:
        raw.energy_scale = float(energy_scale)
        raw.energy_offset = float(energy_offset or 0.0)
        calib_src = "arguments"
    raw.calibrated = calib_src is not None
    raw.metadata["energy_calibration_source"] = calib_src
    if not raw.calibrated:
        raw.energy_scale, raw.energy_offset = 0.01, 0.0
        warnings.warn(
            f"File '{rpl}' has no energy calibration (no EMSA '{emsa.name}' beside it and none in "
            "the header); assuming 0.01 keV/channel and offset 0 keV. Set the right values with "
            "dataset.set_energy_calibration(scale, offset) or dataset.calibrate_spectra().",
            UserWarning,
            stacklevel=2,
        )
    if lazy:
        raw.data = rechunk_nav(raw.data)
    return raw
