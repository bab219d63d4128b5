"""The projected check path (only the columns the rules read, built without the full reader)
gives the full path's table columns, errors and findings, bit for bit."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pandas.testing as pdt
import pytest

from auditor.check import with_lines
from auditor.inputs import InputUnit, list_inputs
from auditor.readers import read_paths
from auditor.records import Record
from auditor.rules import RuleSet, load_rules
from auditor.rules.compile import lists_read
from auditor.run.cache import RecordCache
from auditor.run.check import TableCheck, run_check, run_pandas
from auditor.run.parse import ParseJob, job_for_columns, parse_table, parse_units
from auditor.table import records_table

AS_OF = date(2026, 11, 25)
#: A deterministic sample: the first inputs of each corpus set (JSON arrays, single studies in
#: folders and archives, legacy XML, Ignite text), enough for every record rule to fire.
SETS = {
    "reesewang25__enrollment_and_studylength": 300,
    "ctti-clinicaltrials__aact": 300,
    "partrita__clinicaltrial-watch-tigit": 300,
    "UserZetsu__dtx-analysis": 20,
    "unl-stat351__screencast-public-data-jesusrod44": 20,
    "vrinda2019__NSCLCBench": 20,
    "dgg32__clinical-trials-public": 20,
    "koy570__herniated_disc": 20,
}


@pytest.fixture(scope="module")
def record_check() -> TableCheck:
    """The record rules the projection can serve: those that read no list field (a list is
    many leaves under indexed keys, which only the full reader gathers)."""
    rules = load_rules().scope("record")
    return TableCheck(RuleSet(tuple(r for r in rules if not lists_read([r]))), AS_OF)


def test_a_rule_reading_a_list_turns_the_projection_off() -> None:
    rules = load_rules().select(["primary-outcome-missing"])
    columns = TableCheck(rules, AS_OF).columns(records_table([]).columns)
    assert lists_read(rules) == {"primary_outcomes"}
    assert "primary_outcomes__count" in columns and not job_for_columns(columns, project=True).project


@pytest.fixture(scope="module")
def sample(corpus_dir: Path) -> list[InputUnit]:
    units: list[InputUnit] = []
    for name, limit in SETS.items():
        found = [u for u in list_inputs([corpus_dir / name]) if isinstance(u, InputUnit)]
        units.extend(found[:limit])
    return units


def test_the_catalogue_is_projectable_and_problems_is_not(record_check: TableCheck) -> None:
    columns = record_check.columns(list(records_table([]).columns))
    job = job_for_columns(columns, project=True)
    assert job.project and job.columns is not None and "problems" not in columns
    assert {"truncated", "ignite_created", "status_verified_date"} <= set(job.columns)
    assert not job_for_columns([*columns, "problems"], project=True).project
    unknown = job_for_columns(["nct_id", "no_such_column"], project=True)
    assert not unknown.project and unknown.keys is None  # the full table, then narrowed
    assert job_for_columns(None, project=True) == ParseJob()


@pytest.mark.corpus
def test_projected_check_equals_the_full_check_on_the_corpus(
    sample: list[InputUnit], record_check: TableCheck
) -> None:
    columns = record_check.columns(list(records_table([]).columns))
    full = parse_units(sample, ParseJob())
    projected = parse_units(sample, job_for_columns(columns, project=True))
    assert full.frame is not None and projected.frame is not None
    assert len(full.frame) > 1000
    pdt.assert_frame_equal(projected.frame, full.frame[columns])
    assert [u.errors for u in projected.units] == [u.errors for u in full.units]
    assert [u.rows for u in projected.units] == [u.rows for u in full.units]
    assert projected.ignite == full.ignite
    expected = run_pandas(full.frame, record_check)
    assert len({f.rule_id for f in expected}) >= 5  # the sample exercises the catalogue
    assert run_pandas(projected.frame, record_check) == expected


@pytest.mark.corpus
def test_check_inputs_with_a_projected_cache_equals_the_full_reader(
    tmp_path: Path, corpus_dir: Path, seed_path: Path, record_check: TableCheck
) -> None:
    root = tmp_path / "in"
    root.mkdir()
    versions = corpus_dir / "partrita__clinicaltrial-watch-tigit" / "versions"
    for path in sorted(versions.rglob("*.json"))[:20]:
        shutil.copy(path, root / f"{path.parent.name}_{path.name}")
    for path in sorted((corpus_dir / "ctti-clinicaltrials__aact" / "xml_versions").rglob("*.xml"))[:20]:
        shutil.copy(path, root / f"{path.parent.name}_{path.name}")
    shutil.copy(seed_path, root / "seed.txt")
    (root / "broken.json").write_text('{"protocolSection": ')
    (root / "doctype.xml").write_text('<!DOCTYPE x [<!ENTITY a "b">]><clinical_study/>')

    full, full_errors, lines = parse_table([root], jobs=1)  # no columns: the full reader throughout
    expected = with_lines(run_pandas(full, record_check), lines)  # the seed's findings point at lines
    assert any(f.line for f in expected)
    assert len(full) == sum(isinstance(r, Record) for r in read_paths([root]))
    cache = tmp_path / "cache"
    for cache_dir in (None, cache, cache):  # parse_table's projection; the cache cold, then warm
        outcome = run_check([root], record_check.rules, as_of=AS_OF, jobs=1, cache_dir=cache_dir)
        findings, errors, rows = outcome.findings, outcome.errors, outcome.checked
        assert [f.to_dict() for f in findings] == [f.to_dict() for f in expected]
        assert [e.one_line() for e in errors] == [e.one_line() for e in full_errors]
        assert rows == len(full)
    manifest = json.loads((cache / "cache.json").read_text())
    assert "problems" not in manifest["columns"] and "overall_status" in manifest["columns"]
    # A run asking for a column the projected cache lacks rebuilds it instead of guessing.
    table, _, stats, _ = RecordCache(cache).table([root], jobs=1, columns=["nct_id", "problems"])
    assert stats.parsed == stats.inputs
    pdt.assert_frame_equal(table, full[["nct_id", "problems"]])
