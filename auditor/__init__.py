"""auditor: data-quality and change-tracking for ClinicalTrials.gov study records.

Python use mirrors the CLI: ``read_path`` / ``read_one`` read snapshots into
:class:`~auditor.records.Record`; ``diff(old, new)`` lists the changes between two
(``auditor.diff`` is also the diff package; calling it calls :func:`auditor.diff.diff`).
Heavy modules are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from auditor.records import Field, Record, Source, SourceFormat
from auditor.version import VERSION as __version__

if TYPE_CHECKING:
    from auditor.diff import Change

__all__ = [
    "Change",
    "Field",
    "Record",
    "Source",
    "SourceFormat",
    "__version__",
    "diff",
    "read_one",
    "read_path",
    "read_paths",
]


def __getattr__(name: str) -> Any:
    # every ``audit`` command imports this package first: nothing here until it is asked for
    if name in ("Field", "Record", "Source", "SourceFormat"):
        from auditor import records

        return getattr(records, name)
    if name in ("read_path", "read_paths", "read_one"):
        from auditor import readers

        return getattr(readers, name)
    if name == "diff":
        # The package itself: it is callable, auditor.diff(old, new) (see auditor/diff/__init__.py).
        return importlib.import_module("auditor.diff")
    if name == "Change":
        from auditor.diff import Change

        return Change
    raise AttributeError(name)
