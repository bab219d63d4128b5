"""Two snapshots of one study → a :class:`~auditor.diff.model.DiffResult`.

How fields are matched
    By identity (:mod:`auditor.diff.keys`). The Ignite study page's summary block is compared
    only when *both* records have one; otherwise it is left out and a note says so. A matched
    field whose section differs is kind ``moved_section`` (if its value is unchanged) or
    ``values_changed`` with ``moved_from`` set. List items are paired first
    (:mod:`auditor.diff.align`).

Different formats
    Unregistered leaves of JSON and XML get *path labels* (``contacts_locations_module.
    locations[0].facility`` vs ``clinical_study.location[0].facility.name``). When the two
    records come from different source formats (Ignite text and Ignite module pages count as
    one), the legacy XML side's list fields are first renamed as API v2 names them
    (:mod:`auditor.diff.crossformat`: conditions, keywords, sites, arms, interventions,
    outcomes, references, MeSH terms), so list content is compared and aligned; other path
    keys are compared only when present on both sides, and a note says how many were not
    comparable. Registry fields are always compared.

The comparison step
    Two flat dicts ``{identity: raw}`` compared key by key (:func:`changed_identities`; the
    deepdiff of earlier releases, which gave the same answer, stays in the tests as an oracle)
    give the added, removed and changed identities; each is then classified from the typed
    values (:func:`auditor.diff.classify.classify`).

Order of snapshots
    :func:`diff` takes its arguments as given (so ``diff(b, a)`` mirrors ``diff(a, b)``).
    :func:`compare` (what ``audit diff`` calls) shows the older snapshot as "before" whatever
    the argument order, with a note when it swapped them. "Older" is decided by when each copy
    was made: the Ignite modification time, else the API's ``version_holder`` (JSON), else the
    legacy XML's download date (:func:`capture_date`); failing those, by
    ``last_update_submit_date``. On a tie, or with no date on one side, the argument order
    stands.

Snapshot metadata
    The Ignite creation/modification timestamps and every field whose key matches an
    ``ignore`` pattern (:func:`fnmatch.fnmatchcase`, so ``derived_section.*`` works; labels are
    accepted and turned into keys) are reported in :attr:`DiffResult.metadata`, never as study
    changes.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Hashable, Iterable, Sequence
from datetime import date, datetime

from auditor.diff.align import align, same_family
from auditor.diff.classify import classify
from auditor.diff.crossformat import is_xml, translate, untranslatable
from auditor.diff.keys import Identity, has_header, identities, is_path_key, list_slot
from auditor.diff.model import IGNITE_STAMPS, SNAPSHOT_SECTION, Change, SemanticClass
from auditor.diff.result import DiffResult
from auditor.diff.revisions import revision_notes
from auditor.errors import UsageError
from auditor.fields import label_key
from auditor.records import HEADER_SECTION, Field, Record
from auditor.values import PartialDate, ValueType, format_timestamp, parse_date


def diff(old: Record, new: Record, *, ignore: Iterable[str] = (), force: bool = False) -> list[Change]:
    """The study changes from ``old`` to ``new``, in the arguments' order.

    Raises :class:`~auditor.errors.UsageError` when the records are of different studies,
    unless ``force``.
    """
    return list(compare(old, new, ignore=ignore, force=force, by_snapshot_date=False).changes)


def compare(
    a: Record,
    b: Record,
    *,
    ignore: Iterable[str] = (),
    force: bool = False,
    by_snapshot_date: bool = True,
) -> DiffResult:
    """Diff two snapshots of one study, with metadata and notes (see the module docstring)."""
    notes: list[str] = []
    if a.nct_id != b.nct_id:
        if not force:
            raise UsageError(
                f"not the same study: {a.nct_id} ({a.source.path}) vs {b.nct_id} ({b.source.path}); "
                "use --force to diff anyway"
            )
        notes.append(f"different studies compared (--force): {a.nct_id} vs {b.nct_id}")
    swapped = False
    when = snapshot_dates(a, b) if by_snapshot_date else None
    if when is not None and when[1] > when[2]:
        a, b = b, a
        swapped = True
        notes.append(
            f"arguments swapped: {a.source.path} is the older snapshot "
            f"({when[0]} {_date_text(when[2])} vs {_date_text(when[1])}) and is shown as before"
        )
    patterns = normalise_ignore(ignore)
    left, right = _comparable_fields(a, b, notes)
    found = _field_changes(left, right)
    meta_patterns = (*CAPTURE_METADATA, *patterns)
    study = [c for c in found if not _is_metadata(c, meta_patterns)]
    meta = [c for c in found if _is_metadata(c, meta_patterns)]
    stamps = [c for c in (_stamp_change(a, b, k) for k in IGNITE_STAMPS) if c is not None]
    study, repeated = _split_repeats(study)
    notes += revision_notes(a, b, study)
    return DiffResult(
        before=a,
        after=b,
        changes=tuple(study),
        metadata=(*stamps, *meta),
        notes=tuple(notes),
        swapped=swapped,
        ignored=patterns,
        repeated=tuple(repeated),
    )


#: Keys of the fields that say when and how a copy was exported, not what the study is:
#: the API's data-version date, the legacy XML header ("ClinicalTrials.gov processed this data
#: on …", its link text and URL) and the search rank. Always snapshot metadata, like the
#: Ignite timestamps and (:data:`SemanticClass.URL_SCHEME_ONLY`) a URL that only changed scheme.
CAPTURE_METADATA = (
    "version_holder",
    "download_date",
    "clinical_study.required_header*",
    "clinical_study.attr_rank",
    "clinical_study.rank",
)


def _is_metadata(change: Change, patterns: Sequence[str]) -> bool:
    return change.semantic is SemanticClass.URL_SCHEME_ONLY or _ignored(change.key, patterns)


def _split_repeats(changes: list[Change]) -> tuple[list[Change], list[Change]]:
    """Summary-block changes that repeat a body change exactly, set apart (counted once)."""
    body = {(c.key, c.old_raw, c.new_raw) for c in changes if not c.header}
    if not any(c.header for c in changes):
        return changes, []
    kept = [c for c in changes if not (c.header and (c.key, c.old_raw, c.new_raw) in body)]
    repeats = [c for c in changes if c.header and (c.key, c.old_raw, c.new_raw) in body]
    return kept, repeats


def _comparable_fields(
    a: Record, b: Record, notes: list[str]
) -> tuple[dict[Identity, Field], dict[Identity, Field]]:
    """The fields of each side that can be compared, by identity; what cannot goes in a note."""
    both_headers = has_header(a) and has_header(b)
    left, right = identities(a, header=both_headers), identities(b, header=both_headers)
    for name, rec in (("before", a), ("after", b)):
        if not both_headers and has_header(rec):
            n = sum(1 for f in rec.fields if f.section == HEADER_SECTION)
            notes.append(
                f"summary header of the {name} snapshot not compared ({n} fields): the other has none"
            )
    if not same_family(a, b):
        left, right, one_sided = _across_formats(a, b, left, right)
        if one_sided:
            notes.append(
                f"{len(one_sided)} path fields present on one side only were not comparable "
                f"({a.source.format} vs {b.source.format} name unregistered leaves differently)"
            )
    cut = [name for name, rec in (("before", a), ("after", b)) if rec.truncated]
    if cut:
        which = "both snapshots are" if len(cut) == 2 else f"the {cut[0]} snapshot is"
        notes.append(f"{which} cut off: fields missing at the end may not be real removals")
    return left, right


def _across_formats(
    a: Record, b: Record, left: dict[Identity, Field], right: dict[Identity, Field]
) -> tuple[dict[Identity, Field], dict[Identity, Field], list[Identity]]:
    """Both sides named alike where the formats allow, and what stays incomparable (dropped).

    The legacy XML side's list fields take their API v2 names (:mod:`auditor.diff.crossformat`);
    an API v2 item field with no XML counterpart is dropped; a path key on one side only is
    dropped unless its list is on both sides (then it is an item or field added or removed).
    """
    dropped: list[Identity] = []
    for xml_side, other in ((a, b), (b, a)):
        if is_xml(xml_side.source.format) and not is_xml(other.source.format):
            if xml_side is a:
                left = translate(left)
                dropped += untranslatable(right)
            else:
                right = translate(right)
                dropped += untranslatable(left)
    # A list is on a side when that side has items of it: a list printed as one text field (an
    # Ignite table after "Name(If Any):") is not, so the other side's items are not "removed".
    lists_left = {slot.list_key for i in left if (slot := list_slot(i[0])) is not None}
    lists_right = {slot.list_key for i in right if (slot := list_slot(i[0])) is not None}
    for ident in left.keys() ^ right.keys():
        name = _list_name(ident[0])
        if is_path_key(ident[0]) and not (name in lists_left and name in lists_right and name != ident[0]):
            dropped.append(ident)
    for ident in dropped:
        left.pop(ident, None)
        right.pop(ident, None)
    return left, right, dropped


def _item_of(ident: Identity) -> tuple[str, int, bool] | None:
    slot = list_slot(ident[0])
    return None if slot is None else (slot.list_key, slot.item, ident[2])


def _list_name(key: str) -> str:
    slot = list_slot(key)
    return key if slot is None else slot.list_key


def _field_changes(left: dict[Identity, Field], right: dict[Identity, Field]) -> list[Change]:
    """Every changed field, in the new record's order (a removed one after its old neighbour)."""
    pairing = align(left, right)
    paired_left = {pairing.renamed.get(i, i): f for i, f in left.items() if i not in pairing.removed}
    paired_right = {i: f for i, f in right.items() if i not in pairing.added}
    positions = _positions(
        [("-", i) if i in pairing.removed else pairing.renamed.get(i, i) for i in left], list(right)
    )
    found: list[tuple[float, Change]] = []
    changed = changed_identities(paired_left, paired_right)
    still = [i for i in pairing.crossed if i in paired_left and i in paired_right]
    crossed_items = {_item_of(i) for i in pairing.crossed}
    for ident in dict.fromkeys([*changed, *still]):
        key, occurrence, in_header = ident
        change = classify(
            key,
            occurrence,
            paired_left.get(ident),
            paired_right.get(ident),
            header=in_header,
            old_key=pairing.old_key(ident),
            item_moved=bool(crossed_items) and _item_of(ident) in crossed_items,
        )
        found.append((positions[ident], change))
    for ident in pairing.removed:
        change = classify(*ident[:2], left[ident], None, header=ident[2], item=True)
        found.append((positions[("-", ident)], change))
    for ident in pairing.added:
        change = classify(*ident[:2], None, right[ident], header=ident[2], item=True)
        found.append((positions[ident], change))
    found.sort(key=lambda pc: pc[0])
    return [c for _, c in found]


