"""EMSA/MAS 1.0 single spectra (``.msa``): the exchange format of HyperSpy, DTSA-II and vendors.

:func:`write_emsa` writes the keywords of the standard in its required order (``#FORMAT``,
``#VERSION``, ``#TITLE``, ``#DATE``, ``#TIME``, ``#OWNER``, ``#NPOINTS``, ``#NCOLUMNS``,
``#XUNITS``, ``#YUNITS``, ``#DATATYPE``, ``#XPERCHAN``, ``#OFFSET``), then ``#SIGNALTYPE``,
``#BEAMKV``, ``#LIVETIME``, ``#REALTIME``, ``#ELEVANGLE``, ``#AZIMANGLE``, ``#FWHMMNKA``, the
elements as DTSA-II's ``##D2ELEMS`` tag, comments, the counts (``Y`` data, one value a line)
and ``#ENDOFDATA``; ASCII with CRLF line ends, as the standard asks. Files read back with
:func:`rsciio.msa.file_reader` / ``hyperspy.api.load`` and with NIST DTSA-II's EMSA reader,
which understands every keyword written here (``#FWHMMNKA`` is RosettaSciIO's; DTSA-II skips it).

RosettaSciIO 0.15's ``msa.file_writer`` is not used to write: it rewrites its module-level
keyword table in place (``mapped_to`` 'TEM' → 'SEM' after an SEM spectrum), so an SEM export
makes later reads and writes of TEM spectra in the same session lose their beam energy. Reading
goes through ``rsciio.msa.file_reader`` and uses the file's raw keywords, which that bug does
not touch.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from pathlib import Path

import numpy as np

from .._errors import bad_file, bad_value

_MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()


def _ascii(text: str, limit: int | None = None) -> str:
    # ": " would end the keyword early in RosettaSciIO's parser (it splits on it)
    s = str(text).replace("\r", " ").replace("\n", " ").replace(": ", " - ")
    s = s.encode("ascii", "replace").decode("ascii")
    return s[:limit] if limit else s


def _num(x: float) -> str:
    return f"{float(x):.8g}"


def write_emsa(
    path,
    counts,
    *,
    energy_scale: float,
    energy_offset: float,
    beam_energy: float | None = None,
    live_time: float | None = None,
    real_time: float | None = None,
    elements=(),
    title: str = "",
    comments=(),
    signal_type: str = "EDS",
    elevation_angle: float | None = None,
    azimuth_angle: float | None = None,
    fwhm_mnka: float | None = None,
    owner: str = "SIGMA2",
    overwrite: bool = False,
    timestamp: _dt.datetime | None = None,
) -> Path:
    """Write one spectrum as an EMSA/MAS 1.0 file (atomically).

    Parameters
    ----------
    path : str or Path
        ``.msa`` file to write. An existing file is only replaced with ``overwrite=True``.
    counts : array_like, shape (C,)
        Counts (or counts per second) per channel.
    energy_scale, energy_offset : float
        keV per channel and keV of channel 0.
    beam_energy : float, optional
        kV (``#BEAMKV``).
    live_time, real_time : float, optional
        Seconds. Left out when unknown (a comment says so) rather than invented.
    elements : iterable of str
        Written as ``##D2ELEMS`` (DTSA-II) and in a comment.
    title : str
        ``#TITLE`` (ASCII, 64 characters at most).
    comments : iterable of str
        ``#COMMENT`` lines.
    signal_type : str
        ``#SIGNALTYPE``; 'EDS'.
    elevation_angle, azimuth_angle : float, optional
        Detector angles in degrees.
    fwhm_mnka : float, optional
        Detector resolution at Mn Kα in eV.
    owner : str
    overwrite : bool
    timestamp : datetime, optional
        ``#DATE`` / ``#TIME`` (default: now, UTC).

    Returns
    -------
    Path

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "phase_3.msa")
    >>> _ = write_emsa(p, np.arange(5.0), energy_scale=0.01, energy_offset=-0.47,
    ...                beam_energy=20, live_time=12.5, elements=["Fe", "Ti", "O"])
    >>> from rsciio.msa import file_reader
    >>> d = file_reader(p)[0]
    >>> d["data"].tolist(), d["original_metadata"]["BEAMKV   -kV"], d["original_metadata"]["D2ELEMS"]
    ([0.0, 1.0, 2.0, 3.0, 4.0], 20.0, 'Fe,Ti,O')
    """
    from .._files import atomic_write_bytes

    y = np.asarray(counts, dtype=np.float64).ravel()
    if y.size < 1 or not np.all(np.isfinite(y)):
        raise bad_value("counts", f"{y.size} values (finite: {bool(np.all(np.isfinite(y)))})",
                        "a non-empty spectrum of finite values")  # fmt: skip
    if not math.isfinite(energy_scale) or energy_scale <= 0:
        raise bad_value("energy_scale", energy_scale, "a positive channel width in keV")
    if not math.isfinite(energy_offset):
        raise bad_value("energy_offset", energy_offset, "a finite energy in keV")
    path = Path(path)
    if path.exists() and not overwrite:
        err = bad_file(path, "already exists", "a new file name, or overwrite=True to replace it")
        raise FileExistsError(str(err))
    if path.is_dir():
        raise bad_file(path, "is a folder", "a file name ending in .msa")
    ts = timestamp or _dt.datetime.now(_dt.UTC)
    els = [str(e) for e in elements]
    lines = [
        ("FORMAT", "EMSA/MAS Spectral Data File"),
        ("VERSION", "1.0"),
        ("TITLE", _ascii(title or "SIGMA2 spectrum", 64)),
        ("DATE", f"{ts.day:02d}-{_MONTHS[ts.month - 1]}-{ts.year:04d}"),
        ("TIME", f"{ts.hour:02d}:{ts.minute:02d}"),
        ("OWNER", _ascii(owner, 64)),
        ("NPOINTS", f"{y.size}."),
        ("NCOLUMNS", "1."),
        ("XUNITS", "keV"),
        ("YUNITS", "counts"),
        ("DATATYPE", "Y"),
        ("XPERCHAN", _num(energy_scale)),
        ("OFFSET", _num(energy_offset)),
        ("SIGNALTYPE", _ascii(signal_type)),
    ]
    if beam_energy:
        lines.append(("BEAMKV   -kV", _num(beam_energy)))
    if live_time is not None:
        lines.append(("LIVETIME  -s", _num(live_time)))
    if real_time is not None:
        lines.append(("REALTIME  -s", _num(real_time)))
    if elevation_angle is not None:
        lines.append(("ELEVANGLE-dg", _num(elevation_angle)))
    if azimuth_angle is not None:
        lines.append(("AZIMANGLE-dg", _num(azimuth_angle)))
    if fwhm_mnka:
        lines.append(("FWHMMNKA -eV", _num(fwhm_mnka)))
    if els:
        lines.append(("#D2ELEMS", ",".join(els)))
    notes = [_ascii(c) for c in comments]
    if els:
        notes.append("elements " + ", ".join(els))
    if live_time is None:
        notes.append("live time unknown (the source file gives none)")
    for c in notes:
        for i in range(0, max(len(c), 1), 64):
            lines.append(("COMMENT", c[i : i + 64]))
    out = [f"#{k:<12}: {v}" for k, v in lines]
    out.append(f"#{'SPECTRUM':<12}: Spectral Data Starts Here")
    out.extend(f"{v:.6g}," for v in y)
    out.append(f"#{'ENDOFDATA':<12}: End Of Data and File")
    return atomic_write_bytes(path, ("\r\n".join(out) + "\r\n").encode("ascii"))


def read_emsa(path) -> dict:
    """Read an EMSA/MSA spectrum with RosettaSciIO: counts, energy axis and the keywords used.

    Returns
    -------
    dict
        ``counts`` (C,), ``energy`` (C,) keV, ``energy_scale``, ``energy_offset`` (keV),
        ``beam_energy`` (kV or None), ``live_time`` (s or None), ``fwhm_mnka`` (eV or None),
        ``elements`` (list), ``kind`` ('SEM' or 'TEM': TEM above 30 kV, as RosettaSciIO
        decides), ``title``, ``keywords`` (all raw keywords).

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "s.msa")
    >>> _ = write_emsa(p, np.ones(4), energy_scale=0.02, energy_offset=0.0, beam_energy=15)
    >>> d = read_emsa(p)
    >>> d["energy"].tolist(), d["beam_energy"], d["live_time"]
    ([0.0, 0.02, 0.04, 0.06], 15.0, None)
    """
    from rsciio.msa import file_reader

    path = Path(path)
    if not path.is_file():
        raise bad_file(path, "does not exist", "an EMSA/MSA spectrum file")
    try:
        d = file_reader(str(path))[0]
    except Exception as exc:  # rsciio raises KeyError/ValueError/IndexError on bad files
        raise bad_file(path, f"is not a readable EMSA/MSA file ({type(exc).__name__}: {exc})",
                       "an EMSA/MAS 1.0 spectrum") from exc  # fmt: skip
    kw = d.get("original_metadata", {})
    counts = np.asarray(d["data"], dtype=np.float64)
    if counts.ndim != 1 or counts.size < 2:
        raise bad_file(path, f"holds {counts.size} data points", "a spectrum of at least 2 channels")
    ax = d["axes"][0]
    units = str(kw.get("XUNITS", ax.get("units", "")) or "").strip().lower()
    factor = 1e-3 if units == "ev" else 1.0
    if units not in ("kev", "ev", ""):
        raise bad_file(path, f"has XUNITS {units!r}", "an energy axis in keV or eV")
    scale, offset = float(ax["scale"]) * factor, float(ax["offset"]) * factor
    if not scale > 0:
        raise bad_file(path, f"has XPERCHAN {ax['scale']!r}", "a positive channel width")

    def _key(prefix):
        for k, v in kw.items():
            if re.sub(r"[^A-Z]", "", str(k).split("-")[0].upper()) == prefix:
                try:
                    return float(str(v).split()[0])
                except (TypeError, ValueError, IndexError):
                    return None
        return None

    beam = _key("BEAMKV")
    elements = []
    for k, v in kw.items():
        if str(k).strip("#").strip().upper() in ("D2ELEMS", "ELEMENTS") and v:
            elements = [e.strip() for e in re.split(r"[,;\s]+", str(v)) if e.strip()]
    return {
        "counts": counts,
        "energy": offset + scale * np.arange(counts.size),
        "energy_scale": scale,
        "energy_offset": offset,
        "beam_energy": beam,
        "live_time": _key("LIVETIME"),
        "fwhm_mnka": _key("FWHMMNKA"),
        "elements": elements,
        "kind": "TEM" if (beam or 0) > 30 else "SEM",
        "title": str(kw.get("TITLE", "")),
        "keywords": dict(kw),
    }
