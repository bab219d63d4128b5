"""The whole answer of one diff: :class:`DiffResult` (study changes, metadata, notes, headline)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

from auditor.diff.grades import Grade
from auditor.diff.headline import Headline, count_by_grade, count_by_module, headline
from auditor.diff.model import Change, SemanticClass
from auditor.records import Record

#: Version of the JSON shape of :meth:`DiffResult.to_dict`; bumped on any incompatible change.
#: 2: ``module`` and ``grade`` on every change; ``headline``, ``repeated``, ``min_grade``,
#: ``summary.by_module`` / ``by_grade`` / ``hidden``.
SCHEMA_VERSION = 2


@dataclass(frozen=True)
class DiffResult:
    """The whole answer of ``audit diff``: study changes, snapshot metadata, notes.

    ``before``/``after`` are the records in the order shown (see ``swapped``). ``repeated`` are
    the changes of the Ignite page's summary block that repeat a body change exactly (one status
    change is one change, not two); ``hidden`` counts changes below ``min_grade``.
    """

    before: Record
    after: Record
    changes: tuple[Change, ...]
    metadata: tuple[Change, ...] = ()
    notes: tuple[str, ...] = ()
    swapped: bool = False
    ignored: tuple[str, ...] = ()
    repeated: tuple[Change, ...] = ()
    min_grade: Grade = Grade.COSMETIC
    hidden: int = 0

    @property
    def nct_id(self) -> str:
        return self.after.nct_id

    @property
    def flagged(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.flagged)

    @functools.cached_property
    def headline(self) -> Headline:
        return headline(self.changes)

    def by_class(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in self.changes:
            counts[str(c.semantic)] = counts.get(str(c.semantic), 0) + 1
        return dict(sorted(counts.items()))

    def by_module(self) -> dict[str, int]:
        return count_by_module(self.changes)

    def by_grade(self) -> dict[str, int]:
        return count_by_grade(self.changes)

    def items(self) -> dict[str, int]:
        """How many whole list items were added and removed (a location, a condition …)."""
        added = {(c.list_item, c.header) for c in self.changes if c.semantic is SemanticClass.ITEM_ADDED}
        removed = {(c.list_item, c.header) for c in self.changes if c.semantic is SemanticClass.ITEM_REMOVED}
        return {"added": len(added), "removed": len(removed)}

    def at_least(self, grade: Grade) -> DiffResult:
        """The same result with only the changes graded ``grade`` or graver."""
        kept = tuple(c for c in self.changes if c.grade.rank >= grade.rank)
        hidden = self.hidden + len(self.changes) - len(kept)
        return replace(self, changes=kept, min_grade=grade, hidden=hidden)

    def to_dict(self) -> dict[str, Any]:
        """Schema 2 of ``audit diff --format json`` (documented in :mod:`auditor.reports.diff_render`)."""
        return {
            "schema": SCHEMA_VERSION,
            "nct_id": self.nct_id,
            "before": snapshot_json(self.before),
            "after": snapshot_json(self.after),
            "swapped": self.swapped,
            "ignored": list(self.ignored),
            "min_grade": str(self.min_grade),
            "notes": list(self.notes),
            "headline": self.headline.to_dict(),
            "summary": {
                "changes": len(self.changes),
                "flagged": len(self.flagged),
                "cosmetic": sum(1 for c in self.changes if c.cosmetic),
                "metadata": len(self.metadata),
                "repeated": len(self.repeated),
                "hidden": self.hidden,
                "by_class": self.by_class(),
                "by_module": self.by_module(),
                "by_grade": self.by_grade(),
                "items": self.items(),
            },
            "changes": [c.to_dict() for c in self.changes],
            "metadata": [c.to_dict() for c in self.metadata],
            "repeated": [c.to_dict() for c in self.repeated],
        }


def snapshot_json(record: Record) -> dict[str, Any]:
    return {
        "nct_id": record.nct_id,
        "path": record.source.path,
        "format": str(record.source.format),
        "sha256": record.source.sha256,
        "ignite_modified": None if record.ignite_modified is None else record.ignite_modified.isoformat(),
    }
