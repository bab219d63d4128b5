"""What changed in a study between two snapshots, field by field (``audit diff``).

Modules, in the order data flows:

* :mod:`~auditor.diff.keys` — field identities and list-item keys;
* :mod:`~auditor.diff.model` — :class:`Change`, :class:`ChangeKind`, :class:`SemanticClass`,
  :class:`DiffResult`, :func:`describe`;
* :mod:`~auditor.diff.classify` — two versions of one field → a :class:`Change`;
* :mod:`~auditor.diff.align` — list items paired up across the two records;
* :mod:`~auditor.diff.compare` — :func:`compare` / :func:`diff` (the comparison step);
* :mod:`~auditor.diff.apply` — :func:`apply_changes`, the inverse.

The package is callable
    ``auditor.diff`` is both this package and the public function ``auditor.diff(old, new)``
    of earlier releases: calling the package calls :func:`diff`. Python binds a subpackage as
    an attribute of its parent on import, so a plain function named ``auditor.diff`` would be
    replaced by the module the first time anything imported ``auditor.diff.…``; making the
    module callable keeps both spellings working whatever was imported first.

Python use::

    import auditor
    from auditor.readers import read_one

    changes = auditor.diff(read_one("old.txt"), read_one("new.json"))   # list[Change]
    result = auditor.diff.compare(read_one("a.json"), read_one("b.json"))  # DiffResult
"""

from __future__ import annotations

import sys
import types
from typing import Any

from auditor.diff.apply import apply_changes
from auditor.diff.batch import BatchResult, StudyDiff, batch, pair_records
from auditor.diff.classify import classify, mirrored, status_flag, word_diff
from auditor.diff.compare import capture_date, compare, diff, normalise_ignore, snapshot_dates
from auditor.diff.grades import Grade
from auditor.diff.headline import Headline
from auditor.diff.keys import identities, is_path_key
from auditor.diff.model import Change, ChangeKind, SemanticClass, describe
from auditor.diff.result import DiffResult

__all__ = [
    "BatchResult",
    "Change",
    "ChangeKind",
    "DiffResult",
    "Grade",
    "Headline",
    "SemanticClass",
    "StudyDiff",
    "apply_changes",
    "batch",
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
    "snapshot_dates",
    "status_flag",
    "word_diff",
]


class CallablePackage(types.ModuleType):
    """This package's module type: ``auditor.diff(old, new)`` is :func:`diff` (see above)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return diff(*args, **kwargs)


sys.modules[__name__].__class__ = CallablePackage
