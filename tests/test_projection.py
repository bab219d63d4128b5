"""The projected check path (only the columns the rules read, built without the full reader)
gives the full path's table columns, errors and findings, bit for bit."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pandas.testing as pdt
import pytest

from auditor.cache import RecordCache
from auditor.engines import TableCheck, check_inputs, run_pandas
from auditor.parallel import InputUnit, list_inputs, parse_table, parse_units, projection_for
from auditor.readers import read_paths
from auditor.records import Record
from auditor.rules import RuleSet, load_rules
from auditor.rules.compile import lists_read
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
    assert "primary_outcomes__count" in columns and projection_for(columns) is None


@pytest.fixture(scope="module")
def sample(corpus_dir: Path) -> list[InputUnit]:
    units: list[InputUnit] = []
    for name, limit in SETS.items():
        found = [u for u in list_inputs([corpus_dir / name]) if isinstance(u, InputUnit)]
        units.extend(found[:limit])
    return units


def test_the_catalogue_is_projectable_and_problems_is_not(record_check: TableCheck) -> None:
    columns = record_check.columns(records_table([]).columns)
    projection = projection_for(columns)
    assert projection is not None and "problems" not in columns
    assert {"truncated", "ignite_created", "status_verified_date"} <= set(projection.columns)
    assert projection_for([*columns, "problems"]) is None
    assert projection_for(["nct_id", "no_such_column"]) is None
    assert projection_for(None) is None


@pytest.mark.corpus
def test_projected_check_equals_the_full_check_on_the_corpus(
    sample: list[InputUnit], record_check: TableCheck
) -> None:
    columns = record_check.columns(records_table([]).columns)
    projection = projection_for(columns)
    full = parse_units(sample)
    projected = parse_units(sample, projection)
    assert full.frame is not None and projected.frame is not None
    assert len(full.frame) > 1000
    pdt.assert_frame_equal(projected.frame, full.frame[columns])
    assert [u.errors for u in projected.units] == [u.errors for u in full.units]
    assert [u.rows for u in projected.units] == [u.rows for u in full.units]
    assert projected.ignite == full.ignite
    expected = run_pandas(full.frame, record_check)
    assert len({f.rule_id for f in expected}) >= 5  # the sample exercises the catalogue
    assert run_pandas(projected.frame, record_check) == expected
    # Slices of rows checked on two processes: the same findings in the same order.
    assert run_pandas(projected.frame, record_check, jobs=2, min_rows=0) == expected


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

    full, full_errors = parse_table([root], jobs=1)  # no columns: the full reader throughout
    expected = run_pandas(full, record_check)
    assert len(full) == sum(isinstance(r, Record) for r in read_paths([root]))
    cache = tmp_path / "cache"
    for cache_dir in (None, cache, cache):  # parse_table's projection; the cache cold, then warm
        findings, errors, rows = check_inputs(
            [root], record_check.rules, as_of=AS_OF, jobs=1, cache_dir=cache_dir
        )
        assert [f.to_dict() for f in findings] == [f.to_dict() for f in expected]
        assert [e.one_line() for e in errors] == [e.one_line() for e in full_errors]
        assert rows == len(full)
    manifest = json.loads((cache / "cache.json").read_text())
    assert "problems" not in manifest["columns"] and "overall_status" in manifest["columns"]
    # A run asking for a column the projected cache lacks rebuilds it instead of guessing.
    table, _, stats = RecordCache(cache).table([root], jobs=1, columns=["nct_id", "problems"])
    assert stats.parsed == stats.inputs
    pdt.assert_frame_equal(table, full[["nct_id", "problems"]])
