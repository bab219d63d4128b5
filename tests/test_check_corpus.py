"""The rules over the whole corpus agree with counts made straight from the raw files
(:mod:`corpus_oracle`: json / ElementTree, none of our readers), rule by rule and record by
record: each oracle below is the rule's definition (its rationale and source) written again
in plain Python over the raw values, not a translation of its YAML."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from corpus_oracle import Raw, days, parse, plus, raw_files

from auditor.check import check_pairs, check_table
from auditor.errors import InputError
from auditor.readers import read_paths
from auditor.records import Record
from auditor.rules import load_rules

AS_OF = date(2026, 1, 5)
ACTIVE = {"RECRUITING", "NOT_YET_RECRUITING", "ACTIVE_NOT_RECRUITING", "ENROLLING_BY_INVITATION"}
FINAL_RULE = date(2017, 1, 18)  # 42 CFR 11 effective date; TrialsTracker's ACT / pACT cut-off
FDAAA = date(2007, 9, 27)
RULES = load_rules()


def first(text: str) -> date | None:
    found = days(text)
    return None if found is None else found[0]


def last(text: str) -> date | None:
    found = days(text)
    return None if found is None else found[1]


def _before(day: date | None, limit: date) -> bool:
    return day is not None and day < limit


def _on_or_after(text: str, limit: date) -> bool:
    day = first(text)
    return day is not None and day >= limit


def verified_more_than(r: Raw, years: int = 0, months: int = 0) -> bool:
    return _before(last(r.verified), plus(AS_OF, years=-years, months=-months))


# ---------------------------------------------------------------- record rules, as defined


def applicable(r: Raw) -> bool:
    """FDAAA TrialsTracker's ACT or pACT (with the FDA-regulation fields), view.sql."""
    return (
        r.study_type == "INTERVENTIONAL"
        and (r.drug is True or r.device is True)
        and any(p in {"PHASE2", "PHASE3", "PHASE4", "NA"} for p in r.phases)
        and r.purpose != "DEVICE_FEASIBILITY"
        and r.status != "WITHDRAWN"
        and bool(r.start)
        and (
            _on_or_after(r.start, FINAL_RULE)
            or _on_or_after(r.pcd, FINAL_RULE)
            or (not r.pcd and _on_or_after(r.cd, FINAL_RULE))
        )
    )


def no_results(r: Raw) -> bool:
    return not r.results_submit and r.has_results is not True


def due(r: Raw, years: int, extra_days: int) -> bool:
    """Primary completion (else completion) + years + days is before the as-of day."""
    end = last(r.pcd) if r.pcd else last(r.cd)
    return end is not None and plus(end, years=years, days_=extra_days) < AS_OF


def results_overdue(r: Raw) -> bool:
    return applicable(r) and no_results(r) and due(r, 1, 30) and (not r.disposition or due(r, 3, 30))


def past_estimated(text: str, kind: str) -> bool:
    end = last(text)
    return kind == "ESTIMATED" and end is not None and plus(end, days_=30) < AS_OF


