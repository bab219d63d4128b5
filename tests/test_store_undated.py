"""Undated snapshots (issue 18): a snapshot with no ordering date goes last in its study's
timeline, by when it was added, and ``audit history`` says its position is unknown.

The data is real: the corpus's versions of NCT04514484 (API v2 JSON, a crawler's captures),
and its latest version cut to a field subset with every date the store orders by removed, as a
v2 export of a few fields gives it. The expected order comes from the raw JSON (``json``
directly, not our readers)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.history import record_history
from auditor.store import Store

NCT = "NCT04514484"
UNKNOWN = "position unknown: no date in the snapshot"


def raw_dates(path: Path) -> tuple[str, str]:
    """The oracle: (lastUpdateSubmitDate, versionHolder) straight from the file."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    return (
        doc["protocolSection"]["statusModule"]["lastUpdateSubmitDate"],
        doc["derivedSection"]["miscInfoModule"]["versionHolder"],
    )


def field_subset(source: Path, dest: Path, title: str | None = None) -> Path:
    """``source`` cut to its identification and status modules, with no last-update date, no
    last-update post date and no versionHolder (no derivedSection at all)."""
    doc = json.loads(source.read_text(encoding="utf-8"))
    protocol = doc["protocolSection"]
    status = dict(protocol["statusModule"])
    status.pop("lastUpdateSubmitDate")
    status.pop("lastUpdatePostDateStruct")
    ident = dict(protocol["identificationModule"])
    if title is not None:
        ident["briefTitle"] = title
    subset = {"protocolSection": {"identificationModule": ident, "statusModule": status}}
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(subset, indent=2), encoding="utf-8")
    return dest


@pytest.fixture()
def versions(corpus_dir: Path) -> list[Path]:
    folder = corpus_dir / "partrita__clinicaltrial-watch-tigit" / "versions" / NCT
    found = sorted(folder.glob("*.json"))
    assert len(found) >= 3
    return found


@pytest.mark.corpus
def test_undated_snapshot_goes_last_and_history_says_so(
    tmp_path: Path, versions: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    undated = field_subset(versions[-1], tmp_path / "in" / "subset.json")
    store = Store(tmp_path / "s")
    # The undated one first, then the dated ones newest first: order of adding must not matter.
    first = store.add([undated], now=datetime(2026, 3, 1, tzinfo=UTC))
    assert len(first.added) == 1 and not first.conflicts
    store.add(list(reversed(versions)), now=datetime(2026, 3, 2, tzinfo=UTC))

    entries = store.snapshots_of(NCT)
    dated_order = sorted(raw_dates(p) for p in versions)
    assert [e.order_key[:2] for e in entries[:-1]] == dated_order
    last = entries[-1]
    assert last.order_key[:2] == ("", "") and not last.dated
    assert store.load(last).get("last_update_submit_date") is None
    # The store's latest snapshot of the study is the last dated one, not the undated subset.
    ((_, count, latest),) = store.summary()
    assert count == len(versions) + 1 and latest.order_key[:2] == dated_order[-1]

    history = record_history(store, NCT)
    notes = [s.position_note for s in history.steps]
    assert notes == [None] * len(versions) + [UNKNOWN]
    for fmt in ("text", "markdown", "html"):
        assert main(["history", "--store", str(store.root), "--format", fmt, NCT]) == 0
        out = capsys.readouterr().out
        assert out.count(UNKNOWN) == 1, fmt
    assert main(["history", "--store", str(store.root), "--format", "json", NCT]) == 0
    steps = json.loads(capsys.readouterr().out)["records"][0]["steps"]
    assert [s["position_known"] for s in steps] == [True] * len(versions) + [False]


@pytest.mark.corpus
def test_several_undated_snapshots_are_ordered_by_when_they_were_added(
    tmp_path: Path, versions: list[Path]
) -> None:
    later = field_subset(versions[0], tmp_path / "b" / "subset.json", title="Edited later")
    earlier = field_subset(versions[0], tmp_path / "a" / "subset.json")
    store = Store(tmp_path / "s")
    store.add([later], now=datetime(2026, 3, 5, tzinfo=UTC))
    second = store.add([earlier], now=datetime(2026, 3, 1, tzinfo=UTC))  # back-dated "added"
    # Undated snapshots have no dates to share: other content is not a conflict.
    assert len(second.added) == 1 and second.conflicts == ()
    store.add([versions[0]], now=datetime(2026, 3, 9, tzinfo=UTC))
    entries = store.snapshots_of(NCT)
    assert [e.dated for e in entries] == [True, False, False]
    assert [e.added for e in entries[1:]] == ["2026-03-01T00:00:00+00:00", "2026-03-05T00:00:00+00:00"]
    assert store.load(entries[2]).value("brief_title") == "Edited later"
    # The same undated content again is a no-op.
    assert store.add([earlier]).added == ()
