"""The rule language's lists, date arithmetic, field-vs-field comparisons, pair and history
operators, per-rule parameters and ``--ignore``: what a rule author writes and what a user of
``audit check`` / ``audit rules`` sees."""

from __future__ import annotations

import itertools
import json
from datetime import date
from pathlib import Path

import pytest
from rules_harness import build_record

from auditor.check import check_pairs, check_records
from auditor.cli import main
from auditor.errors import UsageError
from auditor.findings import HISTORY_FINDING_TYPES
from auditor.rules import load_rules
from auditor.rules.compile import compile_rules
from auditor.rules.explain import explain_text
from auditor.rules.spec import RuleErrors, parse_rule_text
from auditor.table import records_table

AS_OF = date(2026, 1, 5)
HEAD = """\
rules:
  - id: my-rule
    title: A rule
    severity: warning
    rationale: Because.
    source: a test
"""


def _rules(body: str) -> object:
    from auditor.rules import RuleSet

    return RuleSet(tuple(parse_rule_text(HEAD + body, "r.yaml")))


def _errors(body: str) -> list[str]:
    with pytest.raises(RuleErrors) as info:
        parse_rule_text(HEAD + body, "r.yaml")
    return [e.one_line() for e in info.value.errors]


def _finds(body: str, record: dict[str, object], as_of: date = AS_OF) -> bool:
    return bool(check_records([build_record(record)], _rules(body), as_of=as_of))  # type: ignore[arg-type]


# ---------------------------------------------------------------- lists


def test_a_list_reaches_the_table_as_a_count_and_its_items() -> None:
    record = build_record(
        {
            "format": "json",
            "lists": {"primary_outcomes": [{"measure": "OS", "time_frame": "5 years"}, {"measure": "PFS"}]},
        }
    )
    row = records_table([record]).iloc[0]
    assert row["primary_outcomes__count"] == 2
    assert json.loads(row["primary_outcomes.time_frame"]) == ["5 years", None]
    assert row["locations__count"] == 0  # JSON: an absent list is an empty one
    ignite = records_table([build_record({"fields": {"brief_title": "x"}})]).iloc[0]
    assert ignite["locations__count"] is not None and str(ignite["locations__count"]) == "<NA>"


def test_legacy_xml_phases_and_v2_phases_are_the_same_codes() -> None:
    xml = build_record({"format": "xml", "lists": {"phases": ["PHASE1", "PHASE2"]}})
    json_ = build_record({"format": "json", "lists": {"phases": ["PHASE1", "PHASE2"]}})
    table = records_table([xml, json_])
    assert table["phases"].tolist() == ['["PHASE1","PHASE2"]', '["PHASE1","PHASE2"]']


@pytest.mark.parametrize(
    ("when", "lists", "found"),
    [
        ("count: {list: primary_outcomes, eq: 0}", {}, True),
        (
            "count: {list: primary_outcomes, gt: 1}",
            {"primary_outcomes": [{"measure": "A"}, {"measure": "B"}]},
            True,
        ),
        (
            "count: {list: primary_outcomes, where: {missing: time_frame}, eq: 1}",
            {"primary_outcomes": [{"measure": "A"}, {"measure": "B", "time_frame": "1 y"}]},
            True,
        ),
        (
            "any: {list: conditions, where: {matches: {field: value, pattern: '.*ancer.*'}}}",
            {"conditions": ["Lung Cancer", "COPD"]},
            True,
        ),
        (
            "all: {list: conditions, where: {matches: {field: value, pattern: '.*ancer.*'}}}",
            {"conditions": ["Lung Cancer", "COPD"]},
            False,
        ),
        ("all: {list: conditions, where: {present: value}}", {}, False),  # nothing seen, nothing certain
        (
            "any: {list: locations, where: {eq: {field: status, value: Recruiting}}}",
            {"locations": [{"facility": "X", "status": "RECRUITING"}]},
            True,
        ),
    ],
)
def test_list_operators(when: str, lists: dict[str, object], found: bool) -> None:
    assert _finds(f"    when: {{{when}}}\n", {"format": "json", "lists": lists}) is found


def test_no_list_operator_finds_anything_where_the_snapshot_cannot_show_the_list() -> None:
    assert not _finds(
        "    when: {count: {list: primary_outcomes, eq: 0}}\n", {"fields": {"brief_title": "x"}}
    )