RECORD_ORACLES: dict[str, Callable[[Raw], bool]] = {
    "results-overdue": results_overdue,
    "applicable-trial-unverified": lambda r: (
        applicable(r) and no_results(r) and verified_more_than(r, months=12)
    ),
    "completed-without-actual-dates": lambda r: (
        r.status == "COMPLETED" and "ESTIMATED" in (r.pcd_type, r.cd_type)
    ),
    "actual-completion-estimated-enrollment": lambda r: (
        r.pcd_type == "ACTUAL" and r.enrollment_type == "ESTIMATED"
    ),
    "completed-with-no-enrollment": lambda r: r.status == "COMPLETED" and r.enrollment == 0,
    "withdrawn-with-enrollment": lambda r: (
        r.status == "WITHDRAWN" and r.enrollment_type == "ACTUAL" and (r.enrollment or 0) > 0
    ),
    "primary-outcome-missing": lambda r: (
        r.study_type in ("INTERVENTIONAL", "OBSERVATIONAL")
        and _on_or_after(r.first_submit, FDAAA)
        and not r.outcomes
    ),
    "primary-outcome-without-time-frame": lambda r: (
        _on_or_after(r.first_submit, FDAAA) and any(not time_frame.strip() for _, time_frame in r.outcomes)
    ),
    "past-date-still-estimated": lambda r: (
        r.status not in ("WITHDRAWN", "UNKNOWN")
        and any(
            past_estimated(text, kind)
            for text, kind in ((r.start, r.start_type), (r.pcd, r.pcd_type), (r.cd, r.cd_type))
        )
    ),
    "registered-after-start": lambda r: (
        r.study_type == "INTERVENTIONAL"
        and r.start_type == "ACTUAL"
        and first(r.first_submit) is not None
        and last(r.start) is not None
        and first(r.first_submit) > plus(last(r.start), days_=21)  # type: ignore[arg-type,operator]
    ),
    "active-status-would-be-unknown": lambda r: (
        r.status in ACTIVE and _before(last(r.cd), AS_OF) and verified_more_than(r, years=2)
    ),
    "suspended-unverified": lambda r: r.status == "SUSPENDED" and verified_more_than(r, years=2),
    "stop-reason-too-long": lambda r: len(r.why_stopped or "") > 250,
    # Ignite pages only; the corpus is JSON and XML, whose summaries are whole: never a finding.
    "brief-summary-cut-off": lambda r: False,
    "unknown-status-stale": lambda r: r.status == "UNKNOWN" and verified_more_than(r, years=2),
    "active-status-unverified": lambda r: r.status in ACTIVE and verified_more_than(r, years=2),
}


@pytest.fixture(scope="module")
def corpus_findings(full_corpus_table: Any) -> Counter[tuple[str, str]]:
    findings = check_table(full_corpus_table, RULES, as_of=AS_OF)
    return Counter((f.rule_id, f.nct_id) for f in findings)


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize("rule_id", sorted(RECORD_ORACLES))
def test_record_rule_agrees_with_the_raw_files(
    rule_id: str, corpus_snapshots: list[Raw], corpus_findings: Counter[tuple[str, str]]
) -> None:
    """Per NCT ID, the number of snapshots the rule finds equals the oracle's count."""
    expected = Counter(r.nct_id for r in corpus_snapshots if RECORD_ORACLES[rule_id](r))
    ours = Counter({nct: n for (rule, nct), n in corpus_findings.items() if rule == rule_id})
    assert ours == expected


@pytest.mark.corpus
@pytest.mark.slow
def test_the_corpus_exercises_the_compliance_rules(corpus_findings: Counter[tuple[str, str]]) -> None:
    """The agreement above is not 0 = 0: the corpus breaks most of the new rules many times."""
    per_rule = Counter()
    for (rule, _), n in corpus_findings.items():
        per_rule[rule] += n
    assert per_rule["results-overdue"] > 50 and per_rule["active-status-would-be-unknown"] > 100
    busy = [rule for rule in RECORD_ORACLES if per_rule[rule] > 0]
    assert len(busy) >= 12, per_rule


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize("years", [2, 5])
def test_staleness_counts_follow_the_years_parameter(
    corpus_snapshots: list[Raw], full_corpus_table: Any, years: int
) -> None:
    rules = RULES.select(["unknown-status-stale", "active-status-unverified"])
    findings = check_table(full_corpus_table, rules, as_of=AS_OF, params={"years": years})
    for rule_id, statuses in (("unknown-status-stale", {"UNKNOWN"}), ("active-status-unverified", ACTIVE)):
        expected = Counter(
            r.nct_id for r in corpus_snapshots if r.status in statuses and verified_more_than(r, years=years)
        )
        assert Counter(f.nct_id for f in findings if f.rule_id == rule_id) == expected
        if rule_id == "unknown-status-stale":
            assert sum(expected.values()) > 100  # the corpus has hundreds of UNKNOWN records


# ---------------------------------------------------------------- pair and history rules


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def outcome_switched(old: Raw, new: Raw) -> bool:
    if new.start_type != "ACTUAL" or first(old.last_update_submit) is None or last(new.start) is None:
        return False
    if not first(old.last_update_submit) > last(new.start):  # type: ignore[operator]
        return False
    before = {_norm(m): set() for m, _ in old.outcomes if _norm(m)}
    after = {_norm(m): set() for m, _ in new.outcomes if _norm(m)}
    for outcomes, into in ((old.outcomes, before), (new.outcomes, after)):
        for measure, time_frame in outcomes:
            if _norm(measure):
                into[_norm(measure)].add(_norm(time_frame))
    return before.keys() != after.keys() or any(before[k] != after[k] for k in before.keys() & after.keys())


