"""``sigma info FILE``: what a data file holds, without reading the spectra.

Examples
--------
>>> import tempfile, os
>>> from sigma.synthetic import make_phantom
>>> p = make_phantom((4, 5), n_channels=64, energy_scale=0.2).save_hspy(
...     os.path.join(tempfile.mkdtemp(), "ph.hspy"))
>>> d = describe(p)
>>> d["shape"], d["kind"]
((4, 5, 64), 'spectrum')
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["describe", "format_info"]


def describe(path, **reader_kwargs) -> dict:
    """A JSON-friendly summary of a file opened lazily with :func:`sigma.io.load`.

    Parameters
    ----------
    path : path-like
        Any format :func:`sigma.io.load` reads.
    **reader_kwargs
        Passed to the reader (``site=`` for ``.h5oina`` ...).

    Returns
    -------
    dict
        ``path``, ``format``, ``kind``, ``shape``, ``dtype``, ``signal_type``, ``energy``
        (scale, offset, range in keV, calibrated), ``pixel_size`` (y, x, units),
        ``beam_energy_kv``, ``energy_resolution_mnka_ev``, ``elements``, ``xray_lines``,
        ``nav_images`` (name: shape), ``feature_names``, ``lazy_chunks``, for ``.h5oina`` the
        table of contents under ``h5oina``, and for ``.bcf`` the ``total_counts`` (its pixel
        stream is decoded, in a helper process, to check it).

    Examples
    --------
    >>> import os, tempfile
    >>> from sigma.synthetic import make_phantom
    >>> ph = make_phantom((4, 5), n_channels=64, energy_scale=0.2)
    >>> p = ph.save_hspy(os.path.join(tempfile.mkdtemp(), "ph.hspy"))
    >>> d = describe(p)
    >>> d["format"], d["kind"], d["shape"]
    ('hspy', 'spectrum', (4, 5, 64))
    """
    from ..io import load

    path = Path(path)
    raw = load(path, lazy=True, **reader_kwargs)
    shape = tuple(int(s) for s in raw.shape)
    info = {
        "path": str(path),
        "format": path.suffix.lower().lstrip(".") or "folder",
        "kind": raw.kind,
        "shape": shape,
        "dtype": str(raw.data.dtype),
        "signal_type": raw.signal_type if raw.kind == "spectrum" else None,
        "pixel_size": {
            "y": float(raw.nav_scale[0]), "x": float(raw.nav_scale[1]), "units": raw.nav_units,
        },
        "beam_energy_kv": raw.beam_energy,
        "energy_resolution_mnka_ev": raw.energy_resolution_mnka,
        "elements": list(raw.elements),
        "xray_lines": list(raw.xray_lines),
        "nav_images": {k: tuple(int(s) for s in v.shape) for k, v in raw.nav_images.items()},
        "feature_names": list(raw.feature_names),
        "lazy_chunks": tuple(int(c[0]) for c in raw.data.chunks) if hasattr(raw.data, "chunks") else None,
    }
    if raw.kind == "spectrum":
        n = shape[-1]
        info["energy"] = {
            "channels": n,
            "scale_kev": float(raw.energy_scale),
            "offset_kev": float(raw.energy_offset),
            "range_kev": (float(raw.energy_offset), float(raw.energy_offset + raw.energy_scale * (n - 1))),
            "calibrated": bool(raw.calibrated),
        }
    if info["format"] == "bcf":
        # a .bcf cannot be checked without decoding its pixel stream: do it in the helper
        # process (a corrupt file is then an error here, not a crash later), keep only the total
        from ..io._isolate import decode_isolated

        _, _, total = decode_isolated("bcf", path, want_data=False,
                                      **{k: v for k, v in reader_kwargs.items()
                                         if k in ("downsample", "cutoff_at_kV")})
        info["total_counts"] = total
    if path.suffix.lower() == ".h5oina":
        from ..io.h5oina import list_h5oina_contents

        info["h5oina"] = list_h5oina_contents(path)
    return info


def format_info(info: dict) -> str:
    """Human-readable text of :func:`describe`'s dictionary.

    Examples
    --------
    >>> print(format_info({"path": "a.bcf", "format": "bcf", "kind": "spectrum",
    ...                    "shape": (2, 3, 4), "dtype": "uint16"}).splitlines()[1])
    Format:            bcf (spectrum)
    """
    out = [f"File:              {info['path']}", f"Format:            {info['format']} ({info['kind']})"]
    shape = info["shape"]
    if info["kind"] == "spectrum":
        out.append(f"Shape:             {shape[0]} × {shape[1]} pixels × {shape[2]} channels ({info['dtype']})")
    else:
        out.append(f"Shape:             {shape[0]} × {shape[1]} pixels × {shape[2]} maps ({info['dtype']})")
    if info.get("signal_type"):
        out.append(f"Signal type:       {info['signal_type']}")
    e = info.get("energy")
    if e:
        cal = "" if e["calibrated"] else "  (uncalibrated guess: check it)"
        out.append(
            f"Energy axis:       {e['scale_kev'] * 1000:.3f} eV/channel, offset {e['offset_kev']:.4f} keV, "
            f"{e['range_kev'][0]:.3f}–{e['range_kev'][1]:.3f} keV{cal}"
        )
    px = info.get("pixel_size")
    if px:
        out.append(f"Pixel size:        {px['y']:.6g} × {px['x']:.6g} {px['units']} (y × x)")
    if info.get("beam_energy_kv") is not None:
        out.append(f"Beam energy:       {info['beam_energy_kv']:g} kV")
    if info.get("energy_resolution_mnka_ev") is not None:
        out.append(f"FWHM at Mn Kα:     {info['energy_resolution_mnka_ev']:g} eV")
    if "elements" in info:
        out.append(f"Elements:          {', '.join(info['elements']) or '(none named)'}")
        out.append(f"X-ray lines:       {', '.join(info['xray_lines']) or '(none named)'}")
    if info.get("feature_names"):
        out.append(f"Maps:              {', '.join(info['feature_names'])}")
    if "nav_images" in info:
        navs = ", ".join(f"{k} {v[0]}×{v[1]}" for k, v in info["nav_images"].items())
        out.append(f"Navigation images: {navs or '(none; the sum of counts is used)'}")
    if info.get("total_counts") is not None:
        out.append(f"Total counts:      {info['total_counts']:.0f} (pixel data decoded and checked)")
    if info.get("lazy_chunks"):
        out.append(f"Lazy row chunks:   {info['lazy_chunks'][0]} rows")
    toc = info.get("h5oina")
    if toc:
        out.append(f"h5oina version:    {toc.get('format_version')}")
        for site, s in toc.get("per_site", {}).items():
            for det, d in s.get("detectors", {}).items():
                maps = sum(len(v) for v in d.get("maps", {}).values())
                out.append(
                    f"  site {site} / {det}: {d['shape'][0]}×{d['shape'][1]} px, "
                    f"{d.get('channels') or 0} channels, cube {'yes' if d.get('has_cube') else 'no'}, "
                    f"{maps} maps"
                )
            if s.get("images"):
                out.append(f"  site {site} images: {', '.join(s['images'])}")
    return "\n".join(out)
