"""Shared fixtures: where the real data lives, skipping with a reason where it is missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__import__("os").environ.get("AUDITOR_SHARED", REPO.parent / "shared"))
SEED = SHARED / "seed" / "NCT03765957.txt"
CORPUS = SHARED / "corpus" / "raw"


def report_night(store: Path, out: Path, night: str, *extra: str) -> int:
    """``audit report staleness`` of the store as of ``night`` into ``out``, in process."""
    from auditor.cli import main

    return main(["report", "staleness", "--store", str(store), "--as-of", night, "--out", str(out), *extra])


def folder_bytes(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by its relative name: two report folders compare equal when
    they hold the same files, byte for byte."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="session")
def seed_path() -> Path:
    if not SEED.is_file():
        pytest.skip(f"seed record not found at {SEED} (../shared is missing)")
    return SEED


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS} (../shared/corpus is missing)")
    return CORPUS


#: Every format and sets with several versions per study: enough for the shipped rules to fire,
#: small enough for a fast test that runs two engines or two paths over it.
MIXED_SETS = (
    "partrita__clinicaltrial-watch-tigit/versions",
    "ctti-clinicaltrials__aact/xml_versions/NCT02028676",
    "ctti-clinicaltrials__aact/json_versions",
    "UserZetsu__dtx-analysis",
    "dgg32__clinical-trials-public",
)


@pytest.fixture(scope="session")
def mixed_corpus_paths(corpus_dir: Path) -> list[Path]:
    """The :data:`MIXED_SETS` of the corpus (JSON versions, XML versions, JSON arrays)."""
    return [corpus_dir / name for name in MIXED_SETS]


@pytest.fixture(scope="session")
def corpus_snapshots(corpus_dir: Path) -> list[Any]:
    """Every snapshot of the corpus read straight from the raw bytes (json / ElementTree, none of
    our readers): the oracles' side, read once for all corpus tests."""
    from corpus_oracle import raw_snapshots

    return raw_snapshots(corpus_dir)


@pytest.fixture(scope="session")
def full_corpus_table(corpus_dir: Path) -> Any:
    """The records table of the whole corpus through our readers, read once for all corpus tests."""
    from auditor.run.parse import parse_table

    table, _, _ = parse_table([corpus_dir], jobs=2)
    return table
