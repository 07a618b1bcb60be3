"""Server-side SVG charts (no script, no CDN, CSP-safe): horizontal bars and a time series.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>``; pages put the same figures in a
data table next to it (the text alternative). Colours are presentation attributes, never inline styles.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

INK = "#1d2733"
BAR = "#1f5f99"
LINE = "#d8dee6"


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:,.2f}"


def bar_chart(rows: Sequence[tuple[str, float]], *, title: str, unit: str = "", width: int = 560,
              bar_height: int = 22) -> Markup:
    """Horizontal bars, one per ``(label, value)``, the value printed at the end of each bar."""
    rows = list(rows)
    label_w, value_w, gap = 190, 90, 6
    height = max(1, len(rows)) * (bar_height + gap) + 10
    peak = max((v for _, v in rows), default=0) or 1
    plot_w = width - label_w - value_w
    desc = "; ".join(f"{label}: {_fmt(v)}{unit}" for label, v in rows) or "—"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" focusable="false">',
             f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>"]
    for i, (label, value) in enumerate(rows):
        y = 5 + i * (bar_height + gap)
        w = max(1.0, plot_w * (value / peak)) if value else 0
        short = label if len(label) <= 16 else label[:15] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" font-size="13" '
                     f'fill="{INK}">{escape(short)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height}" fill="{BAR}"/>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_height * 0.7:.1f}" font-size="13" '
                     f'fill="{INK}">{escape(_fmt(value))}{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(points: Sequence[tuple[str, float]], *, title: str, width: int = 560, height: int = 200) -> Markup:
    """A time series as a polyline with the first and last bucket labelled on the x axis."""
    points = list(points)
    pad_l, pad_b, pad_t = 50, 28, 10
    plot_w, plot_h = width - pad_l - 10, height - pad_b - pad_t
    peak = max((v for _, v in points), default=0) or 1
    desc = "; ".join(f"{t}: {_fmt(v)}" for t, v in points[:200]) or "—"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" focusable="false">',
             f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>",
             f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{pad_l + plot_w}" y2="{pad_t + plot_h}" stroke="{LINE}"/>',
             f'<text x="{pad_l - 6}" y="{pad_t + 10}" text-anchor="end" font-size="12" fill="{INK}">{_fmt(peak)}</text>',
             f'<text x="{pad_l - 6}" y="{pad_t + plot_h}" text-anchor="end" font-size="12" fill="{INK}">0</text>']
    if points:
        step = plot_w / max(1, len(points) - 1)
        coords = " ".join(f"{pad_l + i * step:.1f},{pad_t + plot_h - plot_h * (v / peak):.1f}"
                          for i, (_, v) in enumerate(points))
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{BAR}" stroke-width="2"/>')
        parts.append(f'<text x="{pad_l}" y="{height - 8}" font-size="12" fill="{INK}">{escape(points[0][0])}</text>')
        parts.append(f'<text x="{pad_l + plot_w}" y="{height - 8}" text-anchor="end" font-size="12" '
                     f'fill="{INK}">{escape(points[-1][0])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


PALETTE = ("#b3261e", "#1f6f8b", "#8a6d1d", "#2e7d32", "#6a1b9a", "#455a64")


def grouped_bar_chart(title: str, labels: list[str], series: list[tuple[str, list[float]]], *, unit: str = "",
              percent: bool = False, width: int = 720) -> Markup:
    """Horizontal bars grouped by label, one colour per series (with a legend) as inline SVG (no script, no inline CSS: fits the strict CSP). Every text
    is escaped; the same figures are in the data table beside it."""
    n, k = len(labels), max(len(series), 1)
    bar, gap, left, top = 12, 10, 150, 28
    height = top + n * (k * bar + gap) + 30
    peak = max([v for _n, vals in series for v in vals] + [1e-9])
    scale = (width - left - 90) / peak
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="100%" '
           f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for j, (name, _vals) in enumerate(series):
        x = left + j * 160
        out.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>'
                   f'<text x="{x + 14}" y="15" font-size="11">{escape(name)}</text>')
    for i, label in enumerate(labels):
        y0 = top + i * (k * bar + gap)
        out.append(f'<text x="{left - 6}" y="{y0 + k * bar / 2 + 4}" font-size="11" text-anchor="end">'
                   f'{escape(str(label)[:18])}</text>')
        for j, (_name, vals) in enumerate(series):
            v = vals[i] if i < len(vals) else 0
            w = max(v * scale, 0)
            y = y0 + j * bar
            shown = f"{v:.0%}" if percent else f"{v:,.0f}{unit}"
            out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar - 2}" fill="{PALETTE[j % len(PALETTE)]}">'
                       f'<title>{escape(label)}: {escape(shown)}</title></rect>'
                       f'<text x="{left + w + 4:.1f}" y="{y + bar - 3}" font-size="10">{escape(shown)}</text>')
    out.append("</svg>")
    return Markup("".join(out))