def sites(r: Raw) -> set[tuple[str, ...]]:
    return {site for site in (tuple(_norm(v) for v in s) for s in r.sites) if any(site)}


def pushed_later(old_text: str, new_text: str) -> bool:
    old_end, new_start = last(old_text), first(new_text)
    return old_end is not None and new_start is not None and old_end < new_start


PAIR_ORACLES: dict[str, Callable[[Raw, Raw], bool]] = {
    "actual-start-moved-earlier": lambda o, n: (
        o.start_type == n.start_type == "ACTUAL" and pushed_later(n.start, o.start)
    ),
    "outcome-switched-after-start": outcome_switched,
    "completed-status-late": lambda o, n: (
        n.status == "COMPLETED"
        and o.status != "COMPLETED"
        and first(o.last_update_submit) is not None
        and last(n.cd) is not None
        and first(o.last_update_submit) > plus(last(n.cd), days_=30)  # type: ignore[arg-type,operator]
    ),
    "sites-changed": lambda o, n: sites(o) != sites(n),
}

#: The corpus sets with real version histories (one folder per study, files in capture order).
VERSION_SETS = (
    "partrita__clinicaltrial-watch-tigit/versions",
    "ctti-clinicaltrials__aact/xml_versions",
    "ctti-clinicaltrials__aact/json_versions",
)


def _histories_raw(root: Path) -> dict[str, list[Raw]]:
    out: dict[str, list[Raw]] = {}
    for name, data in raw_files(root):
        for raw in parse(name, data):
            out.setdefault(raw.nct_id, []).append(raw)
    return out


def _histories_ours(root: Path) -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = {}
    for item in read_paths([root]):
        if not isinstance(item, InputError):
            out.setdefault(item.nct_id, []).append(item)
    return out


@pytest.fixture(scope="module")
def version_histories(corpus_dir: Path) -> tuple[dict[str, list[Raw]], dict[str, list[Record]]]:
    raw: dict[str, list[Raw]] = {}
    ours: dict[str, list[Record]] = {}
    for name in VERSION_SETS:
        raw.update(_histories_raw(corpus_dir / name))
        ours.update(_histories_ours(corpus_dir / name))
    assert raw.keys() == ours.keys() and sum(len(v) - 1 for v in raw.values()) > 200
    return raw, ours


@pytest.fixture(scope="module")
def pair_findings(version_histories: Any) -> Counter[tuple[str, str]]:
    _, ours = version_histories
    pairs = [pair for records in ours.values() for pair in itertools.pairwise(records)]
    return Counter((f.rule_id, f.nct_id) for f in check_pairs(pairs, RULES, as_of=AS_OF))


@pytest.mark.corpus
@pytest.mark.parametrize("rule_id", sorted(PAIR_ORACLES))
def test_pair_rule_agrees_with_the_raw_files(
    rule_id: str, version_histories: Any, pair_findings: Counter[tuple[str, str]]
) -> None:
    raw, _ = version_histories
    expected = Counter(
        nct
        for nct, versions in raw.items()
        for o, n in itertools.pairwise(versions)
        if PAIR_ORACLES[rule_id](o, n)
    )
    assert Counter({nct: k for (rule, nct), k in pair_findings.items() if rule == rule_id}) == expected


@pytest.mark.corpus
def test_completion_date_slipping_agrees_with_the_raw_files(
    version_histories: Any, pair_findings: Counter[tuple[str, str]]
) -> None:
    raw, _ = version_histories
    expected = Counter(
        nct
        for nct, versions in raw.items()
        if sum(
            pushed_later(o.pcd, n.pcd) or pushed_later(o.cd, n.cd) for o, n in itertools.pairwise(versions)
        )
        >= 3
    )
    assert (
        Counter({nct: k for (rule, nct), k in pair_findings.items() if rule == "completion-date-slipping"})
        == expected
    )
