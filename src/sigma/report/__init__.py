"""Self-contained HTML reports of pipeline runs (figures embedded as base64 PNG)."""

from .html import build_report, img_tag, render_page

__all__ = ["build_report", "img_tag", "render_page"]