_PROCESSED_ON = re.compile(r"processed this data on (.+)$")


def capture_date(record: Record) -> tuple[str, datetime | date] | None:
    """When this copy of the record was made: the Ignite modification time, else the API's
    ``version_holder`` (JSON), else the legacy XML's "processed this data on …" date."""
    if record.ignite_modified is not None:
        return "Ignite modified", record.ignite_modified
    holder = record.value("version_holder")
    if isinstance(holder, PartialDate):
        return "version holder", holder.earliest()
    download = record.get("download_date")
    if download is not None and (m := _PROCESSED_ON.search(download.raw.strip())):
        parsed = parse_date(m.group(1))
        if parsed is not None:
            return "download date", parsed.earliest()
    return None


def snapshot_dates(a: Record, b: Record) -> tuple[str, datetime | date, datetime | date] | None:
    """``(what, date of a, date of b)`` telling which snapshot is older, or ``None``.

    Capture dates (:func:`capture_date`) first — two Ignite times compare to the minute,
    mixed kinds by their day; then the sponsor's ``last_update_submit_date``.
    """
    x, y = capture_date(a), capture_date(b)
    if x is not None and y is not None:
        if isinstance(x[1], datetime) and isinstance(y[1], datetime):
            return x[0], x[1], y[1]
        what = x[0] if x[0] == y[0] else f"{x[0]} / {y[0]}"
        return what, _day(x[1]), _day(y[1])
    u, v = a.value("last_update_submit_date"), b.value("last_update_submit_date")
    if isinstance(u, PartialDate) and isinstance(v, PartialDate):
        return "last update submitted", u.earliest(), v.earliest()
    return None


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _date_text(value: datetime | date) -> str:
    return format_timestamp(value) if isinstance(value, datetime) else value.isoformat()


