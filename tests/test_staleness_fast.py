"""The report's fast reader gives the full readers' fields for the keys it reads, over the corpus,
and hands anything unusual back to the full reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.readers import read_bytes
from auditor.readers.projection import plan, project
from auditor.records import Record
from auditor.staleness import SUMMARY_KEYS, summarize

KEYS = SUMMARY_KEYS | {"overall_status", "status_verified_date", "start_date", "why_stopped"}
SETS = {
    "reesewang25__enrollment_and_studylength": 800,
    "ctti-clinicaltrials__aact": 400,
    "partrita__clinicaltrial-watch-tigit": 700,
    "UserZetsu__dtx-analysis": 10,
    "unl-stat351__screencast-public-data-jesusrod44": 10,
    "vrinda2019__NSCLCBench": 10,
    "dgg32__clinical-trials-public": 10,
    "koy570__herniated_disc": 10,
}


def _signature(record: Record) -> list[object]:
    out: list[object] = [record.nct_id, record.source.path, record.source.sha256, str(record.source.format)]
    for key in sorted(KEYS):
        f = record.get(key)
        out.append(None if f is None else (f.section, f.label, f.key, f.raw, f.type, f.value))
    return out


@pytest.mark.corpus
def test_projection_equals_the_full_reader_on_the_corpus(corpus_dir: Path) -> None:
    from auditor.inputs import list_inputs

    assert plan(frozenset(KEYS)) is not None
    compared = fallbacks = 0
    for name, limit in SETS.items():
        units = [u for u in list_inputs([corpus_dir / name]) if not isinstance(u, Exception)]
        for unit in units[:limit]:
            data = unit.data if unit.data is not None else Path(unit.path or unit.name).read_bytes()
            projected = project(data, unit.name, frozenset(KEYS))
            if projected is None:
                fallbacks += 1
                continue
            try:
                full = [r for r in read_bytes(data, unit.name) if isinstance(r, Record)]
            except Exception as exc:  # the fast path must not accept what the full reader refuses
                pytest.fail(f"{unit.name}: projected, but the full reader says {exc}")
            assert [_signature(r) for r in projected] == [_signature(r) for r in full], unit.name
            assert [summarize(r) for r in projected] == [summarize(r) for r in full], unit.name
            compared += len(full)
    assert compared > 1500
    assert fallbacks < 0.05 * (compared + fallbacks)  # the plain case is the common case


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><clinical_study/>',
        b"<clinical_study><id_info><nct_id>NCT00000001</nct_id></id_info><overall_status>",
        b"<other><id_info><nct_id>NCT00000001</nct_id></id_info></other>",
        b"<clinical_study><id_info><nct_id>NCT123</nct_id></id_info></clinical_study>",
        b"<clinical_study><id_info><nct_id>NCT00000001</nct_id></id_info>"
        b"<overall_status>A</overall_status><overall_status>B</overall_status></clinical_study>",
        b'{"protocolSection": {"identificationModule": {"nctId": " NCT00000001"}}}',
        b'{"protocolSection": {"identificationModule": {"nctId": "NCT00000001"}, "statusModule": []}}',
        b'[{"protocolSection": {"identificationModule": {"nctId": "NCT00000001"}}}, {"nope": 1}]',
        b'{"FullStudiesResponse": {"FullStudies": []}}',
        b"\xef\xbb\xbf{}",
        b"Viewing Study NCT00000001\n",
        b"{not json",
        # what orjson reads otherwise than json.loads (refused, or an integer read as a float)
        b'{"protocolSection": {"identificationModule": {"nctId": "NCT00000001"}}, "x": NaN}',
        b'{"protocolSection": {"identificationModule": {"nctId": "NCT00000001"}}, "x": 1e999}',
        b'{"protocolSection": {"identificationModule": {"nctId": "NCT00000001"}, "designModule":'
        b' {"enrollmentInfo": {"count": 123456789012345678901234567890}}}}',
        b'{"protocolSection": {"identificationModule": {"nctId": "NCT00000001", "briefTitle": "\\ud800"}}}',
        b'{"protocolSection": {"identificationModule": {"nctId": "NCT00000001"}}, "x": "\xff"}',
    ],
)
def test_anything_unusual_goes_to_the_full_reader(data: bytes) -> None:
    assert project(data, "x", frozenset(KEYS)) is None


def test_only_registry_keys_are_projected() -> None:
    from auditor.fields import registry

    assert plan(frozenset({"overall_status", "truncated"})) is None  # a meta column: full reader
    assert plan(frozenset(spec.key for spec in registry().specs)) is not None


def test_a_plain_xml_record_is_projected() -> None:
    data = (
        b"<clinical_study><id_info><nct_id>NCT00000001</nct_id></id_info>"
        b"<brief_title> A &amp; B </brief_title><overall_status>Unknown status</overall_status>"
        b"<verification_date>September 2020</verification_date></clinical_study>"
    )
    (record,) = project(data, "x.xml", frozenset(KEYS)) or []
    (full,) = read_bytes(data, "x.xml")
    assert isinstance(full, Record)
    assert _signature(record) == _signature(full)
    assert record.value("overall_status") == "UNKNOWN"
    assert str(record.value("status_verified_date")) == "2020-09"


def test_the_report_reads_xml_without_the_full_reader(
    corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path is really taken for plain XML: the full reader is never called."""
    from datetime import date

    import auditor.run.parse
    from auditor.inputs import InputUnit, list_inputs
    from auditor.rules import load_rules
    from auditor.run.parse import parse_units
    from auditor.run.staleness import staleness_job
    from auditor.staleness import STALENESS_RULES

    units = [
        u
        for u in list_inputs([corpus_dir / "reesewang25__enrollment_and_studylength"])
        if not isinstance(u, Exception)
    ]
    chunk = [u for u in units[:200] if isinstance(u, InputUnit)]
    rules = load_rules().select(STALENESS_RULES)
    job = staleness_job(rules, as_of=date(2026, 11, 25), params={})
    expected = parse_units(chunk, staleness_job(rules, as_of=date(2026, 11, 25), params={}, fast=False))

    def refuse(data: bytes, path: str) -> list[object]:
        raise AssertionError(f"full reader called for {path}")

    monkeypatch.setattr(auditor.run.parse, "read_bytes", refuse)
    fast = parse_units(chunk, job)
    assert fast.summaries == expected.summaries
    assert fast.findings == expected.findings
    assert len(fast.findings) > 0


def test_a_huge_integer_is_read_as_the_full_reader_reads_it() -> None:
    """orjson reads an integer past 64 bits as a float; such a document is read in full, so the
    raw text stays the digits as written."""
    digits = "123456789012345678901234567890"
    data = (
        '{"protocolSection": {"identificationModule": {"nctId": "NCT00000001"}, "designModule":'
        f' {{"enrollmentInfo": {{"count": {digits}}}}}}}}}'
    ).encode()
    assert project(data, "x.json", frozenset({"enrollment_count"})) is None
    (full,) = read_bytes(data, "x.json")
    assert isinstance(full, Record) and full.get("enrollment_count") is not None
    assert full.get("enrollment_count").raw == digits  # type: ignore[union-attr]
    nineteen = data.replace(digits.encode(), b"9999999999999999999")  # under 2**64: projected
    (projected,) = project(nineteen, "x.json", frozenset({"enrollment_count"})) or []
    assert projected.get("enrollment_count").raw == "9999999999999999999"  # type: ignore[union-attr]