def test_length_counts_characters_of_the_text_as_written() -> None:
    body = "    when: {length: {field: why_stopped, gt: 3}}\n"
    assert _finds(body, {"fields": {"why_stopped": "abcd"}})
    assert not _finds(body, {"fields": {"why_stopped": "abc"}})


# ---------------------------------------------------------------- dates and fields


@pytest.mark.parametrize(
    ("when", "fields", "found"),
    [
        (
            "later_than: {field: first_submit_date, than: start_date, by: 21d}",
            {"first_submit_date": "2020-03-23", "start_date": "2020-03-01"},
            True,
        ),
        (
            "later_than: {field: first_submit_date, than: start_date, by: 21d}",
            {"first_submit_date": "2020-03-22", "start_date": "2020-03-01"},
            False,
        ),
        (
            "earlier_than: {field: completion_date, than: as_of, by: 1y}",
            {"completion_date": "2025-01-04"},
            True,
        ),
        (
            "earlier_than: {field: completion_date, than: as_of, by: 1y}",
            {"completion_date": "2025-01"},
            False,
        ),
        ("later_than: {field: start_date, than: 2017-01-18}", {"start_date": "2017-02"}, True),
        ("later_than: {field: start_date, than: 2017-01-18}", {"start_date": "2017-01"}, False),
        ("lt: {field: enrollment_count, other: enrollment_count}", {"enrollment_count": "5"}, False),
        (
            "ge: {field: completion_date, other: primary_completion_date}",
            {"completion_date": "2021-06", "primary_completion_date": "2021-05-31"},
            True,
        ),
        (
            "ge: {field: completion_date, other: primary_completion_date}",
            {"completion_date": "2021-06", "primary_completion_date": "2021-06-02"},
            False,
        ),
    ],
)
def test_date_arithmetic_and_field_against_field(when: str, fields: dict[str, str], found: bool) -> None:
    assert _finds(f"    when: {{{when}}}\n", {"fields": fields}) is found


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "    when: {count: {list: primary_outcome, eq: 0}}\n",
            "when.count.list: unknown list 'primary_outcome'",
        ),
        (
            "    when: {count: {list: primary_outcomes}}\n",
            "when.count: give exactly one of eq, ne, lt, le, gt, ge",
        ),
        ("    when: {any: {list: primary_outcomes}}\n", "when.any: 'list' needs 'where'"),
        (
            "    when: {any: {list: primary_outcomes, where: {missing: timeframe}}}\n",
            "'timeframe' is not a sub-field of primary_outcomes items (measure, time_frame, description)",
        ),
        (
            "    when: {any: {list: locations, where: {count: {list: arms, eq: 0}}}}\n",
            "when.any.where.count: cannot stand inside where:",
        ),
        (
            "    when: {earlier_than: {field: completion_date, than: as_of, by: 30}}\n",
            "when.earlier_than.by: expected a period like 30d, 18m, 1y or 1y30d, got 30",
        ),
        (
            "    when: {later_than: {field: completion_date, than: overall_status}}\n",
            "'overall_status' is a enum field; than needs a date field, as_of or a date",
        ),
        (
            "    when: {items_added: {list: locations}}\n",
            "when.items_added: compares two snapshots: only in scope: pair (or history) rules",
        ),
        (
            "    scope: pair\n    when: {repeatedly: {condition: {changed: start_date}, times: 2}}\n",
            "when.repeatedly: reads a record's whole history: only in scope: history rules",
        ),
        (
            "    scope: pair\n    when: {items_changed: {list: primary_outcomes, in: timeframe}}\n",
            "'timeframe' is not a sub-field of primary_outcomes",
        ),
        (
            "    when: {present: brief_title}\n    message: 'n: {added(locations)}'\n",
            "{added(locations)}: pair rules may count added(list) or removed(list) items",
        ),
        (
            "    params: {by: 30d}\n"
            "    when: {earlier_than: {field: completion_date, than: as_of, by: $by}}\n",
            None,
        ),
    ],
)
def test_language_errors_name_file_line_and_path(body: str, expected: str | None) -> None:
    if expected is None:
        assert _rules(body)
        return
    errors = _errors(body)
    assert any(expected in e for e in errors), errors
    assert all(e.startswith("r.yaml:") for e in errors)


