"""Merge the Ignite pages of one snapshot: module pages into their study page, or together.

Ignite publishes a study page and one page per API v2 module; a run that reads both gets one
record per snapshot. :func:`merge_module_pages` is public: the snapshot store files module pages
with it too.
"""

from __future__ import annotations

from datetime import datetime

from auditor.records import Record, SourceFormat


def merge_module_pages(records: list[Record]) -> list[Record]:
    """Merge the module pages of one run into the study pages of the same snapshot.

    Rule (deterministic, independent of anything but the input order):

    * each module page goes to the study page with its NCT ID whose Ignite creation date is
      closest to its own (ties and unknown dates: the earliest study page in input order);
    * its fields are appended to that study page's fields, except a field whose key the merged
      record already has with the same raw value (the module page repeats it);
    * module pages with no study page are merged with each other, one record per NCT ID, in
      the order of their first page (source and format of that first page, earliest creation
      and latest modification date);
    * problems of a merged page are kept, prefixed with the page's path; truncated if any is.

    Study pages come out in input order, then the records of orphan module pages.
    """
    studies = [r for r in records if r.source.format is not SourceFormat.IGNITE_MODULE]
    by_nct: dict[str, list[int]] = {}
    for i, study in enumerate(studies):
        by_nct.setdefault(study.nct_id, []).append(i)
    extra: dict[int, list[Record]] = {}
    orphans: dict[str, list[Record]] = {}
    for record in records:
        if record.source.format is not SourceFormat.IGNITE_MODULE:
            continue
        candidates = by_nct.get(record.nct_id)
        if not candidates:
            orphans.setdefault(record.nct_id, []).append(record)
            continue
        best = min(candidates, key=lambda i: (_distance(studies[i].ignite_created, record.ignite_created), i))
        extra.setdefault(best, []).append(record)
    out = [_merge(study, extra.get(i, [])) for i, study in enumerate(studies)]
    for pages in orphans.values():
        first, rest = pages[0], pages[1:]
        created = [p.ignite_created for p in pages if p.ignite_created is not None]
        modified = [p.ignite_modified for p in pages if p.ignite_modified is not None]
        merged = _merge(first, rest)
        out.append(
            Record(
                nct_id=merged.nct_id,
                source=merged.source,
                fields=merged.fields,
                ignite_created=min(created) if created else None,
                ignite_modified=max(modified) if modified else None,
                truncated=merged.truncated,
                problems=merged.problems,
            )
        )
    return out


def _distance(a: datetime | None, b: datetime | None) -> float:
    if a is None or b is None:
        return float("inf")
    return abs((a - b).total_seconds())


def _merge(base: Record, pages: list[Record]) -> Record:
    if not pages:
        return base
    fields = list(base.fields)
    have = {(f.key, f.raw) for f in fields}
    problems = list(base.problems)
    for page in pages:
        for f in page.fields:
            if (f.key, f.raw) not in have:
                have.add((f.key, f.raw))
                fields.append(f)
        problems.extend(f"{page.source.path}: {p}" for p in page.problems)
    return Record(
        nct_id=base.nct_id,
        source=base.source,
        fields=tuple(fields),
        ignite_created=base.ignite_created,
        ignite_modified=base.ignite_modified,
        truncated=base.truncated or any(p.truncated for p in pages),
        problems=tuple(problems),
    )


__all__ = ["merge_module_pages"]
