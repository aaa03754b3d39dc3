"""A self-contained HTML report of one pipeline run.

Every figure is drawn with the builders of :mod:`sigma.plot` (matplotlib, Agg) and embedded as
a base64 PNG ``data:`` URI; styles are inline. The file opens from disk in any browser, with no
server and no network.

Examples
--------
>>> page = render_page("T", [("Section", "<p>hi</p>")])
>>> page.startswith("<!DOCTYPE html>"), "http" in page.split("<body>")[0]
(True, False)
"""

from __future__ import annotations

import base64
import html
import json
import logging

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["build_report", "img_tag", "render_page"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f3a5f;color:#fff;padding:16px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.85;font-size:13px}
nav{padding:8px 28px;background:#e8edf3;font-size:13px}nav a{margin-right:14px;color:#1f3a5f}
main{padding:8px 28px 40px;max-width:1200px}section{background:#fff;border:1px solid #ddd;
border-radius:6px;padding:12px 18px;margin:16px 0}h2{font-size:17px;margin:4px 0 10px}
img{max-width:100%;height:auto;display:block;margin:6px 0}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f0f0f0}
td.l,th.l{text-align:left}.sw{display:inline-block;width:14px;height:14px;border:1px solid #555;
vertical-align:middle}pre{font-size:12px;background:#f6f6f6;padding:8px;overflow:auto;max-height:420px}
.note{color:#666;font-size:12px}
"""


def img_tag(fig_or_png, alt: str, dpi: int = 100) -> str:
    """``<img>`` with the figure (or PNG bytes) inlined as a base64 ``data:`` URI.

    Examples
    --------
    >>> from sigma.plot import new_figure
    >>> img_tag(new_figure((1, 1)), "empty")[:32]
    '<img alt="empty" src="data:image'
    """
    if isinstance(fig_or_png, bytes | bytearray):
        png = bytes(fig_or_png)
    else:
        from ..plot import figure_to_png

        png = figure_to_png(fig_or_png, dpi=dpi)
    b64 = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def _table(header, rows, left=()) -> str:
    th = "".join(f'<th class="{"l" if i in left else ""}">{html.escape(str(h))}</th>' for i, h in enumerate(header))
    body = []
    for r in rows:
        cells = []
        for i, v in enumerate(r):
            cls = ' class="l"' if i in left else ""
            cells.append(f"<td{cls}>{v}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{th}</tr>{''.join(body)}</table>"


def render_page(title: str, sections, subtitle: str = "") -> str:
    """The HTML document around ``[(heading, html_body), ...]`` sections.

    Examples
    --------
    >>> page = render_page("Run 1", [("Notes", "<p>all good</p>")], subtitle="sample A")
    >>> page.startswith("<!DOCTYPE html>"), '<section id="s0"><h2>Notes</h2>' in page
    (True, True)
    """
    nav = " ".join(f'<a href="#s{i}">{html.escape(h)}</a>' for i, (h, _) in enumerate(sections))
    body = "".join(
        f'<section id="s{i}"><h2>{html.escape(h)}</h2>{content}</section>'
        for i, (h, content) in enumerate(sections)
    )
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><header><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(subtitle)}</p></header><nav>{nav}</nav><main>{body}</main></body></html>\n"
    )


def _safe(name: str, build):
    """Build one section; a failing figure becomes a note instead of breaking the report."""
    try:
        return build()
    except Exception as exc:  # noqa: BLE001 - the report must still be written
        log.warning("report section %r failed: %s", name, exc)
        return f'<p class="note">This figure could not be drawn: {html.escape(str(exc))}</p>'


def _sum_spectrum_fig(ps, ds):
    """Counts summed over the analysis grid, the feature lines labelled without overlaps."""
    from ..plot import new_figure, sum_spectrum_lines
    from ..plot.annotate import LABEL_COLORS, place_line_labels, useful_energy_range

    energy = np.asarray(ps.energy_axis, dtype=float)
    total = np.asarray(ps.get_cluster_spectra("sum"), dtype=float).sum(axis=0)
    fig = new_figure((9, 3.4), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(energy, total, color="#333", lw=1)
    lines = sum_spectrum_lines(ds)
    beam = getattr(getattr(ds, "info", None), "beam_energy", None)
    lo, hi = useful_energy_range(energy, total, list(lines.values()), beam)
    ax.set_xlim(lo, hi)
    inside = (energy >= lo) & (energy <= hi)
    top = float(total[inside].max()) if inside.any() else 0.0
    ax.set_ylim(0, 1.05 * top if top > 0 else 1)
    ax.set_xlabel("Energy (keV)")
    ax.set_ylabel("Counts per channel (all pixels)")
    order = sorted(lines, key=lines.get)
    texts = place_line_labels(ax, lines, {n: LABEL_COLORS[k % len(LABEL_COLORS)] for k, n in enumerate(order)})
    rows = len({round(t.get_position()[1], 4) for t in texts})
    ax.set_title("Sum spectrum with the feature lines", pad=6 + 11 * rows)
    return fig


def _feature_fig(ps, ds, record):
    """The features the clustering was fitted on (the segmenter's snapshot)."""
    from ..plot import feature_units, plot_feature_maps

    chain = record.get("dataset", {}).get("normalisation_chain", getattr(ds, "norm_chain", []))
    feats, names = ps.features, ps.feature_list
    if feats is None:
        feats, names = ds.normalised_elemental_data, list(ds.feature_list)
    return plot_feature_maps(feats, names, title=f"Normalised feature maps ({', '.join(chain) or 'raw'})",
                             units=feature_units(ds), calibration=ds)


def _lines_note(record: dict) -> str:
    """Where the feature lines came from, and what the second look changed (``run.json``'s
    ``dataset.lines_source`` and ``dataset.lines_review``), as a note under the feature maps.

    Examples
    --------
    >>> rec = {"dataset": {"lines_source": "sum spectrum", "lines_review": {"applied": True,
    ...     "added": [{"line": "Ti_Ka", "element": "Ti", "cluster": 3, "pixels": 41,
    ...                "net_counts": 148.0, "sigma": 17.0, "significance": 9.4}],
    ...     "removed": [{"line": "C_Ka", "element": "C", "explained_by": "Ca_Ll", "cluster": 2}]}}}
    >>> print(_lines_note(rec))  # doctest: +NORMALIZE_WHITESPACE
    <p class="note">Lines proposed from the sum spectrum (the file names no elements). A second
    look at the clusters' spectra added Ti_Ka (Ti in cluster 3, 41 pixels: 148 ± 17 net counts,
    9.4σ) and removed C_Ka (its peak is Ca_Ll, of an element cluster 2 shows); the features,
    latent space and clusters of this report are those of the second pass.</p>
    """
    ds = record.get("dataset", {})
    if ds.get("lines_source") != "sum spectrum":
        return ""
    text = "Lines proposed from the sum spectrum (the file names no elements)."
    review = ds.get("lines_review") or {}
    added = [f"{a['line']} ({a['element']} in cluster {a['cluster']}, {a['pixels']} pixels: "
             f"{a['net_counts']:.0f} ± {a['sigma']:.0f} net counts, {a['significance']:.1f}σ)"
             for a in review.get("added", [])]
    removed = [f"{r['line']} (its peak is {r['explained_by']}, of an element cluster {r['cluster']} "
               "shows)" for r in review.get("removed", [])]
    changes = ([f"added {', '.join(added)}"] if added else []) + (
        [f"removed {', '.join(removed)}"] if removed else [])
    if review.get("applied") and changes:
        text += (f" A second look at the clusters' spectra {' and '.join(changes)}; the features, "
                 "latent space and clusters of this report are those of the second pass.")
    elif review:
        text += " A second look at the clusters' spectra found no line to add or remove."
    return _note(text)


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text, quote=False)}</p>'


def _latent_fig(ps, max_points):
    from ..plot import new_figure, plot_latent

    fig = new_figure((6, 5), layout="constrained")
    plot_latent(ps, ax=fig.add_subplot(), max_points=max_points)
    return fig


def _phase_fig(ps, alpha):
    from ..plot import new_figure, plot_phase_map

    # the legend beside the map carries "id · name (area)": room for the longest name, so the
    # map itself is not squeezed
    longest = max((len(str(n)) for n in getattr(ps, "cluster_names", {}).values()), default=0)
    fig = new_figure((6.5 + 0.085 * longest, 5), layout="constrained")
    ax = fig.add_subplot()
    plot_phase_map(ps, alpha=alpha, ax=ax)
    leg = ax.get_legend()
    for _ in range(3):  # a legend beside the axes is not in the layout: widen until it fits
        if leg is None:
            break
        fig.canvas.draw()
        over = leg.get_window_extent().x1 - fig.bbox.x1
        if over <= 0:
            break
        fig.set_figwidth(fig.get_figwidth() + over / fig.dpi + 0.1)
    return fig


def _cluster_spectra_fig(ps):
    from ..plot import new_figure, plot_cluster_spectra

    fig = new_figure((9, 3.6), layout="constrained")
    plot_cluster_spectra(ps, ax=fig.add_subplot(), normalisation=True)
    return fig


def _net_spectra_section(ps) -> str:
    """A TEM map's net spectra (:meth:`~sigma.clustering.PixelSegmenter.get_net_spectra`): the
    film subtracted and cores peeled off their shells, with what was done; or why nothing was."""
    from ..plot import new_figure, plot_cluster_spectra

    net = ps.get_net_spectra()
    peeled = "; ".join(f"cluster {c} peeled off cluster {h} (factor {net.factors[c]:.2f})"
                       for c, h in sorted(net.hosts.items()))
    if net.film is None and not net.hosts:
        return _note(f"No support film was found ({net.film_reason}) and no cluster lies inside "
                     "another: nothing is subtracted, so the net spectra (cluster_net_spectra.csv) "
                     "are the core spectra.")
    why = str(net.film_reason).removeprefix(f"cluster {net.film}: ")
    film = (f"Film: cluster {net.film} ({why}); its per-pixel spectrum is subtracted from every "
            "brighter cluster's." if net.film is not None else
            f"No support film was found ({net.film_reason}).")
    fig = new_figure((9, 3.6), layout="constrained")
    plot_cluster_spectra(ps, ax=fig.add_subplot(), normalisation=True, kind="net")
    return img_tag(fig, "net spectra") + _note(
        "Each cluster's spectrum over its core pixels with what lies under or over it removed "
        f"(a thin sample: counts add along the beam). {film} {peeled + '.' if peeled else ''} "
        "Written to cluster_net_spectra.csv; see 'Net spectra of TEM maps' in the documentation "
        "for when this is wrong.")


def _pure_spectra_section(ps) -> str:
    """An SEM map's pure spectra (:meth:`~sigma.clustering.PixelSegmenter.get_pure_spectra`):
    every pixel of a cluster, each rim pixel less its neighbour's fitted share, with how much
    was removed from each cluster."""
    from ..plot import new_figure, plot_cluster_spectra

    pure = ps.get_pure_spectra()
    order = np.argsort(-pure.neighbour_share, kind="stable")
    shares = ", ".join(f"cluster {int(pure.cluster_ids[i])} {100 * pure.neighbour_share[i]:.1f} %"
                       for i in order[:6] if pure.neighbour_share[i] >= 0.0005)
    fig = new_figure((9, 3.6), layout="constrained")
    plot_cluster_spectra(ps, ax=fig.add_subplot(), normalisation=True, kind="pure")
    removed = (f"Counts removed as the neighbours' (largest first): {shares}." if shares else
               "No cluster's rims hold a measurable share of its neighbours: nothing was removed.")
    return img_tag(fig, "pure spectra") + _note(
        "Each cluster's spectrum over all its pixels, with the share of the neighbouring phase "
        "in each boundary pixel fitted and removed (beam spread and binning mix the phases "
        "there; a small inclusion is mostly boundary): an estimate of the phase's own spectrum "
        "without the boundary mixing of the mean above, and with more counts than a mean over "
        f"the interior pixels only. {removed} "
        "Written to cluster_pure_spectra.csv; see 'Pure spectra of SEM maps' in the "
        "documentation for when this is wrong.")


def _proportions_table(ps) -> str:
    """Area of each cluster; with the cluster's name, elements, grains and best candidates
    once it has been identified (:meth:`~sigma.clustering.PixelSegmenter.identify_phases`)."""
    from ..plot.annotate import unassigned_label

    ident = ps.phase_identification if getattr(ps, "_identify_params", None) else None
    if ident is not None:
        return _named_phase_table(ps, ident)
    props = ps.phase_proportions(exclude_noise=True)
    rows = []
    for i, c, p in zip(ps.cluster_ids.tolist(), ps.counts.tolist(), props.tolist(), strict=True):
        col = html.escape(ps.colors.get(i, "#000"))
        rows.append([f'<span class="sw" style="background:{col}"></span>', i, c, f"{100 * p:.2f} %"])
    if ps.noise_count:
        col = html.escape(ps.colors.get(-1, "#888"))
        rows.append([f'<span class="sw" style="background:{col}"></span>', unassigned_label(ps), ps.noise_count, "–"])
    return _table(["", "cluster", "pixels", "area fraction"], rows)


def _named_phase_table(ps, ident) -> str:
    from ..plot.annotate import unassigned_label

    rows = []
    for r in ps.phase_table():
        col = html.escape(r["color"])
        label = f"{r['cluster']} · {r['name']} · {r['area_percent']:.1f} %"
        cands = "<br>".join(f"{html.escape(lb)} <small>(p = {p:.2g})</small>" for lb, p in r["candidates"])
        unit = html.escape(r.get("unit", ""))
        rows.append([f'<span class="sw" style="background:{col}"></span>', html.escape(label),
                     html.escape(r["elements"]), r["pixels"], r.get("grains", "–"),
                     f"{r['ecd_d50']:.3g} / {r['ecd_d90']:.3g} {unit}" if "ecd_d50" in r else "–",
                     cands or "–"])  # fmt: skip
    if ps.noise_count:
        col = html.escape(ps.colors.get(-1, "#888"))
        rows.append([f'<span class="sw" style="background:{col}"></span>',
                     f"{unassigned_label(ps)} · {100 * ps.noise_count / max(ps.n_pixels, 1):.1f} %", "", ps.noise_count,
                     "", "", ""])  # fmt: skip
    note = ("<p>Area % of all scanned pixels. Names: best library match of each cluster's summed "
            "spectrum (p = probability of a fit this poor if the candidate were right, given "
            "counting noise and the forward model's error); <i>unknown</i> when no candidate "
            f"reaches p = {ident.params.get('min_p_value', 0.001):g}. Elements: lines above "
            "3σ over a modelled background; A/B = overlapping lines the spectrum cannot tell "
            "apart. Grains: 8-connected regions; ECD = equivalent circle diameter (median / d90)."
            "</p>")  # fmt: skip
    return note + _table(["", "phase", "elements", "pixels", "grains", "ECD d50 / d90", "best candidates"],
                         rows, left=(1, 2, 6))  # fmt: skip


def _identification_section(ps) -> str:
    ident = ps.phase_identification if getattr(ps, "_identify_params", None) else None
    if ident is None:
        return ""
    rows = []
    for cid, r in ident.results.items():
        els = r.elements.elements if r.elements is not None else []
        el_txt = "; ".join(
            f"{html.escape(e.label)} {e.net:,.0f}±{e.sigma:,.0f} ({e.significance:.0f}σ)" for e in els
        ) or html.escape(r.name)
        c = r.best
        fit = f"χ² = {c.chi2:.1f} / {c.dof}, p = {c.p_value:.2g}" if c is not None else "–"
        alts = html.escape("; ".join(r.alternatives)) or "–"
        rows.append([cid, html.escape(r.name), html.escape(r.status), f"{r.total_counts:,.0f}", el_txt, fit, alts])
    p = ident.params
    head = (f"<p>Library of {p.get('library_phases', '?')} phases; beam {p.get('beam_energy_kv', 0):g} kV, "
            f"{html.escape(str(p.get('kind', '')))}; calibration shared by clusters: "
            f"{'on' if p.get('calibrate') else 'off'}. "
            + (f"Cluster{'s' if len(p['rim_offsets']) > 1 else ''} "
               f"{', '.join(str(c) for c in p['rim_offsets'])}: named with the counts that "
               "their rim pixels hold of their neighbours (see the pure spectra) fitted as a "
               "known offset, which named them and fitted at least as well; their elements and counts "
               "are their own. " if p.get("rim_offsets") else "")
            + "Net counts ± 1σ of each element's strongest "
            "line family (fitted background under the lines). Candidates and scores for every "
            "cluster are in <code>phase_identification.csv</code> and <code>run.json</code>; summed "
            "spectra as EMSA files in <code>spectra/</code>.</p>")  # fmt: skip
    return head + _table(["cluster", "name", "status", "counts", "elements (net ± σ, significance)",
                          "best fit", "also fits"], rows, left=(1, 2, 4, 5, 6))  # fmt: skip


def _modal_section(ps) -> str:
    if not getattr(ps, "_identify_params", None):
        return ""
    st = ps.modal_statistics()
    names = ps.cluster_names
    head, rows = st.association_table()
    cols = [f"{c}" + (f" {names.get(int(c), '')}" if c.isdigit() else "") for c in head[1:]]
    body = [[f"{r[0]} {html.escape(names.get(int(r[0]), ''))}", *[f"{v:.1f}" for v in r[1:]]] for r in rows]
    return ("<p>Phase association: percent of each phase's boundary (pixel edges) shared with each "
            f"other phase (rows sum to 100). Pixel {st.pixel_size[1]:.4g} × {st.pixel_size[0]:.4g} "
            f"{html.escape(st.unit)}; grain table and full statistics in <code>grains.csv</code>, "
            "<code>modal_statistics.csv</code>, <code>phase_association.csv</code>.</p>"
            + _table(["phase", *cols], body, left=(0,)))  # fmt: skip


def _nmf_section(ps, unmix) -> str:
    from ..plot import ABUNDANCE_UNITS, abundance_fractions, plot_feature_maps, plot_nmf

    parts = [img_tag(plot_nmf(unmix["weights"], unmix["components"], energy=np.asarray(ps.energy_axis),
                              cluster_ids=unmix["cluster_ids"].tolist(), cluster_colours=ps.colors),
                     "NMF weights and components")]
    ab = abundance_fractions(unmix["abundance"], unmix["components"])
    k = ab.shape[-1]
    parts.append(img_tag(plot_feature_maps(ab, [f"component {j}" for j in range(k)],
                                           title="Abundance maps (per-pixel NNLS)",
                                           units=ABUNDANCE_UNITS["fraction"], calibration=ps),
                         "abundance maps"))
    w = unmix["weights"]
    rows = [[int(i), *[f"{v:.3g}" for v in r]] for i, r in zip(unmix["cluster_ids"], w, strict=True)]
    parts.append("<details><summary>Weights table</summary>"
                 + _table(["cluster", *[f"w_{j}" for j in range(w.shape[1])]], rows) + "</details>")
    return "".join(parts)


def _evidence_section(ev) -> str:
    from ..plot import new_figure, plot_phase_evidence
    from ..plot.evidence import DECISIONS_NOTE, decision_rows, evidence_explanation

    fig = new_figure((7, 3.4), layout="constrained")
    plot_phase_evidence(ev, ax=fig.add_subplot())
    parts = [
        f"<p>{html.escape(evidence_explanation(ev))}</p>",
        img_tag(fig, "BIC along the merge path"),
    ]
    rows = [[r["#"], html.escape(r["decision"]), html.escape(str(r["pixels"])), html.escape(r["statistics"])]
            for r in decision_rows(ev)]
    if rows:
        parts.append(_table(["#", "decision", "pixels", "statistics"], rows, left=(1, 3)))
        parts.append(f'<p class="note">{html.escape(DECISIONS_NOTE)}</p>')
    return "".join(parts)


def _run_section(record: dict) -> str:
    inp = record.get("input", {})
    rows = [["input", html.escape(str(inp.get("path", "")))],
            ["sha256", f"<code>{html.escape(str(inp.get('sha256', '')))}</code>"],
            ["started", html.escape(str(record.get("started", "")))]]
    ds = record.get("dataset", {})
    if ds:
        rows += [["grid (H × W)", " × ".join(map(str, ds.get("grid", [])))],
                 ["pixels left out of the features (outside the scan, NaN, no counts)",
                  str(ds.get("excluded_pixels", 0))],
                 ["of them, without a count", str(ds.get("empty_pixels", 0))],
                 ["of those, labelled from their neighbours (a low-dose film)",
                  str(max(0, ds.get("excluded_pixels", 0)
                          - record.get("results", {}).get("excluded_pixels", ds.get("excluded_pixels", 0))))],
                 ["raw shape", " × ".join(map(str, ds.get("raw_shape", [])))],
                 ["features", html.escape(", ".join(ds.get("feature_list", [])))],
                 ["normalisation", html.escape(", ".join(ds.get("normalisation_chain", [])) or "none")]]
    timings = record.get("timings_s", {})
    t_rows = [[html.escape(k), f"{v:.2f}"] for k, v in timings.items()]
    vers = record.get("versions", {})
    v_rows = [[html.escape(k), html.escape(str(v))] for k, v in vers.items()]
    cfg = html.escape(json.dumps(record.get("config", {}), indent=2, default=str))
    return (
        _table(["item", "value"], rows, left=(0, 1))
        + "<h3>Stage timings (s)</h3>"
        + (_table(["stage", "seconds"], t_rows, left=(0,)) if t_rows else "<p>not recorded</p>")
        + ("<p class='note'>The report's own time is in <code>run.json</code>.</p>" if t_rows else "")
        + "<details><summary>Configuration</summary><pre>" + cfg + "</pre></details>"
        + "<details><summary>Package versions</summary>" + _table(["package", "version"], v_rows, left=(0, 1))
        + "</details>"
    )


def build_report(ps, ds, cfg: dict, *, unmix=None, record=None, extra=None) -> str:
    """The report of one run as an HTML string.

    Parameters
    ----------
    ps : PixelSegmenter
        The clustering (labels, colours, latent, spectra).
    ds : SEMDataset or TEMDataset
        The dataset it was computed on (feature maps, feature list).
    cfg : dict
        The run's configuration.
    unmix : dict, optional
        ``weights``, ``components``, ``abundance``, ``cluster_ids`` of the NMF stage.
    record : dict, optional
        The ``run.json`` content written so far (input, timings, versions).
    extra : dict, optional
        ``{heading: html}`` sections appended at the end (e.g. the demo's ground truth).

    Returns
    -------
    str

    Examples
    --------
    >>> import os, tempfile
    >>> from sigma.synthetic import make_phantom
    >>> from sigma.datasets import SEMDataset
    >>> from sigma.clustering import PixelSegmenter
    >>> from sigma.pipeline.config import default_config
    >>> sem = SEMDataset(make_phantom((8, 8), n_channels=256, energy_scale=0.04).to_signal())
    >>> sem.set_feature_list(["Fe_Ka", "Si_Ka", "Ca_Ka"])
    >>> _ = sem.normalisation([])
    >>> latent = sem.normalised_elemental_data.reshape(-1, 3)[:, :2]
    >>> ps = PixelSegmenter(latent, sem, "Kmeans", {"n_clusters": 3})
    >>> page = build_report(ps, sem, default_config(), extra={"Notes": "<p>first try</p>"})
    >>> "<h2>Phase map</h2>" in page, "<h2>Notes</h2>" in page
    (True, True)
    >>> path = os.path.join(tempfile.mkdtemp(), "report.html")
    >>> _ = open(path, "w", encoding="utf-8").write(page)
    """
    record = record or {}
    rep = cfg["report"]
    name = record.get("input", {}).get("path", "input")
    sections = [
        ("Sum spectrum", _safe("sum spectrum", lambda: img_tag(_sum_spectrum_fig(ps, ds), "sum spectrum"))),
        ("Feature maps", _safe("feature maps", lambda: img_tag(_feature_fig(ps, ds, record), "feature maps")
                               + _lines_note(record))),
        ("Latent space", _safe("latent", lambda: img_tag(_latent_fig(ps, rep["max_latent_points"]),
                                                          "latent space coloured by cluster"))),
        *([("Number of phases", _safe("evidence", lambda: _evidence_section(ps.n_components_evidence)))]
          if getattr(ps, "n_components_evidence", None) is not None else []),
        ("Phase map", _safe("phase map", lambda: img_tag(_phase_fig(ps, rep["alpha"]), "phase map"))),
        ("Phase proportions", _safe("proportions", lambda: _proportions_table(ps))),
        ("Cluster spectra", _safe("cluster spectra", lambda: img_tag(_cluster_spectra_fig(ps), "cluster spectra"))),
        *([("Net spectra (TEM)", _safe("net spectra", lambda: _net_spectra_section(ps)))]
          if getattr(ps, "_is_thin_sample", lambda: False)() and ps.n_clusters > 1 else []),
        *([("Pure spectra (SEM)", _safe("pure spectra", lambda: _pure_spectra_section(ps)))]
          if not getattr(ps, "_is_thin_sample", lambda: True)() and ps.n_clusters > 1 else []),
    ]
    if getattr(ps, "_identify_params", None):
        sections.append(("Phase identification", _safe("identification", lambda: _identification_section(ps))))
        sections.append(("Modal statistics", _safe("modal statistics", lambda: _modal_section(ps))))
    failed = record.get("failed_stage")
    if failed:
        sections.insert(0, ("Incomplete run", (
            f'<p class="note"><b>Stage {html.escape(str(failed.get("stage")))!r} failed:</b> '
            f'{html.escape(str(failed.get("error")))}. The outputs of the stages before it '
            "(phase map, labels, masks, cluster spectra, clustering state) are complete; "
            "those of the failed stage are missing.</p>")))
    if unmix is not None:
        sections.append(("NMF", _safe("nmf", lambda: _nmf_section(ps, unmix))))
    for head, body in (extra or {}).items():
        sections.append((head, body))
    sections.append(("Run", _safe("run", lambda: _run_section(record))))
    sub = (f"{ps.n_clusters} clusters on a {ps.height} × {ps.width} grid · "
           f"{cfg['latent']['method']} + {cfg['clustering']['method']}")
    return render_page(f"SIGMA2 report: {name}", sections, subtitle=sub)