def test_a_period_parameter_given_badly_is_a_usage_error_naming_the_rule() -> None:
    rules = _rules(
        "    params: {by: 30d}\n    when: {earlier_than: {field: completion_date, than: as_of, by: $by}}\n"
    )
    with pytest.raises(UsageError, match=r"rule my-rule: .*by: expected a period like 30d"):
        compile_rules(list(rules), as_of=AS_OF, params={"my-rule.by": "30"})  # type: ignore[call-overload]


# ---------------------------------------------------------------- pairs and histories


def test_pair_operators_match_list_items_by_identity() -> None:
    body = (
        "    scope: pair\n"
        "    when: {any: [{items_added: {list: locations}}, {items_removed: {list: locations}}]}\n"
        "    message: '{added(locations)} added, {removed(locations)} removed'\n"
    )
    site = {"facility": "Mayo Clinic", "city": "Rochester", "country": "United States"}
    old = build_record({"format": "json", "lists": {"locations": [site]}})
    same = build_record({"format": "json", "lists": {"locations": [{**site, "facility": "MAYO  clinic"}]}})
    more = build_record({"format": "json", "lists": {"locations": [site, {**site, "city": "Phoenix"}]}})
    rules = _rules(body)
    assert not check_pairs([(old, same)], rules, as_of=AS_OF)  # type: ignore[arg-type]
    (finding,) = check_pairs([(old, more)], rules, as_of=AS_OF)  # type: ignore[arg-type]
    assert finding.message == "1 added, 0 removed"


def test_repeatedly_counts_along_each_record_history_and_finds_once() -> None:
    body = (
        "    scope: history\n"
        "    when:\n      repeatedly:\n        times: 2\n"
        "        condition: {shifted_by_more_than: {field: completion_date, days: 0}}\n"
    )
    dates = ["2020-01", "2020-06", "2021-01", "2021-06"]
    one = [build_record({"nct_id": "NCT00000001", "fields": {"completion_date": d}}) for d in dates]
    other = [build_record({"nct_id": "NCT00000002", "fields": {"completion_date": d}}) for d in dates[:2]]
    pairs = list(itertools.pairwise(one)) + list(itertools.pairwise(other))
    findings = check_pairs(pairs, _rules(body), as_of=AS_OF)  # type: ignore[arg-type]
    assert [f.nct_id for f in findings] == ["NCT00000001"]


# ---------------------------------------------------------------- the catalogue and the CLI


def test_every_rule_cites_a_source_and_every_compliance_rule_a_url() -> None:
    for rule in load_rules():
        assert rule.source.strip() and rule.rationale.strip()
        if "compliance" in rule.tags:
            assert "https://" in rule.source, rule.id


def test_history_checks_are_catalogued_with_the_severity_the_store_gives_them() -> None:
    rules = load_rules()
    assert [b.id for b in rules.builtins] == [t.id for t in HISTORY_FINDING_TYPES]
    assert rules.select(["history-duplicate-content"]).builtins[0].id == "history-duplicate-content"
    assert not rules.ignore(["history"]).builtins
    assert "Computed from the snapshot store" in explain_text(rules.get("history-creation-date-changed"))


def test_explain_shows_item_conditions_and_pair_conditions() -> None:
    rules = load_rules()
    text = explain_text(rules.get("primary-outcome-without-time-frame"))
    assert (
        "any list: primary_outcomes" in text
        and "where the item:" in text
        and "missing field: time_frame" in text
    )
    text = explain_text(rules.get("completion-date-slipping"))
    assert "repeatedly times: $times" in text and "the pair condition:" in text
    assert "Parameters (override with --param completion-date-slipping.NAME=VALUE):" in text