def changed_identities(left: dict[Identity, Field], right: dict[Identity, Field]) -> list[Identity]:
    """Identities whose raw text differs, appeared or vanished, or whose section moved.

    Both sides are flat ``{identity: field}`` dicts of text, so a dict comparison is the whole
    diff: an identity on the left only was removed (deepdiff's ``dictionary_item_removed``),
    on the right only added, on both with other text changed (``values_changed``) — the
    vocabulary :class:`~auditor.diff.model.ChangeKind` keeps. DeepDiff gave the same answer
    here (``tests/test_diff_oracles.py`` checks it on every corpus pair) but importing it pulls
    numpy and pandas: 0.37 s of a 0.5 s ``audit diff``.
    """
    found = [i for i, f in left.items() if (other := right.get(i)) is None or other.raw != f.raw]
    found += [i for i in right if i not in left]
    found += [
        i
        for i, f in left.items()
        if (other := right.get(i)) is not None and other.raw == f.raw and other.section != f.section
    ]
    return found


def _positions(left: Sequence[Hashable], right: Sequence[Hashable]) -> dict[Hashable, float]:
    """Sort position of each identity: its index in the new record; a removed field sits just
    after the nearest field before it (in the old record) that the new record still has."""
    pos: dict[Hashable, float] = {ident: float(i) for i, ident in enumerate(right)}
    anchor = -1.0
    step = 0
    for ident in left:
        if ident in pos:
            anchor, step = pos[ident], 0
        else:
            step += 1
            pos[ident] = anchor + step / 10_000
    return pos


