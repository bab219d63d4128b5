"""``audit report staleness --engine dask``: the same report, byte for byte, as the pandas engine
on a real set (a corpus subset with several versions per study, every format)."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.cli import main
from auditor.run.staleness import collect, path_units, staleness_job

AS_OF = "2026-11-25"
DATA_FILES = ("findings.json", "findings.csv", "summary.json", "stale.json", "report.md", "index.html")


def _report(inputs: list[Path], out: Path, *extra: str) -> dict[str, bytes]:
    code = main(["report", "staleness", *map(str, inputs), "--as-of", AS_OF, "--out", str(out), *extra])
    assert code in (0, 1)
    return {name: (out / AS_OF / name).read_bytes() for name in DATA_FILES}


def test_dask_engine_writes_the_pandas_engines_report(mixed_corpus_paths: list[Path], tmp_path: Path) -> None:
    expected = _report(mixed_corpus_paths, tmp_path / "pandas", "--jobs", "2")
    assert b'"nct_id"' in expected["findings.json"] and expected["stale.json"].count(b'"nct_id"') > 5
    got = _report(
        mixed_corpus_paths, tmp_path / "dask", "--engine", "dask", "--scheduler", "synchronous", "--jobs", "2"
    )
    assert got == expected


def test_collect_on_a_local_dask_cluster_is_collect(mixed_corpus_paths: list[Path]) -> None:
    """Two worker processes of a real LocalCluster, small chunks so that several tasks are in
    flight and finish in any order."""
    from datetime import date

    from auditor.rules import load_rules
    from auditor.staleness import STALENESS_RULES

    units, errors = path_units([mixed_corpus_paths[0], mixed_corpus_paths[3]])
    assert not errors and len(units) > 20
    job = staleness_job(load_rules().select(STALENESS_RULES), as_of=date(2026, 11, 25), params={})
    expected = collect(units, job, jobs=1, chunk_size=7)
    got = collect(units, job, jobs=2, chunk_size=7, engine="dask")
    assert got == expected
    assert expected.findings and expected.summaries


def test_scheduler_needs_the_dask_engine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "report",
            "staleness",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
            "--scheduler",
            "tcp://127.0.0.1:9",
        ]
    )
    assert code == 2
    assert "--scheduler needs --engine dask" in capsys.readouterr().err
