"""The dataset widgets: ``view_dataset`` (line search, feature editing, tabs of figures),
``view_pixel_distributions`` and ``view_intensity_maps``.

Feature editing cannot silently damage an analysis: the "Feature List" box always shows the
dataset's real list (``Navigator`` included), "Set" says what it added and removed, lines whose
peaks overlap are flagged, and segmenters already built on the dataset are named in a warning
(their clustering belongs to the old features).
"""

from __future__ import annotations

import html
import logging
import weakref
from types import SimpleNamespace

import ipywidgets as widgets
import numpy as np

from .. import plot
from ._base import Pager, Panel, button, png_widget, set_png
from ._legend import calibration_caption
from ._spectral import TITLE as SPECTRAL_TITLE
from ._spectral import SpectralTab, has_spectral_features

log = logging.getLogger(__name__)

#: Segmenters passed to any GUI function, so that feature edits can warn about them.
_SEGMENTERS: weakref.WeakSet = weakref.WeakSet()


def remember_segmenter(ps) -> None:
    """Note a segmenter shown by the GUI (for the feature-edit warning)."""
    try:
        _SEGMENTERS.add(ps)
    except TypeError:  # not weak-referenceable (a stand-in object): nothing to remember
        pass


def segmenters_on(dataset) -> dict[str, object]:
    """``{name: segmenter}`` of the segmenters built on ``dataset``: those in the notebook's
    namespace (by variable name) and those shown by a GUI function."""
    found: dict[str, object] = {}
    try:
        from IPython import get_ipython

        ns = getattr(get_ipython(), "user_ns", None) or {}
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        ns = {}
    for name, v in list(ns.items()):
        if not name.startswith("_") and hasattr(v, "observe") and getattr(v, "dataset", None) is dataset:
            found.setdefault(name, v)
    known = {id(v) for v in found.values()}
    unnamed = [v for v in list(_SEGMENTERS) if getattr(v, "dataset", None) is dataset and id(v) not in known]
    for k, v in enumerate(unnamed):
        found[f"an unnamed segmenter (#{k + 1})"] = v
    return found


def dataset_of(array):
    """The dataset in the notebook's namespace whose ``normalised_elemental_data`` is ``array``
    (the same object), or None: it tells what the values are and the pixel size."""
    try:
        from IPython import get_ipython

        ns = getattr(get_ipython(), "user_ns", None) or {}
    except ImportError:  # pragma: no cover
        return None
    for name, v in list(ns.items()):
        if not name.startswith("_") and getattr(v, "normalised_elemental_data", None) is array:
            return v
    return None


def _has_spectra(ds) -> bool:
    return getattr(ds, "spectra", None) is not None and hasattr(ds, "energy_axis_of")


def _is_binned(ds) -> bool:
    return getattr(ds, "spectra_bin", None) is not None or getattr(ds, "chemical_maps_bin", None) is not None


def processed_maps_title(ds) -> str:
    """Title of the tab of the maps on the analysis grid, saying what was done to them:
    ``'Elemental maps (binned 3×3, normalised spectra)'``, ``'Elemental maps (normalised
    spectra)'`` (not binned), ...

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> processed_maps_title(SimpleNamespace(bin_size=(1, 1), normalised_spectra=True))
    'Elemental maps (normalised spectra)'
    >>> processed_maps_title(SimpleNamespace(bin_size=(3, 2), normalised_spectra=False))
    'Elemental maps (binned 3×2)'
    """
    fy, fx = getattr(ds, "bin_size", (1, 1)) or (1, 1)
    done = [f"binned {fy}×{fx}"] if (fy, fx) != (1, 1) else []
    if getattr(ds, "normalised_spectra", False):
        done.append("normalised spectra")
    return f"Elemental maps ({', '.join(done) or 'analysis grid'})"


def parse_features(text: str) -> list[str]:
    """``"Fe_Ka, Si_Ka"`` or ``"['Fe_Ka', 'Si_Ka']"`` → ``['Fe_Ka', 'Si_Ka']`` (in order, repeats kept).

    Examples
    --------
    >>> parse_features("['Fe_Ka', 'Si_Ka']"), parse_features("Fe_Ka Si_Ka,")
    (['Fe_Ka', 'Si_Ka'], ['Fe_Ka', 'Si_Ka'])
    """
    for ch in "[]()'\"":
        text = text.replace(ch, " ")
    return [t for t in text.replace(",", " ").split() if t]


