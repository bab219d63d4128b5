"""What changed in a study between two snapshots, field by field (``audit diff``).

Modules, in the order data flows:

* :mod:`~auditor.diff.keys` — field identities and list-item keys;
* :mod:`~auditor.diff.modules`, :mod:`~auditor.diff.grades` — the History-of-Changes module and
  the grade of a field (data: ``auditor/data/diff_modules.yaml``, ``materiality.yaml``);
* :mod:`~auditor.diff.model` — :class:`Change`, :class:`ChangeKind`, :class:`SemanticClass`,
  :func:`describe`; :mod:`~auditor.diff.dates` — date gaps in years, months, days;
* :mod:`~auditor.diff.classify` — two versions of one field → a :class:`Change`;
* :mod:`~auditor.diff.align` — list items paired up across the two records;
  :mod:`~auditor.diff.crossformat` — legacy XML lists under their API v2 names;
* :mod:`~auditor.diff.headline` — status transition, enrollment, date slips, stop reason;
  :mod:`~auditor.diff.result` — :class:`DiffResult`;
* :mod:`~auditor.diff.compare` — :func:`compare` / :func:`diff` (the comparison step);
  :mod:`~auditor.diff.revisions` — known format revisions, said in one note;
* :mod:`~auditor.diff.lists`, :mod:`~auditor.diff.lines` — the report lines people read
  (items named, moves and reorders, mass edits summarised);
* :mod:`~auditor.diff.batch` — many studies: :class:`BatchResult`;
* :mod:`~auditor.diff.apply` — :func:`apply_changes`, the inverse.

The package is callable
    ``auditor.diff`` is both this package and the public function ``auditor.diff(old, new)``
    of earlier releases: calling the package calls :func:`diff`. Python binds a subpackage as
    an attribute of its parent on import, so a plain function named ``auditor.diff`` would be
    replaced by the module the first time anything imported ``auditor.diff.…``; making the
    module callable keeps both spellings working whatever was imported first.

Python use (one pair)::

    import auditor
    from auditor.readers import read_one

    changes = auditor.diff(read_one("old.txt"), read_one("new.json"))   # list[Change]
    result = auditor.diff.compare(read_one("a.json"), read_one("b.json"))  # DiffResult
    result.headline.status          # StatusTransition(old, new, alarm) | None
    result.headline.enrollment      # EnrollmentChange(old, new, old_type, new_type).percent
    result.headline.date_slips      # (DateSlip(key, what, old, new, gap="2 months later"), …)
    result.headline.stop_reason     # str | None
    result.by_module(); result.by_grade(); result.at_least(Grade.MINOR); result.to_dict()

Python use (many studies; what the nightly page's "what changed tonight" builds on)::

    from auditor.diff import Grade, batch, batch_records

    tonight = batch_records(last_night_records, tonight_records, min_grade=Grade.MINOR)
    # or, with pairs already made (e.g. from the store): batch([(old, new), …])
    tonight.changed                 # (StudyDiff(nct_id, state, result, sponsor), …) by NCT ID
    tonight.status_transitions()    # [(nct_id, StatusTransition)], alarms first
    tonight.by_module(); tonight.studies_by_module(); tonight.by_grade(); tonight.by_sponsor()
    tonight.to_dict()               # JSON-ready, schema 1 (each study's diff: schema 2)

Report lines as people read them (item names, "230 sites: status set — …") come from
:func:`auditor.diff.lines.report_lines` (``details=True`` for one line per field); every value
object here is a frozen dataclass.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from auditor.diff.apply import apply_changes
from auditor.diff.batch import BatchResult, Pairing, StudyDiff, batch, batch_records, pair_records
from auditor.diff.classify import classify, mirrored, status_flag, word_diff
from auditor.diff.compare import capture_date, compare, diff, normalise_ignore, snapshot_dates
from auditor.diff.grades import Grade
from auditor.diff.headline import DateSlip, EnrollmentChange, Headline, StatusTransition
from auditor.diff.keys import identities, is_path_key
from auditor.diff.lines import Line, report_lines, without_reorders
from auditor.diff.model import Change, ChangeKind, SemanticClass, describe
from auditor.diff.result import DiffResult

__all__ = [
    "BatchResult",
    "Change",
    "ChangeKind",
    "DateSlip",
    "DiffResult",
    "EnrollmentChange",
    "Grade",
    "Headline",
    "Line",
    "Pairing",
    "SemanticClass",
    "StatusTransition",
    "StudyDiff",
    "apply_changes",
    "batch",
    "batch_records",
    "capture_date",
    "classify",
    "compare",
    "describe",
    "diff",
    "identities",
    "is_path_key",
    "mirrored",
    "normalise_ignore",
    "pair_records",
    "report_lines",
    "snapshot_dates",
    "status_flag",
    "without_reorders",
    "word_diff",
]


class CallablePackage(types.ModuleType):
    """This package's module type: ``auditor.diff(old, new)`` is :func:`diff` (see above)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return diff(*args, **kwargs)


sys.modules[__name__].__class__ = CallablePackage
