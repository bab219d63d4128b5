"""Findings: what a rule says about one snapshot (or one pair of snapshots) of one study.

A frozen value with ``to_dict()``; reporters turn lists of them into text, JSON, CSV, JUnit,
SARIF, Markdown and HTML. Nothing mutates a finding after the rule engine made it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse; ``--fail-on warning`` fails on rank >= warning's."""
        return _RANKS[self.value]


#: A constant, not a dict made per call: the summary ranks every finding of a registry-sized run.
_RANKS = {"info": 0, "warning": 1, "error": 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule broken by one snapshot (or one consecutive pair, for pair rules).

    ``snapshot`` names the snapshot (its source path, or ``old -> new`` for a pair);
    ``fields`` are the canonical keys the rule looked at; ``values`` the actual values shown
    in ``message``; ``rule_source`` the rule file and line the rule came from; ``line`` the line
    of the first of ``fields`` in the snapshot file, when the reader recorded one (Ignite text).
    """

    rule_id: str
    severity: Severity
    nct_id: str
    snapshot: str
    fields: tuple[str, ...]
    message: str
    rule_source: str
    title: str = ""
    values: tuple[tuple[str, str], ...] = ()
    line: int | None = None  # line of the first field in the snapshot file, where the reader knows it

    @property
    def fingerprint(self) -> str:
        """Stable identity for baselines: rule, study and fields — not the snapshot path or
        the message, so a finding that persists across nights matches itself."""
        text = "\x1f".join((self.rule_id, self.nct_id, *self.fields))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "severity": str(self.severity),
            "title": self.title,
            "nct_id": self.nct_id,
            "snapshot": self.snapshot,
            "fields": list(self.fields),
            "values": dict(self.values),
            "message": self.message,
            "rule_source": self.rule_source,
            "fingerprint": self.fingerprint,
            **({"line": self.line} if self.line is not None else {}),
        }


@dataclass(frozen=True)
class FindingType:
    """A kind of finding that no rule file defines: a catalogue entry in frictionless's
    ``errors/`` style — stable kebab-case id, title, message template (filled from the finding's
    ``values``), severity, why it matters and where the definition comes from.

    The store's history checks (``history-*``) are computed from its index, not from a table
    of records, so they cannot be YAML rules; as entries here ``audit rules list`` / ``explain``,
    ``--select`` and ``--ignore`` know them like any rule. ``scope`` says what they need to run:
    ``store`` = ``--store DIR --history``."""

    id: str
    title: str
    severity: Severity
    message: str
    rationale: str
    source: str
    tags: tuple[str, ...] = ()
    scope: str = "store"
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def location(self) -> str:
        return "auditor/findings.py (the store's history checks)"


#: The store's history checks (computed by ``history_findings`` from the store's index).
HISTORY_FINDING_TYPES: tuple[FindingType, ...] = (
    FindingType(
        "history-creation-date-changed",
        "Ignite creation date changed",
        Severity.WARNING,
        "Ignite Creation Date changed from {old} to {new}",
        "A record is created once: two consecutive Ignite snapshots of one study that give different "
        "Ignite Creation Dates mean one export's header is wrong, or two studies were mixed up.",
        "Ignite study page header (Ignite Creation Date)",
        ("history", "ignite"),
    ),
    FindingType(
        "history-modification-date-backwards",
        "Modification date did not advance, or a second clock went backwards",
        Severity.WARNING,
        "a clock of the timeline went back or stood still: {old} -> {new}",
        "Along a record's timeline the registry's last-update date and the capture date never go "
        "back, and content never changes without the modification date moving: otherwise a snapshot "
        "was rolled back or carries a wrong date. Back-filling old snapshots is not a finding.",
        "https://clinicaltrials.gov/policy/protocol-definitions (Last Update Posted); Ignite study page "
        "header (Ignite Modification Date)",
        ("history", "dates"),
    ),
    FindingType(
        "history-duplicate-content",
        "Same content under different modification dates",
        Severity.WARNING,
        "snapshots with the same content but different modification dates ({dates})",
        "An export that says the record was modified while nothing in it changed hides the real "
        "modification history; re-downloads that differ only in their capture date are not findings.",
        "Ignite study page header (Ignite Modification Date)",
        ("history", "ignite"),
    ),
)