def _figure_tab(fig, caption: str | None = None):
    img = png_widget(fig, "sigma-tab-figure")
    kids = [img]
    if caption:
        cap = widgets.HTML(html.escape(caption))
        cap.add_class("sigma-caption")
        cap.add_class("sigma-calibration")
        kids.append(cap)
    box = widgets.VBox(kids)
    return img, box


class DatasetViewer(Panel):
    """Widget of :func:`sigma.gui.gui.view_dataset`.

    Attributes
    ----------
    energy, width : ipywidgets.FloatText
        "Energy (keV)" (class ``sigma-energy``) and "± window (keV)" (``sigma-energy-width``):
        the search lists the lines within ``energy ± window``.
    lines : ipywidgets.HTML
        X-ray lines near the energy (class ``sigma-lines``); ``line_hits`` holds them as tuples.
    add_buttons : ipywidgets.HBox
        One "+ line" button per hit (class ``sigma-add-line``): adds it to the features.
    features : ipywidgets.Text
        "Feature List" (class ``sigma-features``), applied with "Set" (``sigma-set-features``);
        it always shows the dataset's current list.
    tabs : ipywidgets.Tab
        "Navigation Signal", "Sum Spectrum", "Elemental Maps (raw)", once binned or normalised
        "Elemental maps (binned 3×3, normalised spectra)" (the title says which), and "Whole
        spectrum (PCA)" (spectrum datasets); image datasets have no spectrum tabs.
    images : dict
        The ``Image`` widget of each figure tab by title.
    spectral : SpectralTab or None
        The "Whole spectrum (PCA)" tab (computed when opened), for spectrum datasets.
    """

    def __init__(self, dataset):
        super().__init__()
        self.add_class("sigma-view-dataset")
        self.dataset = dataset
        self.line_hits: list = []
        style = {"description_width": "initial"}
        self.energy = widgets.FloatText(value=0.0, description="Energy (keV)", step=0.01, style=style,
                                        layout=widgets.Layout(width="200px"))
        self.energy.add_class("sigma-energy")
        self.width = widgets.BoundedFloatText(value=0.1, min=0.001, max=5.0, step=0.05, description="± window (keV)",
                                              style=style, layout=widgets.Layout(width="200px"))
        self.width.add_class("sigma-energy-width")
        self.lines = widgets.HTML()
        self.lines.add_class("sigma-lines")
        self.add_buttons = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self.add_buttons.add_class("sigma-add-lines")
        self.features = widgets.Text(value="", description="Feature List", continuous_update=False,
                                     layout=widgets.Layout(flex="1 1 auto", width="auto"), style=style)
        self.features.add_class("sigma-features")
        set_btn = button("Set", "sigma-set-features", "Use these features (says what was added and removed)")
        set_btn.layout.min_width = "60px"  # never squeezed to "S…" by the full-width box
        self.on_click(set_btn, "Set feature list", self.apply_features)
        self.energy.observe(lambda _c: self.run("Energy search", self.search_energy), names="value")
        self.width.observe(lambda _c: self.run("Energy search", self.search_energy), names="value")
        self.tabs = widgets.Tab()
        self.tabs.add_class("sigma-tabs")
        self.images: dict[str, widgets.Image] = {}
        self.spectral = SpectralTab(self, dataset) if has_spectral_features(dataset) else None
        self.tabs.observe(self._tab_opened, names="selected_index")
        self._show_features()
        self.set_body(widgets.HBox([self.energy, self.width]), self.lines, self.add_buttons,
                      widgets.HBox([self.features, set_btn], layout=widgets.Layout(width="100%")), self.tabs)
        self.run("view dataset", self.refresh)

    # ------------------------------------------------------------------ line search
    def search_energy(self) -> str:
        """List the X-ray lines within ``energy ± window``: those of weight ≥ 0.1 (α, β and the
        main M lines) each with a "+ line" button, the weak ones on one line."""
        e, w = float(self.energy.value), float(self.width.value)
        finder = getattr(self.dataset, "lines_near_energy", None)
        if finder is None:
            from ..xray import lines_near_energy as finder
        self.line_hits = list(finder(e, 2 * w))  # the finders take the full window width
        feats = set(self.dataset.feature_list)
        major = [h for h in self.line_hits if h[2] >= 0.1]
        minor = [h for h in self.line_hits if h[2] < 0.1]
        if not self.line_hits:
            self.lines.value = f"<i>No X-ray line within ±{w:g} keV of {e:g} keV.</i>"
        else:
            parts = [f"<b>{n}</b> {en:.4f} keV" + (" <i>(a feature)</i>" if n in feats else "")
                     for n, en, _ in major]
            text = f"Lines within ±{w:g} keV of {e:g} keV, nearest first: " + (" · ".join(parts) or "only weak ones")
            if minor:
                shown = ", ".join(f"{n} {en:.3f}" for n, en, _ in minor[:6])
                more = f", … (+{len(minor) - 6})" if len(minor) > 6 else ""
                text += f"<br><span style='color:#666'>weak lines (weight &lt; 0.1): {shown}{more}</span>"
            self.lines.value = text
        buttons = []
        for n, _, _ in major[:8]:
            b = button(f"+ {n}", "sigma-add-line", f"Add {n} to the feature list")
            b.disabled = n in feats
            b.on_click(lambda _b, n=n: self.run(f"add {n}", self.add_line, n))
            buttons.append(b)
        self.add_buttons.children = buttons
        return (f"{len(self.line_hits)} X-ray lines within ±{w:g} keV of {e:g} keV ({len(minor)} weak)"
                + ("; press + to add one to the features." if major else "."))

    def add_line(self, line: str):
        """Add one line (from the energy search) to the dataset's features."""
        current = list(self.dataset.feature_list)
        if line in current:
            return f"{line} is already a feature."
        return self._set(current + [line])

    # ------------------------------------------------------------------ feature list
    def _show_features(self) -> None:
        self._shown = list(self.dataset.feature_list)
        self.features.value = ", ".join(self._shown)

    def apply_features(self):
        """"Set": apply the box to the dataset, saying what was added and removed.

        If the dataset's list changed elsewhere since the box was filled (e.g. ``Navigator``
        added by ``get_feature_maps_with_nav_img``), only the edit made in the box is applied
        to the current list, so nothing is dropped unseen.
        """
        typed = parse_features(self.features.value)
        current = list(self.dataset.feature_list)
        shown = getattr(self, "_shown", current)
        notes = []
        if current != shown:
            removed = [f for f in shown if f not in typed]
            added = [f for f in typed if f not in shown]
            typed = [f for f in current if f not in removed] + [f for f in added if f not in current]
            notes.append("The dataset's features had changed since this box was filled; your edit was "
                         "applied to its current list")
        dup = sorted({f for f in typed if typed.count(f) > 1})
        if dup:
            notes.append(f"Repeated {', '.join(dup)} counted once")
        return self._set(list(dict.fromkeys(typed)), notes)

    def _set(self, new: list[str], notes=()):
        from ..xray import line_overlaps

        ds = self.dataset
        before = list(ds.feature_list)
        owners = {name: ps for name, ps in segmenters_on(ds).items()}
        ds.set_feature_list(new)
        after = list(ds.feature_list)
        self._show_features()
        self.refresh()
        if self.line_hits:
            self.search_energy()
        removed = [f for f in before if f not in after]
        added = [f for f in after if f not in before]
        msg = f"Feature list set: {len(after)} features ({', '.join(after)})."
        if added:
            msg += f" Added: {', '.join(added)}."
        if removed:
            msg += f" Removed: {', '.join(removed)}."
        if not added and not removed:
            msg += " Unchanged."
        warnings = list(notes)
        fwhm = float(getattr(ds, "fwhm_mnka", 130.0) or 130.0)
        for a, b, d, width, in_list in line_overlaps(after, fwhm):
            if a in added or b in added or (in_list and (a in added or b in added)):
                where = "also a feature" if in_list else "not a feature"
                warnings.append(f"Overlap: {a} and {b} ({where}) are {1000 * d:.0f} eV apart, within the detector "
                                f"FWHM ({1000 * width:.0f} eV): their maps share counts")
        if added or removed:
            stale = []
            for name, ps in owners.items():
                made_on = list(getattr(ps, "feature_list", None) or before)
                if made_on != after:
                    stale.append(name)
            if stale:
                warnings.append(f"The clustering of {', '.join(stale)} was made on the previous features "
                                f"({', '.join(before)}) and belongs to them: rebuild the latent space and "
                                "segmenter, or Set the old list back")
        if warnings:
            return Warning(msg + " " + "; ".join(warnings) + ".")
        return msg

    # ------------------------------------------------------------------ figures
    def refresh(self) -> str:
        """Rebuild every tab from the dataset (and the Feature List box from its list)."""
        ds = self.dataset
        if list(ds.feature_list) != getattr(self, "_shown", None):
            self._show_features()
        feats = list(ds.feature_list)
        panels: list[tuple[str, object, str | None]] = []
        steps = 1 + _has_spectra(ds) + 1 + _is_binned(ds)
        nav = np.asarray(getattr(ds.nav_img, "data", ds.nav_img))
        raw_calib = plot.pixel_size(SimpleNamespace(nav_img=ds.nav_img, nav_img_bin=None))
        with self.busy(steps, "drawing") as step:
            panels.append(("Navigation Signal", plot.plot_nav_image(ds, binned=False).figure,
                           calibration_caption(raw_calib, nav.shape[1])))
            step("navigation")
            if _has_spectra(ds):
                fig = plot.new_figure((9.5, 3.4), layout="constrained")
                plot.plot_sum_spectrum(ds, ax=fig.add_subplot())
                panels.append(("Sum Spectrum", fig, None))
                step("sum spectrum")
            raw = ds.get_feature_maps(feats, raw_data=True)
            panels.append(("Elemental Maps (raw)",
                           plot.plot_feature_maps(raw, feats, units=plot.feature_units(ds, raw=True),
                                                  calibration=raw_calib),
                           calibration_caption(raw_calib, raw.shape[1])))
            step("raw maps")
            if _is_binned(ds):
                maps = ds.get_feature_maps(feats)
                panels.append((processed_maps_title(ds),
                               plot.plot_feature_maps(maps, feats, units=_binned_units(ds), calibration=ds),
                               calibration_caption(ds, maps.shape[1])))
                step("binned maps")
        self.images = {}
        boxes = []
        for title, fig, caption in panels:
            self.images[title], box = _figure_tab(fig, caption)
            boxes.append(box)
        titles = list(self.images)
        if self.spectral is not None:
            boxes.append(self.spectral)
            titles.append(SPECTRAL_TITLE)
            if self.spectral.decomposition is not None:  # the grid may have changed: redraw
                self.spectral.compute()
        self.tabs.children = boxes
        self.tabs.titles = tuple(titles)
        return f"Showing {len(feats)} features in {len(titles)} tabs."

    def _tab_opened(self, change) -> None:
        i = change["new"]
        if (self.spectral is not None and i is not None and i < len(self.tabs.titles)
                and self.tabs.titles[i] == SPECTRAL_TITLE and self.spectral.decomposition is None):
            self.run("Whole-spectrum PCA", self.spectral.compute)