def test_rules_list_shows_the_new_rules_with_tags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "list"]) == 0
    out = capsys.readouterr().out
    assert "results-overdue" in out and "[compliance, results, fdaaa]" in out
    assert "history-duplicate-content" in out and "store" in out
    assert main(["rules", "list", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rules"]
    assert {"results-overdue", "sites-changed", "history-creation-date-changed"} <= {r["id"] for r in rows}


@pytest.fixture
def overdue(tmp_path: Path) -> Path:
    """An API v2 study: a phase 3 drug trial whose results are a year overdue, recruiting status
    left unverified."""
    study = {
        "protocolSection": {
            "identificationModule": {"nctId": "NCT01234567", "briefTitle": "A trial."},
            "statusModule": {
                "overallStatus": "COMPLETED",
                "statusVerifiedDate": "2023-01",
                "startDateStruct": {"date": "2019-03-01", "type": "ACTUAL"},
                "primaryCompletionDateStruct": {"date": "2023-12-01", "type": "ACTUAL"},
                "completionDateStruct": {"date": "2023-12-01", "type": "ACTUAL"},
                "studyFirstSubmitDate": "2019-02-01",
            },
            "oversightModule": {"isFdaRegulatedDrug": True, "isFdaRegulatedDevice": False},
            "designModule": {"studyType": "INTERVENTIONAL", "phases": ["PHASE3"]},
            "outcomesModule": {"primaryOutcomes": [{"measure": "OS", "timeFrame": "5 years"}]},
        },
        "hasResults": False,
    }
    path = tmp_path / "NCT01234567.json"
    path.write_text(json.dumps(study))
    return path


def _check(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    code = main(["check", *argv, "--as-of", "2026-01-05", "--format", "json"])
    captured = capsys.readouterr()
    ids = [f["rule_id"] for f in json.loads(captured.out)["findings"]] if captured.out.strip() else []
    return code, ids, captured.err


def test_check_runs_the_compliance_catalogue_and_names_the_rules_it_cannot_run(
    overdue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, ids, err = _check([str(overdue)], capsys)
    assert code == 1 and "results-overdue" in ids and "applicable-trial-unverified" in ids
    assert "rules not run, they need --store DIR --history:" in err
    assert "outcome-switched-after-start" in err and "history-duplicate-content" in err


def test_ignore_drops_rules_by_id_and_tag(overdue: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, ids, _ = _check([str(overdue), "--ignore", "results-overdue", "--ignore", "staleness"], capsys)
    assert "results-overdue" not in ids and "applicable-trial-unverified" not in ids
    assert _check([str(overdue), "--ignore", "no-such-rule"], capsys)[0] == 2


def test_per_rule_parameters(overdue: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, ids, _ = _check([str(overdue), "--param", "results-overdue.due_after=3y"], capsys)
    assert "results-overdue" not in ids and "applicable-trial-unverified" in ids
    code, _, err = _check([str(overdue), "--param", "results-overdue.duee=3y"], capsys)
    assert code == 2 and "rule results-overdue has no parameter 'duee'" in err


def test_a_bare_parameter_the_rules_disagree_on_is_refused_naming_them(
    overdue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_args = ["--store", str(overdue.parent / "no-store"), "--history"]
    code, _, err = _check([str(overdue), "--param", "years=3", *store_args], capsys)
    assert code == 2
    assert "rules give 'years' different defaults" in err
    assert "date-pushed-later (years=1)" in err and "unknown-status-stale (years=2)" in err
    code, _, _ = _check([str(overdue), "--param", "years=3"], capsys)  # the record rules agree on 2
    assert code == 1


def test_selecting_only_rules_that_cannot_run_is_a_usage_error(
    overdue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _check([str(overdue), "--select", "history"], capsys)
    assert code == 2 and "need --store DIR --history; nothing would be checked" in err


def test_history_checks_run_with_the_store_and_obey_select_and_ignore(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """NCT09900001 is the same in both example nights while Ignite says it was modified: the
    store's history-duplicate-content, with the catalogue's severity; --ignore history drops it."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    store = tmp_path / "store"
    nights = [str(examples / night / "NCT09900001.txt") for night in ("2026-11-24", "2026-11-25")]
    assert main(["snapshot", "add", "--store", str(store), *nights]) == 0
    capsys.readouterr()
    argv = ["--store", str(store), "--history", "--select", "history-duplicate-content"]
    code, ids, _ = _check(argv, capsys)
    entry = next(t for t in HISTORY_FINDING_TYPES if t.id == "history-duplicate-content")
    assert ids == ["history-duplicate-content"] and code == (1 if entry.severity == "error" else 0)
    main(["check", *argv, "--as-of", "2026-01-05", "--format", "json", "--fail-on", "warning"])
    (finding,) = json.loads(capsys.readouterr().out)["findings"]
    assert finding["severity"] == str(entry.severity) and finding["title"] == entry.title
    code, ids, _ = _check(["--store", str(store), "--history", "--ignore", "history"], capsys)
    assert not any(i.startswith("history-") for i in ids)
