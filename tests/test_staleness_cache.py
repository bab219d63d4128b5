"""``audit report staleness --cache DIR``: a night parses only what changed, and reports exactly
what the uncached run reports — summaries, findings, pages — on real records."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from conftest import folder_bytes, report_night

from auditor.cli import main
from auditor.inputs import InputUnit, list_inputs
from auditor.readers import read_paths
from auditor.records import Record
from auditor.rules import load_rules
from auditor.run.cache import RecordCache
from auditor.run.staleness import collect, collect_cached, staleness_job, summaries_from_table
from auditor.staleness import STALENESS_RULES, summarize
from auditor.table import records_table

AS_OF = date(2026, 11, 25)
#: JSON, legacy XML (in an archive and as files) and Ignite text from the corpus
SETS = (
    "UserZetsu__dtx-analysis",
    "ctti-clinicaltrials__aact",
    "reesewang25__enrollment_and_studylength",
    "partrita__clinicaltrial-watch-tigit",
)
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.corpus
def test_summaries_from_the_table_are_the_records_summaries(corpus_dir: Path) -> None:
    """Every record of four corpus sets and the Ignite examples: the summary made from its table
    row is the one made from the record (statuses, verified dates of every precision, titles,
    sponsors, ranks)."""
    records: list[Record] = []
    for name in SETS:
        found = [r for r in read_paths([corpus_dir / name]) if isinstance(r, Record)]
        records += found[:600]
    records += [r for r in read_paths([EXAMPLES]) if isinstance(r, Record)]
    assert len(records) > 1500
    assert summaries_from_table(records_table(records)) == [summarize(r) for r in records]


def _units(path: Path) -> list[InputUnit]:
    return [u for u in list_inputs([path]) if isinstance(u, InputUnit)]


@pytest.mark.corpus
@pytest.mark.parametrize("name", SETS)
def test_cached_collect_equals_the_workers_collect(corpus_dir: Path, tmp_path: Path, name: str) -> None:
    """The same summaries and findings, cold and warm, with the catalogue's record rules."""
    source = tmp_path / "in"
    shutil.copytree(corpus_dir / name, source)
    rules = load_rules()
    params: dict[str, str] = {}
    plain = collect(_units(source), staleness_job(rules, as_of=AS_OF, params=params))
    for run in ("cold", "warm"):
        cached = collect_cached(
            RecordCache(tmp_path / "cache"), [source], [], rules, as_of=AS_OF, params=params
        )
        assert cached.summaries == plain.summaries, run
        assert cached.findings == plain.findings, run
        assert cached.errors == plain.errors, run
        assert cached.files == plain.files, run
    assert plain.findings and plain.summaries


def test_two_nights_with_the_cache_are_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example store's two nights reported with and without ``--cache``: every file of both
    folders is the same bytes; each night parses only the snapshots the cache has not seen (the
    examples' second night replaces every study's snapshot), and a night made again parses none."""
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "snapshots"
    plain, cached = tmp_path / "plain", tmp_path / "cached"
    parsed: list[int] = []
    real_table = RecordCache.table

    def counting(self: RecordCache, *args: object, **kwargs: object) -> object:
        result = real_table(self, *args, **kwargs)  # type: ignore[arg-type]
        parsed.append(result.stats.parsed)
        return result

    monkeypatch.setattr(RecordCache, "table", counting)
    for night in ("2026-11-24", "2026-11-25"):
        assert main(["snapshot", "add", "--store", str(store), str(EXAMPLES / night)]) in (0, 1)
        assert report_night(store, plain, night) == 0
        assert report_night(store, cached, night, "--cache", str(tmp_path / "cache")) == 0
    assert report_night(store, tmp_path / "again", "2026-11-25", "--cache", str(tmp_path / "cache")) == 0
    assert parsed == [5, 6, 0]
    for night in ("2026-11-24", "2026-11-25"):
        assert folder_bytes(cached / night) == folder_bytes(plain / night)
        assert folder_bytes(plain / night)  # not vacuous


def test_the_cache_and_dask_are_refused_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["report", "staleness", str(EXAMPLES), "--out", str(tmp_path), "--cache", str(tmp_path / "c"),
                 "--engine", "dask", "--as-of", "2026-11-25"])  # fmt: skip
    assert code == 2
    assert "--cache" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_the_staleness_rules_alone_are_cached_too(tmp_path: Path) -> None:
    rules = load_rules().select(STALENESS_RULES)
    cached = collect_cached(RecordCache(tmp_path / "cache"), [EXAMPLES], [], rules, as_of=AS_OF, params={})
    plain = collect(_units(EXAMPLES), staleness_job(rules, as_of=AS_OF, params={}))
    assert cached.summaries == plain.summaries and cached.findings == plain.findings