def _binned_units(ds) -> str:
    frac = bool(getattr(ds, "normalised_spectra", False))
    return "fraction of the pixel's counts" if frac else "counts in the line window"


# ----------------------------------------------------------------------------- distributions
class PixelDistributions(Panel):
    """Widget of :func:`sigma.gui.gui.view_pixel_distributions`: one row per feature, one column
    per normalisation stage, a page of ``per_page`` features at a time (``.pager``)."""

    def __init__(self, dataset, norm_list=(), cmap: str = "viridis", per_page: int = 4):
        super().__init__()
        self.add_class("sigma-pixel-distributions")
        self.dataset, self.norm_list, self.cmap = dataset, list(norm_list), cmap
        self.names = list(dataset.feature_list)
        with self.busy(1, "feature maps"):
            self.maps = dataset.get_feature_maps(self.names)
        self.pager = Pager(len(self.names), per_page, noun="feature", names=self.names)
        self.image = png_widget(self._figure())
        self.pager.on_change(lambda: self.run("page", self._redraw))
        self.set_body(self.pager, self.image)
        self.say(f"{len(self.names)} features × {len(self.norm_list) + 1} stages.")

    def _figure(self):
        return plot.plot_pixel_distributions(self.maps, self.names, self.norm_list, cmap=self.cmap,
                                             features=self.pager.items)

    def _redraw(self) -> str:
        set_png(self.image, self._figure())
        shown = [self.names[i] for i in self.pager.items]
        return f"Showing {', '.join(shown)} ({len(self.names)} features × {len(self.norm_list) + 1} stages)."


def intensity_maps_panel(spectra, element_list, cmap: str = "viridis", units=None, calibration=None) -> Panel:
    """Widget of :func:`sigma.gui.gui.view_intensity_maps`."""
    p = Panel()
    p.add_class("sigma-intensity-maps")
    arr = np.asarray(spectra)
    ds = dataset_of(spectra)
    if ds is not None:
        units = units or plot.feature_units(ds)
        calibration = calibration or plot.pixel_size(ds)
    units = units or plot.feature_units(values=arr)
    p.image = png_widget(plot.plot_intensity_maps(arr, element_list, cmap=cmap, units=units,
                                                  calibration=calibration))
    p.set_body(p.image)
    p.say(f"{len(element_list)} maps of {arr.shape[0]}×{arr.shape[1]} px ({units}).")
    return p