def _stamp_change(a: Record, b: Record, attr: str) -> Change | None:
    old, new = getattr(a, attr), getattr(b, attr)
    if old == new:
        return None
    return classify(attr, 0, _stamp_field(attr, old), _stamp_field(attr, new))


def _stamp_field(attr: str, value: datetime | None) -> Field | None:
    if value is None:
        return None
    return Field(
        SNAPSHOT_SECTION, IGNITE_STAMPS[attr], attr, format_timestamp(value), ValueType.TIMESTAMP, value
    )


_KEY_LIKE = re.compile(r"[a-z0-9_.\[\]]+")


def normalise_ignore(patterns: Iterable[str]) -> tuple[str, ...]:
    """Keys or labels (``Version Holder``) or glob patterns of keys, as key patterns."""
    out: list[str] = []
    for raw in patterns:
        text = raw.strip()
        if not text:
            continue
        if any(ch in text for ch in "*?") or _KEY_LIKE.fullmatch(text):
            out.append(text)
        else:
            out.append(label_key(text))
    return tuple(dict.fromkeys(out))


def _ignored(key: str, patterns: Sequence[str]) -> bool:
    """``*`` and ``?`` are the only wildcards: ``[0]`` in a path key is literal."""
    return any(
        fnmatch.fnmatchcase(key, p.replace("[", "\0").replace("]", "[]]").replace("\0", "[[]"))
        if "*" in p or "?" in p
        else key == p
        for p in patterns
    )
