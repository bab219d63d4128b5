"""One staleness report run, from inputs to the written folder: what ``audit report staleness``
does, callable from Python (``run_staleness``) without the command line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.findings import Finding
from auditor.staleness import StalenessReport, build_report, stale_entries

if TYPE_CHECKING:
    from auditor.progress import Progress
    from auditor.rules import RuleSet


@dataclass(frozen=True)
class Outcome:
    report: StalenessReport
    folder: Path
    files: int

    def summary_line(self) -> str:
        """The one line a cron mail shows."""
        r = self.report
        text = f"staleness {r.as_of.isoformat()}: {r.records:,} records, {len(r.stale):,} stale"
        if r.previous_as_of is not None:
            text += f" ({len(r.newly_stale):,} new, {len(r.fixed):,} fixed, {r.still_stale:,} still)"
        if r.input_errors:
            text += f", {len(r.input_errors):,} inputs with errors"
        return text + f"; wrote {self.folder}/"


def findings_json(findings: Sequence[Finding]) -> str:
    from auditor.reports.findings import REPORTERS

    return _text(REPORTERS["json"](list(findings)))


def findings_csv(findings: Sequence[Finding]) -> str:
    from auditor.reports.findings import REPORTERS

    return _text(REPORTERS["csv"](list(findings)))


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _dumps(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def history_pages(store: Path, report: StalenessReport, *, limit: int) -> dict[str, str]:
    """``history/<NCT>.html`` for the stale and fixed records the page lists (``audit history``'s
    HTML page of each one's snapshots in the store). NCT IDs are validated before they become
    file names."""
    from auditor.history import record_history
    from auditor.records import is_valid_nct_id
    from auditor.reports.history_render import render_html as render_history
    from auditor.store import Store

    shown = report.stale if limit <= 0 else report.stale[:limit]
    wanted = sorted({s.nct_id for s in shown} | {f.nct_id for f in report.fixed if f.after is not None})
    pages: dict[str, str] = {}
    with Store(store) as opened:
        for nct_id in wanted:
            if is_valid_nct_id(nct_id):
                pages[f"history/{nct_id}.html"] = render_history([record_history(opened, nct_id)])
    return pages


def report_files(
    report: StalenessReport, *, table_limit: int, extra: dict[str, str] | None = None
) -> dict[str, bytes]:
    """Every file of a report folder, by name (``extra``: more files, e.g. history pages)."""
    from auditor.reports.staleness_html import render_html
    from auditor.reports.staleness_md import render_markdown

    stale_doc = {
        "schema": "auditor-stale-list/1",
        "as_of": report.as_of.isoformat(),
        "stale": stale_entries(report),
        "fixed": [f.to_dict() for f in report.fixed],
    }
    summary = report.summary_dict()
    summary["history"] = [n.to_dict() for n in report.history]
    extra = extra or {}
    local = frozenset(name.removeprefix("history/").removesuffix(".html") for name in extra)
    files = {
        "index.html": render_html(report, table_limit=table_limit, local_history=local),
        "report.md": render_markdown(report),
        "findings.json": findings_json(report.findings),
        "findings.csv": findings_csv(report.findings),
        "summary.json": _dumps(summary),
        "stale.json": _dumps(stale_doc),
        **extra,
    }
    return {name: text.encode("utf-8") for name, text in files.items()}


def effective_params(rules: RuleSet, given: Mapping[str, str]) -> dict[str, str]:
    """Every parameter of the selected rules with the value used (given, else the default)."""
    out: dict[str, str] = {}
    for rule in rules:
        for name, default in rule.params.items():
            out.setdefault(name, str(given.get(name, default)))
    return dict(sorted(out.items()))


def run_staleness(
    rules: RuleSet,
    *,
    as_of: date,
    params: Mapping[str, str],
    paths: Sequence[str | Path] = (),
    store: Path | None = None,
    out: Path,
    jobs: int | None = None,
    table_limit: int = 5000,
    nights: int = 14,
    chunk_size: int | None = None,
    with_history: bool = False,
    progress: Progress | None = None,
    engine: str = "pandas",
    scheduler: str | None = None,
) -> Outcome:
    """Read, check, compare with the previous report, and write ``out/<as_of>/``.

    ``engine`` / ``scheduler``: where the chunks are parsed and checked (see
    :func:`auditor.staleness_collect.collect`)."""
    from auditor.parallel import default_jobs
    from auditor.reports.staleness_folder import load_history, load_previous, previous_folder, write_folder
    from auditor.staleness_collect import DEFAULT_CHUNK_SIZE, Job, collect, path_units, store_units

    if paths:
        units, errors = path_units(paths)
    else:
        units, errors = store_units(store or Path("snapshots")), []
    if progress is not None:
        progress.set_total(len(units))
    chunk_size = chunk_size or DEFAULT_CHUNK_SIZE
    job = Job(rules=rules, params=dict(params), as_of=as_of)
    collected = collect(
        units,
        job,
        jobs=(jobs or default_jobs()) if len(units) > chunk_size or engine == "dask" else 1,
        chunk_size=chunk_size,
        on_progress=None if progress is None else progress.update,
        engine=engine,
        scheduler=scheduler,
    )
    found = previous_folder(out, as_of)
    previous = load_previous(*found, rules.ids) if found else None
    history = load_history(out, as_of, rules.ids, nights)
    report = build_report(
        collected.summaries,
        collected.findings,
        as_of=as_of,
        rule_ids=rules.ids,
        params=effective_params(rules, params),
        previous=previous,
        history=history,
        input_errors=[*errors, *collected.errors],
    )
    extra = (
        history_pages(store or Path("snapshots"), report, limit=table_limit)
        if with_history and not paths
        else {}
    )
    folder = write_folder(out, as_of.isoformat(), report_files(report, table_limit=table_limit, extra=extra))
    return Outcome(report=report, folder=folder, files=collected.files)
