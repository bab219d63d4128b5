"""Known revisions of the registry's record formats, recognised so a diff says so in one note.

When ClinicalTrials.gov changed the legacy XML results format (late 2016 / early 2017: an
outcome's ``measure_list`` became one ``measure`` with its categories grouped in a
``class_list``, the baseline measures likewise, ``analyzed_list`` added), one download to the
next re-keyed thousands of result values; the diff lists them (they are real differences of
the record) but a reader must be told that most are the same numbers under new names.
A revision is recognised when the older record has keys of its old form and the newer one
keys of its new form; the note says how many result fields changed and what share of the
removed values reappear among the added ones (re-keyed, not edited).
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

from auditor.diff.grades import pattern_key
from auditor.diff.model import Change, ChangeKind
from auditor.records import Record


class Revision(NamedTuple):
    name: str
    old_form: tuple[str, ...]  # globs of pattern keys only the old format has
    new_form: tuple[str, ...]  # globs of pattern keys only the new format has
    scope: str  # glob of the keys the revision re-keys


_R = "clinical_study.clinical_results."
REVISIONS = (
    Revision(
        "the 2016/17 ClinicalTrials.gov results format (outcome measure_list → measure with a "
        "class_list; baseline categories grouped in classes; analyzed_list added)",
        (
            f"{_R}outcome_list.outcome[[][]].measure_list.*",
            f"{_R}baseline.measure_list.measure[[][]].category_list.*",
        ),
        (
            f"{_R}outcome_list.outcome[[][]].measure.class_list.*",
            f"{_R}baseline.measure_list.measure[[][]].class_list.*",
        ),
        f"{_R}*",
    ),
    Revision(
        "the 2017 ClinicalTrials.gov XML dates (firstreceived_date, lastchanged_date … renamed "
        "study_first_submitted, last_update_submitted …)",
        ("clinical_study.firstreceived_date", "clinical_study.lastchanged_date"),
        ("clinical_study.study_first_submitted", "clinical_study.last_update_submitted"),
        "clinical_study.*",
    ),
)


def _has(keys: set[str], globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(k, g) for g in globs for k in keys)


def revision_notes(before: Record, after: Record, changes: Sequence[Change]) -> list[str]:
    """One note per known format revision between the two records (usually none)."""
    old_keys = {pattern_key(f.key) for f in before.fields}
    new_keys = {pattern_key(f.key) for f in after.fields}
    notes: list[str] = []
    for rev in REVISIONS:
        if not (_has(old_keys, rev.old_form) and _has(new_keys, rev.new_form)):
            continue
        if _has(new_keys, rev.old_form) or _has(old_keys, rev.new_form):
            continue
        inside = [c for c in changes if fnmatch.fnmatchcase(c.key, rev.scope)]
        gone = Counter(c.old_raw for c in inside if c.kind is ChangeKind.REMOVED and c.old_raw)
        came = Counter(c.new_raw for c in inside if c.kind is ChangeKind.ADDED and c.new_raw)
        moved = sum((gone & came).values())
        share = f"{round(100 * moved / sum(gone.values()))}%" if gone else "none"
        notes.append(
            f"format revision: {rev.name}; {len(inside)} of the changes are in the re-keyed part, "
            f"and {share} of the values removed there reappear under new keys (re-keyed, not edited)"
        )
    return notes
