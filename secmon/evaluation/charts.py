"""Server-side SVG charts (matplotlib, Agg, no display) with a CJK font so Chinese labels render.

SVG text stays text (``svg.fonttype = none``): searchable, selectable, small, and WeasyPrint draws it with the
same font in the PDF. Output is deterministic for the same data (fixed hash salt, no date metadata).
"""

from __future__ import annotations

import io
import os
import threading
from functools import cache

from kernel.errors import CityGovError

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Source Han Sans SC",
                "Noto Sans CJK JP")
_LOCK = threading.Lock()  # pyplot's state machine is not thread-safe; we use the OO API but font caches are shared


class RenderingUnavailable(CityGovError):
    status, code, title = 503, "rendering_unavailable", "Report rendering unavailable"


@cache
def cjk_font() -> str:
    """The family name of an installed CJK font (``CITYGOV_CJK_FONT`` overrides); a clear error if none."""
    from matplotlib import font_manager

    wanted = os.environ.get("CITYGOV_CJK_FONT")
    names = {f.name for f in font_manager.fontManager.ttflist}
    for fam in ((wanted,) if wanted else CJK_FAMILIES):
        if fam in names:
            return fam
    raise RenderingUnavailable(
        (f"font {wanted!r} is not installed" if wanted else "no CJK font is installed")
        + ": install fonts-noto-cjk or fonts-wqy-microhei (Debian) so that Chinese labels render; "
          f"looked for {', '.join((wanted,) if wanted else CJK_FAMILIES)}")


def _plain(value) -> str:
    """Text drawn as is: matplotlib would parse ``$...$`` as mathtext (and fail on a stray ``$``)."""
    return str(value).replace("$", r"\$")


def svg_chart(spec: dict, title: str, *, width: float = 6.4, height: float = 3.0) -> str:
    """An SVG document (string) for a chart spec ``{"kind": bar|barh|line, "labels", "values", "xlabel", "ylabel"}``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    font = cjk_font()
    with _LOCK, matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "citygov-evaluation",
                                       "font.family": "sans-serif", "font.sans-serif": [font, "DejaVu Sans"],
                                       "axes.unicode_minus": False, "font.size": 9}):
        fig = Figure(figsize=(width, height))
        ax = fig.add_subplot()
        labels = [_plain(x) for x in spec.get("labels", [])]
        title = _plain(title)
        values = [float(v) if v is not None else 0.0 for v in spec.get("values", [])]
        kind = spec.get("kind", "bar")
        if kind == "line":
            ax.plot(range(len(values)), values, marker="o" if len(values) < 40 else None, color="#1f5fa8")
            step = max(1, len(labels) // 8)
            ax.set_xticks(range(0, len(labels), step), labels[::step], rotation=30, ha="right")
        elif kind == "barh":
            ax.barh(range(len(values)), values, color="#1f5fa8")
            ax.set_yticks(range(len(labels)), labels)
            ax.invert_yaxis()
        elif kind == "grouped":
            series = spec.get("series", {})
            n = max(len(series), 1)
            w = 0.8 / n
            for i, (name, vals) in enumerate(series.items()):
                ax.bar([x + i * w for x in range(len(labels))], [v if v is not None else 0 for v in vals], w,
                       label=name)
            ax.set_xticks([x + w * (n - 1) / 2 for x in range(len(labels))], labels)
            ax.legend()
        else:
            ax.bar(range(len(values)), values, color="#1f5fa8")
            ax.set_xticks(range(len(labels)), labels, rotation=20 if len(labels) > 4 else 0,
                          ha="right" if len(labels) > 4 else "center")
        ax.set_title(title)
        if spec.get("xlabel"):
            ax.set_xlabel(_plain(spec["xlabel"]))
        if spec.get("ylabel"):
            ax.set_ylabel(_plain(spec["ylabel"]))
        ax.grid(axis="y" if kind != "barh" else "x", alpha=0.3)
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "citygov"})
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]  # inline in HTML: no XML declaration / DOCTYPE
