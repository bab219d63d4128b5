"""The pandas and Dask engines give the same findings, bit for bit and in the same order."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from auditor.check import check_table
from auditor.errors import UsageError
from auditor.findings import Finding, Severity
from auditor.rules import load_rules
from auditor.run.check import (
    TableCheck,
    check_on_engine,
    order_findings,
    run_dask,
    run_pandas,
    split_by_study,
)
from auditor.run.executor import DaskExecutor
from auditor.run.parse import parse_table

AS_OF = date(2026, 11, 25)
#: Every format and the sets with several versions per study, about 550 snapshots:
#: enough for every shipped record rule to fire, small enough to keep this file fast.
SUBSET = (
    "partrita__clinicaltrial-watch-tigit/versions",
    "ctti-clinicaltrials__aact/xml_versions/NCT02028676",
    "ctti-clinicaltrials__aact/xml_versions/NCT01841593",
    "ctti-clinicaltrials__aact/json_versions",
    "UserZetsu__dtx-analysis",
    "dgg32__clinical-trials-public",
    "scampbe3__my-website",
)


@pytest.fixture(scope="module")
def corpus_table(corpus_dir: Path) -> pd.DataFrame:
    table, _, _ = parse_table([corpus_dir / name for name in SUBSET], jobs=2)
    return table


@pytest.fixture(scope="module")
def record_check() -> TableCheck:
    return TableCheck(load_rules().scope("record"), AS_OF)


@pytest.fixture(scope="module")
def pandas_findings(corpus_table: pd.DataFrame, record_check: TableCheck) -> list[Finding]:
    return run_pandas(corpus_table, record_check)


def test_pandas_engine_is_check_table_unchanged(
    corpus_table: pd.DataFrame, record_check: TableCheck, pandas_findings: list[Finding]
) -> None:
    assert pandas_findings == check_table(corpus_table, record_check.rules, as_of=AS_OF)
    assert len(pandas_findings) > 100
    # The subset exercises several rules, and several versions of the same study.
    assert len({f.rule_id for f in pandas_findings}) >= 5
    assert corpus_table["nct_id"].duplicated().sum() > 50


@pytest.mark.parametrize("npartitions", [1, 5])
def test_dask_engine_gives_identical_findings(
    corpus_table: pd.DataFrame, record_check: TableCheck, pandas_findings: list[Finding], npartitions: int
) -> None:
    findings = run_dask(corpus_table, record_check, scheduler="synchronous", npartitions=npartitions)
    assert findings == pandas_findings
    assert [f.to_dict() for f in findings] == [f.to_dict() for f in pandas_findings]


def test_dask_engine_on_a_real_local_cluster(
    corpus_table: pd.DataFrame, record_check: TableCheck, pandas_findings: list[Finding]
) -> None:
    """Worker processes: the rules and the partitions really are pickled and sent."""
    findings = check_on_engine("dask", corpus_table, record_check, npartitions=4)
    assert findings == pandas_findings


def test_dask_engine_over_a_dask_frame(
    corpus_table: pd.DataFrame, record_check: TableCheck, pandas_findings: list[Finding]
) -> None:
    """A table that is already a Dask frame (as read from Parquet on a cluster) is shuffled by study."""
    import dask.dataframe as dd

    table = dd.from_pandas(corpus_table, npartitions=5, sort=False)
    findings = run_dask(table, record_check, scheduler="synchronous", npartitions=3)
    assert findings == pandas_findings


def test_partitions_never_split_a_study(corpus_table: pd.DataFrame) -> None:
    parts = split_by_study(corpus_table, 7)
    assert sum(len(p) for p in parts) == len(corpus_table)
    seen: set[str] = set()
    for part in parts:
        ids = set(part["nct_id"])
        assert not ids & seen
        seen |= ids
        assert part.groupby("nct_id")["__auditor_row"].apply(lambda s: s.is_monotonic_increasing).all()


def test_order_is_by_row_then_rule_and_stable() -> None:
    def finding(rule: str, snapshot: str) -> Finding:
        return Finding(rule, Severity.ERROR, "NCT00000001", snapshot, (), "m", "r")

    shuffled = [finding("b", "s2"), finding("a", "s2"), finding("b", "s1"), finding("a", "s1")]
    ordered = order_findings(shuffled, ["s1", "s2"], ["a", "b"])
    assert [(f.snapshot, f.rule_id) for f in ordered] == [("s1", "a"), ("s1", "b"), ("s2", "a"), ("s2", "b")]


def test_engine_options_are_checked(corpus_table: pd.DataFrame, record_check: TableCheck) -> None:
    with pytest.raises(UsageError, match="--scheduler needs --engine dask"):
        check_on_engine("pandas", corpus_table, record_check, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(UsageError, match="unknown engine"):
        check_on_engine("spark", corpus_table, record_check)


def test_unreachable_scheduler_is_a_usage_error(
    corpus_table: pd.DataFrame, record_check: TableCheck, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("auditor.run.executor.CONNECT_TIMEOUT", "1s")
    with pytest.raises(UsageError, match="cannot connect to the Dask scheduler"):
        run_dask(corpus_table.head(10), record_check, scheduler="tcp://127.0.0.1:9")


@pytest.mark.skipif(
    not os.environ.get("AUDITOR_FULL_CORPUS"), reason="whole corpus: set AUDITOR_FULL_CORPUS=1 (~2 minutes)"
)
def test_both_engines_on_the_whole_corpus(corpus_dir: Path, record_check: TableCheck) -> None:
    table, _, _ = parse_table([corpus_dir], jobs=2)
    expected = run_pandas(table, record_check)
    assert run_dask(table, record_check, npartitions=8) == expected


def test_cli_scale_options_give_the_default_report(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from auditor.cli import main

    inputs = [str(corpus_dir / "dgg32__clinical-trials-public")]
    base = ["check", *inputs, "--as-of", "2026-11-25", "--format", "json"]
    outputs = []
    for extra in (
        [],
        ["--engine", "dask", "--scheduler", "synchronous"],
        ["--jobs", "2", "--cache", str(tmp_path / "cache")],
        ["--jobs", "1", "--cache", str(tmp_path / "cache")],  # warm
    ):
        code = main(base + extra)
        outputs.append((code, capsys.readouterr().out))
    assert outputs[0][1].count('"rule_id"') > 20
    assert all(out == outputs[0] for out in outputs)
    assert main([*base, "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "--scheduler needs --engine dask" in capsys.readouterr().err


def _square(x: int) -> int:
    return x * x


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
def test_dask_executor_map_is_map(scheduler: str) -> None:
    assert list(DaskExecutor(scheduler, workers=2).map(_square, iter(range(23)))) == [
        n * n for n in range(23)
    ]


def test_dask_executor_on_a_distributed_client() -> None:
    """The futures path (client.submit, bounded window), on an in-process cluster to stay cheap."""
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0") as cluster:
        results = list(DaskExecutor(cluster.scheduler_address).map(_square, range(30)))
    assert results == [n * n for n in range(30)]


def test_installed_audit_parses_on_processes(corpus_dir: Path, tmp_path: Path) -> None:
    """A real ``audit`` process: the worker pool starts from the console script's main module."""
    import shutil
    import subprocess
    import sys

    audit = shutil.which("audit") or str(Path(sys.executable).with_name("audit"))
    inputs = str(corpus_dir / "dgg32__clinical-trials-public")
    base = [audit, "check", inputs, "--as-of", "2026-11-25", "--format", "csv", "--fail-on", "error"]
    plain = subprocess.run(base, capture_output=True, text=True, check=False, timeout=300)
    options = ["-j", "2", "--cache", str(tmp_path / "cache"), "--engine", "dask", "--scheduler", "threads"]
    scaled = subprocess.run(
        [*base, *options],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert plain.returncode == scaled.returncode
    assert plain.stdout == scaled.stdout and plain.stdout.count("\n") > 20
    assert (tmp_path / "cache" / "cache.json").is_file()
