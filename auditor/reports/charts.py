"""The nightly page's charts as inline SVG drawn by matplotlib, with deterministic bytes:
matplotlib's SVG ids are salted with a fixed string, no date or version is written into the SVG
metadata, and every series is in a fixed order."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

from auditor.staleness import AGE_BUCKETS, NightCounts, StalenessReport

#: One colour per status, stable across reports (UNKNOWN stands out; active statuses warm).
STATUS_COLOURS: dict[str, str] = {
    "UNKNOWN": "#c0392b",
    "RECRUITING": "#e67e22",
    "NOT_YET_RECRUITING": "#f1c40f",
    "ACTIVE_NOT_RECRUITING": "#d35400",
    "ENROLLING_BY_INVITATION": "#f5b041",
    "SUSPENDED": "#8e44ad",
    "COMPLETED": "#2e86c1",
    "TERMINATED": "#5d6d7e",
    "WITHDRAWN": "#aab7b8",
    "AVAILABLE": "#17a589",
    "NO_LONGER_AVAILABLE": "#7dcea0",
    "TEMPORARILY_NOT_AVAILABLE": "#45b39d",
    "APPROVED_FOR_MARKETING": "#1abc9c",
    "WITHHELD": "#566573",
    "OTHER": "#d5d8dc",
}


# --- charts ----------------------------------------------------------------------------------


def _svg(figure: Any, salt: str) -> str:
    """A matplotlib figure as an inline ``<svg>`` element with deterministic bytes."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none", "svg.id": salt}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    svg = text[text.find("<svg") :].strip()
    # Two charts share one page: prefix matplotlib's ids (axes_1, patch_1 …) and references to them.
    svg = re.sub(r'\bid="(?!' + re.escape(salt) + r'")', f'id="{salt}-', svg)
    svg = svg.replace('href="#', f'href="#{salt}-').replace("url(#", f"url(#{salt}-")
    return svg


def _rc() -> Any:  # matplotlib types rc keys as a Literal of every rcParam name
    return {
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "text.parse_math": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.fonttype": "none",
    }


def age_status_chart(report: StalenessReport) -> str:
    """Stacked bars: all records by years since status verification, coloured by status."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    statuses = [g.name for g in report.by_status]
    with matplotlib.rc_context(_rc()):
        figure = Figure(figsize=(8.0, 3.6))
        axes = figure.add_subplot()
        bottoms = [0] * len(AGE_BUCKETS)
        for status in statuses:
            heights = [report.by_age_status[b].get(status, 0) for b in AGE_BUCKETS]
            axes.bar(
                AGE_BUCKETS,
                heights,
                bottom=bottoms,
                label=status,
                color=STATUS_COLOURS.get(status, STATUS_COLOURS["OTHER"]),
                width=0.7,
            )
            bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
        for x, total in enumerate(bottoms):
            if total:
                axes.annotate(
                    f"{total:,}",
                    (x, total),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    xytext=(0, 2),
                    textcoords="offset points",
                )
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("years since the status was last verified")
        axes.set_ylabel("records")
        axes.margins(y=0.12)
        if statuses:
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
        figure.subplots_adjust(left=0.09, right=0.72, bottom=0.15, top=0.95)
        return _svg(figure, "auditor-age")


def trend_chart(history: Sequence[NightCounts]) -> str:
    """Stale records per night (line) over newly stale and fixed per night (bars) and the
    studies with a material change that night (line, for nights with a "what changed" section)."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    labels = [n.as_of.isoformat()[5:] for n in history]
    xs = list(range(len(history)))
    with matplotlib.rc_context(_rc()):
        figure = Figure(figsize=(8.0, 3.2))
        top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
        top.plot(xs, [n.stale for n in history], marker="o", color=STATUS_COLOURS["UNKNOWN"])
        for x, night in zip(xs, history, strict=True):
            top.annotate(
                f"{night.stale:,}",
                (x, night.stale),
                ha="center",
                va="bottom",
                fontsize=8,
                xytext=(0, 3),
                textcoords="offset points",
            )
        top.set_ylabel("stale")
        top.yaxis.set_major_locator(MaxNLocator(integer=True))
        top.margins(y=0.3)
        top.set_ylim(bottom=0)
        width = 0.38
        newly = [n.newly_stale or 0 for n in history]
        fixed = [n.fixed or 0 for n in history]
        bottom.bar([x - width / 2 for x in xs], newly, width, label="newly stale", color="#e67e22")
        bottom.bar([x + width / 2 for x in xs], fixed, width, label="fixed", color="#27ae60")
        if any(n.material is not None for n in history):
            material = [n.material or 0 for n in history]
            bottom.plot(xs, material, marker="s", color="#6c3483", label="material changes")
        bottom.set_ylabel("per night")
        bottom.yaxis.set_major_locator(MaxNLocator(integer=True))
        bottom.set_xticks(xs, labels)
        bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
        figure.subplots_adjust(left=0.09, right=0.84, bottom=0.12, top=0.95, hspace=0.15)
        return _svg(figure, "auditor-trend")
