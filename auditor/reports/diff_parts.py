"""What every diff renderer shares: lines by module, the headline, totals, the legend.

Pure functions of a :class:`~auditor.diff.DiffResult` / :class:`~auditor.diff.BatchResult`
(the renderers are :mod:`auditor.reports.diff_render` and :mod:`auditor.reports.diff_html`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from auditor.diff import BatchResult, DiffResult
from auditor.diff.lines import Line
from auditor.diff.modules import module_table

#: Equal runs of more words than this are shortened around the edits.
CONTEXT_WORDS = 6
#: What the marks and grades mean (the legend of every format).
LEGEND = (
    "+ added, - removed, ~ changed, > moved; grades: material (status, key dates, enrollment, "
    "primary outcomes, eligibility, arms), minor (other sponsor content), administrative "
    "(registry dates, contacts, site addresses, identifiers), cosmetic (same value respelled)"
)


# --- shared helpers ------------------------------------------------------------------------


def modules(lines: Iterable[Line]) -> list[tuple[str, list[Line]]]:
    """Lines grouped by History-of-Changes module, in the registry's order of modules."""
    groups: dict[str, list[Line]] = {}
    for line in lines:
        groups.setdefault(line.module, []).append(line)
    order = {label: i for i, label in enumerate(module_table().labels)}
    return sorted(groups.items(), key=lambda kv: order.get(kv[0], len(order)))


def shorten(ops: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Word-diff ops with long unchanged runs cut to a few words of context around edits."""
    out: list[tuple[str, str]] = []
    last = len(ops) - 1
    for i, (op, text) in enumerate(ops):
        words = text.split(" ")
        if op != "equal" or len(words) <= 2 * CONTEXT_WORDS:
            out.append((op, text))
            continue
        head = " ".join(words[:CONTEXT_WORDS])
        tail = " ".join(words[-CONTEXT_WORDS:])
        if i == 0:
            out.append(("equal", "… " + tail))
        elif i == last:
            out.append(("equal", head + " …"))
        else:
            out.append(("equal", f"{head} … {tail}"))
    return out


def totals(result: DiffResult) -> str:
    n, meta = len(result.changes), len(result.metadata)
    if n == 0:
        text = "no study changes" if meta or result.hidden else "no changes"
    else:
        text = f"{n} study change{'s' if n != 1 else ''}"
        extras = []
        if result.flagged:
            extras.append(f"{len(result.flagged)} flagged")
        cosmetic = sum(1 for c in result.changes if c.cosmetic)
        if cosmetic:
            extras.append(f"{cosmetic} cosmetic")
        for verb, count in result.items().items():
            if count:
                extras.append(f"{count} list item{'s' if count != 1 else ''} {verb}")
        if extras:
            text += f" ({', '.join(extras)})"
    if result.hidden:
        text += f"; {result.hidden} below {result.min_grade} not shown"
    if meta:
        text += f"; {meta} metadata change{'s' if meta != 1 else ''}"
    return text


def module_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{label} {n}" for label, n in counts.items()) or "none"


def headline_lines(result: DiffResult) -> list[str]:
    """The headline sentences, then the module and grade counts."""
    head = result.headline
    out = head.lines()
    if result.changes:
        out.append(f"by module: {module_counts(result.by_module())}")
        out.append(f"by grade: {module_counts(result.by_grade())}")
    return out


def notes(result: DiffResult) -> list[str]:
    out = list(result.notes)
    if result.repeated:
        n = len(result.repeated)
        out.append(f"{n} change{'s' if n != 1 else ''} of the summary block repeat body changes (shown once)")
    return out


def snapshot_line(record: Any) -> str:
    stamp = f", Ignite modified {record.ignite_modified:%Y-%m-%d %H:%M}" if record.ignite_modified else ""
    return f"{record.source.path} ({record.source.format}{stamp})"


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def one_line(text: str) -> str:
    """One line, with control characters (an ESC from a hostile file) shown as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", " ".join(text.split()))


def batch_totals(batch: BatchResult) -> str:
    counts = batch.counts()
    parts = [f"{n} {state.replace('_', ' ')}" for state, n in counts.items()]
    return f"{len(batch.studies)} studies ({', '.join(parts) or 'none'})"


def batch_rollup(batch: BatchResult) -> list[str]:
    """The registry-wide lines: status transitions (alarms first), modules, grades, sponsors."""
    out = [f"status {t.text().removeprefix('status ')} — {n}" for n, t in batch.status_transitions()]
    if batch.changed:
        out.append(f"studies changed by module: {module_counts(batch.studies_by_module())}")
        out.append(f"studies by gravest change: {module_counts(batch.by_grade())}")
        sponsors = list(batch.by_sponsor().items())
        text = ", ".join(f"{s} {n}" for s, n in sponsors[:10])
        more = f", … ({len(sponsors) - 10} more)" if len(sponsors) > 10 else ""
        out.append(f"changed studies by sponsor: {text}{more}")
    return out


def batch_problems(batch: BatchResult) -> list[str]:
    out = [f"{s.nct_id}: {s.error}" for s in batch.studies if s.state == "error"]
    for state, what in (("only_old", "only in OLD"), ("only_new", "only in NEW")):
        ids = [s.nct_id for s in batch.studies if s.state == state]
        if ids:
            shown = ", ".join(ids[:20]) + (f", … ({len(ids) - 20} more)" if len(ids) > 20 else "")
            out.append(f"{what}: {shown}")
    return out
