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
        return {"info": 0, "warning": 1, "error": 2}[self.value]


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
