"""What a scientist sees of a widget on the page: sizes, controls in view, legends, captions.

Nothing here is collected by pytest. :func:`layout_report` scrolls one cell's output to the
top of the notebook and reads, in the browser, every figure's rendered and natural size, every
control's box, the legends, captions and tab labels; :func:`layout_problems` turns that into a
list of what is wrong. :func:`pixels` and :func:`changed_fraction` compare screenshots, so that
a test can say a view *changed on the page*, not only in the kernel.
"""

from __future__ import annotations

import io

#: Read in the browser for one output area (``el``).
_REPORT_JS = """(el) => {
  const vp = {w: window.innerWidth, h: window.innerHeight, dpr: window.devicePixelRatio};
  const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer')
          || document.querySelector('.jp-NotebookPanel-notebook');
  const area = nb ? nb.getBoundingClientRect() : {top: 0, bottom: vp.h, left: 0, right: vp.w};
  const box = (e) => { const r = e.getBoundingClientRect();
                       return {x: r.left, y: r.top, w: r.width, h: r.height, r: r.right, b: r.bottom}; };
  const visible = (e) => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
                           return r.width > 0 && r.height > 0 && s.visibility !== 'hidden'; };
  const figures = [...el.querySelectorAll('img.sigma-figure')].filter(visible).map(e => ({
      natural: [e.naturalWidth, e.naturalHeight], shown: [e.clientWidth, e.clientHeight], box: box(e)}));
  const canvases = [...el.querySelectorAll('canvas')].filter(visible).map(e => ({
      natural: [e.width, e.height], shown: [e.clientWidth, e.clientHeight], box: box(e)}));
  const sel = 'button, select, input, .widget-dropdown, .widget-slider, .widget-toggle-buttons';
  const controls = [...el.querySelectorAll(sel)].filter(visible)
      .filter(e => !e.closest('.bk-toolbar') && !e.closest('.sigma-swatches'))
      .map(e => ({text: (e.innerText || e.value || e.getAttribute('title') || e.tagName).slice(0, 40),
                  box: box(e)}));
  const legends = [...el.querySelectorAll('.sigma-legend')].filter(visible).map(l => ({
      items: [...l.querySelectorAll('.sigma-legend-item')].map(i => ({
          id: i.dataset.cluster, text: i.innerText.trim(),
          colour: getComputedStyle(i.querySelector('.sigma-swatch-box')).backgroundColor}))}));
  const captions = [...el.querySelectorAll('.sigma-calibration')].filter(visible).map(c => c.innerText);
  const tabs = [...el.querySelectorAll('.sigma-tabs .lm-TabBar-tabLabel')].map(t => ({
      text: t.innerText, clipped: t.scrollWidth > t.clientWidth + 1}));
  const status = el.querySelector('.sigma-status');
  return {viewport: vp, area: {top: area.top, bottom: area.bottom, left: area.left, right: area.right},
          output: box(el), figures, canvases, controls, legends, captions, tabs,
          status: status ? {text: status.innerText, classes: [...status.classList]} : null};
}"""


def layout_report(output, settle_ms: int = 400) -> dict:
    """Scroll ``output`` (a cell's output locator) to the top of the notebook, then read it."""
    output.evaluate("e => e.scrollIntoView({block: 'start', inline: 'nearest'})")
    output.page.wait_for_timeout(settle_ms)
    return output.evaluate(_REPORT_JS)


def layout_problems(rep: dict, name: str) -> list[str]:
    """Figures upscaled past their pixels, controls outside the visible notebook area, clipped
    tab titles, figures wider than the notebook."""
    out = []
    dpr = rep["viewport"]["dpr"] or 1
    area = rep["area"]
    for f in rep["figures"]:
        (nw, nh), (cw, ch) = f["natural"], f["shown"]
        if nw < cw * dpr - 1 or nh < ch * dpr - 1:
            out.append(f"{name}: figure of {nw}×{nh} px shown at {cw}×{ch} CSS px (upscaled)")
        if f["box"]["r"] > area["right"] + 1:
            out.append(f"{name}: figure reaches x={f['box']['r']:.0f}, past the notebook's right edge")
    for c in rep["canvases"]:
        (nw, nh), (cw, ch) = c["natural"], c["shown"]
        if nw < cw * dpr - 1 or nh < ch * dpr - 1:
            out.append(f"{name}: canvas of {nw}×{nh} px shown at {cw}×{ch} (upscaled)")
    for c in rep["controls"]:
        b = c["box"]
        if b["y"] < area["top"] - 1 or b["b"] > min(area["bottom"], rep["viewport"]["h"]) + 1:
            out.append(f"{name}: control {c['text']!r} at y={b['y']:.0f}–{b['b']:.0f} is outside the visible "
                       f"notebook area ({area['top']:.0f}–{area['bottom']:.0f}) when the widget's top is shown")
        if b["r"] > area["right"] + 1:
            out.append(f"{name}: control {c['text']!r} reaches x={b['r']:.0f}, past the right edge")
    for t in rep["tabs"]:
        if t["clipped"]:
            out.append(f"{name}: tab title {t['text']!r} is cut")
    return out


def pixels(png: bytes):
    """An ``(H, W, 3)`` uint8 array of a screenshot."""
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def changed_fraction(before: bytes, after: bytes) -> float:
    """Fraction of pixels whose colour changed between two screenshots of the same element."""
    import numpy as np

    a, b = pixels(before), pixels(after)
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    diff = np.abs(a[:h, :w].astype(int) - b[:h, :w].astype(int)).sum(-1) > 30
    return float(diff.mean())
