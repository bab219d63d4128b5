"""What a findings report knows about the run besides the findings, as plain data.

Reporters stay pure functions ``(findings, run) -> str``: the command line fills a
:class:`RunInfo` (the rules checked, how many snapshots, the ``--fail-on`` threshold, the
waived findings, the tool's version, the folder paths are relative to) and every format tells
the same story from it — a JUnit file from a run that exits 0 has ``failures="0"``, a waived
finding is counted as waived in every format.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from auditor.findings import Finding, Severity
from auditor.version import VERSION

_RECORD_INDEX = re.compile(r"#\d+$")


@dataclass(frozen=True)
class RuleInfo:
    """A rule as reports describe it (SARIF ``reportingDescriptor``, a JUnit suite)."""

    id: str
    title: str
    severity: Severity
    scope: str = "record"
    rationale: str = ""
    source: str = ""
    defined_at: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Waived:
    """A finding a waiver suppressed, with the waiver's reason."""

    finding: Finding
    reason: str
    expires: date | None = None
    waiver_at: str = ""  # waiver file and line

    def waiver_dict(self) -> dict[str, str | None]:
        return {
            "reason": self.reason,
            "expires": None if self.expires is None else self.expires.isoformat(),
            "defined_at": self.waiver_at,
        }


@dataclass(frozen=True)
class RunInfo:
    """The run a report describes. ``fail_on`` is the lowest failing severity (``None``: no
    finding fails the run); ``waived`` is ``None`` when no waiver file was used, so that the
    reports keep their plain layout; ``base_dir`` is the folder paths are made relative to."""

    fail_on: Severity | None = Severity.ERROR
    rules: tuple[RuleInfo, ...] = ()
    checked: int = 0
    pairs: int | None = None
    waived: tuple[Waived, ...] | None = None
    baselined: int = 0
    version: str = VERSION
    base_dir: str | None = None
    color: bool = False

    def fails(self, finding: Finding) -> bool:
        """Whether ``finding`` is at or above ``--fail-on``."""
        return self.fails_at(finding.severity)

    def fails_at(self, severity: Severity) -> bool:
        return self.fail_on is not None and severity.rank >= self.fail_on.rank

    def failing(self, findings: Iterable[Finding]) -> int:
        """How many of ``findings`` are at or above ``--fail-on``, counted by severity (a call
        per finding was 0.4 s of a 560,000-study run's summary)."""
        by_severity = Counter(f.severity for f in findings)
        return sum(n for severity, n in by_severity.items() if self.fails_at(severity))

    def waived_findings(self) -> tuple[Waived, ...]:
        return self.waived or ()

    def relative(self, path: str) -> str | None:
        """The file of a snapshot name (:func:`snapshot_file`) relative to ``base_dir`` with
        ``/`` separators, or ``None`` when it lies outside."""
        path = snapshot_file(path)
        archive, bang, member = path.partition("!")
        if self.base_dir is None:
            return None if os.path.isabs(archive) else path.replace("\\", "/")
        absolute = os.path.normpath(os.path.join(self.base_dir, archive))
        try:
            inside = os.path.relpath(absolute, self.base_dir)
        except ValueError:  # another drive
            return None
        if inside == os.pardir or inside.startswith(os.pardir + os.sep):
            return None
        return inside.replace("\\", "/") + bang + member


def snapshot_file(snapshot: str) -> str:
    """The file a finding points at: the newer snapshot of a pair (``old -> new``), without the
    ``#N`` a reader adds to the N-th record of a file holding several."""
    return _RECORD_INDEX.sub("", snapshot.split(" -> ")[-1])


DEFAULT_RUN = RunInfo()

__all__ = ["DEFAULT_RUN", "RuleInfo", "RunInfo", "Waived", "snapshot_file"]
