"""The snapshot store: every snapshot of every study, kept safely and indexed.

Layout (``<store>`` is ``snapshots/`` unless ``--store DIR`` says otherwise)::

    <store>/index.sqlite                         the index (SQLite, standard library)
    <store>/.lock                                fcntl lock taken by every writer
    <store>/<NCT ID>/<modified>_<tiebreak>_<sha256[:12]>.<txt|pages.txt|json|xml>

Each snapshot file holds the snapshot's original bytes. A study that came out of a
multi-study JSON file (a list, ``{"studies": [...]}``) is stored as that study's own JSON
element, re-serialised deterministically (``json.dumps(element, ensure_ascii=False, indent=2)``
plus a newline, keys in their original order), so that every file holds one study; one page of
a text file holding several Ignite study pages is likewise stored on its own (as UTF-8).
Ignite *module* pages given in the same add as a study page of the same study with the same
Ignite creation and modification dates are stored with that page as one snapshot, a
``.pages.txt`` file (the pages separated by a line holding only U+001E, read back as
``read_paths`` merges them); module pages without such a study page are one snapshot per
(study, Ignite dates) — see :mod:`.candidates` and :mod:`.layout`. The stamps are the two
ordering dates below with ``-`` and ``:`` removed (``undated`` when unknown).

Ordering — a record's timeline is sorted by ``(modified, tiebreak, sha256)``:

* Ignite pages: ``modified`` = Ignite Modification Date, ``tiebreak`` = Ignite Creation Date.
* ClinicalTrials.gov JSON and XML have no Ignite dates; they are ordered by the registry's own
  dates: ``modified`` = Last Update Submitted (else Last Update Posted), ``tiebreak`` = the
  capture date — API v2 ``versionHolder`` or the XML ``download_date``.
* The content hash breaks the remaining ties, so the order is total and reproducible.
  Dates are compared as ISO text, so ``2020-09`` sorts before ``2020-09-01``.
* *Undated* snapshots — no ordering date at all (a v2 JSON export of a few fields with no
  last-update date and no versionHolder) — have no known place among the others. They go
  last, after every dated snapshot of the study, ordered by when they were added to the store
  (the index's ``added``), then by hash; ``audit history`` marks their position
  as unknown. They never conflict with each other (no dates to share), and the study's
  *latest* snapshot (``Store.summary``/``latest``) is its last dated one when it has one.

As of a day — the store as it stood that night: each record's latest snapshot *captured* on or
before the day (``Store.summary(as_of=…)``, ``Store.snapshots_of(nct, as_of=…)``), so that a past night's
report can be made again, byte for byte, after later nights were added. The capture day
(:func:`~.layout.captured_day`) is the Ignite Modification Date for an Ignite page, API v2
``versionHolder`` or the XML ``download_date`` for registry files, else the registry's
last-update date, and for an undated snapshot the day (UTC) it was added; a date of month or
year precision counts from its last day. ``Store.changed_between(day1, day2)`` lists the records
whose content differs between two such nights, comparing hashes in the index (one query).

Content identity: the *content* of a snapshot is its fields (key and raw text), excluding the
capture dates (``version_holder``, ``download_date``) and the Ignite timestamps, which are
not fields. Adding a snapshot is a no-op when the record already has one with the same bytes,
or with the same content and the same dates. A snapshot with the same dates as an existing
one but other content is a *conflict*: it is kept beside the first, never over it, and reported.

Safety: NCT IDs are validated before they become paths; a record folder that is a symlink is
refused and no path read from the index may leave the store. Writes are batched under a lock
with pending rows confirmed only once the files are durable (:mod:`.writer`), so every snapshot
is either fully in the store or not at all, and readers never see pending rows. The files are
the truth: an index that was deleted or is unreadable is rebuilt from them by ``verify``
(:mod:`.verify`) and by the next ``add`` (readers say to run ``verify``); SQLite's own write
failures (disk full) are output errors (exit 3); a store on a read-only mount is still
readable (the index is opened read-only, :mod:`.index`).

Modules: :mod:`.layout` (names, dates, hashes, safe paths, one study's bytes cut out of a file
of several, Ignite pages stored together), :mod:`.candidates` (inputs → what to store),
:mod:`.index` (the SQLite index), :mod:`.writer` (adding), :mod:`.verify` (checking and
repairing), :mod:`.store` (the :class:`Store` that ties them together).
"""

from auditor.readers import IGNITE_FORMATS
from auditor.store.candidates import SnapshotBytes
from auditor.store.index import INDEX_NAME, SCHEMA_VERSION
from auditor.store.layout import (
    CAPTURE_KEYS,
    SNAPSHOT_NAME,
    SnapshotEntry,
    captured_day,
    content_sha,
    iso_minutes,
    last_day,
    order_dates,
    read_snapshot,
    read_stored,
    registry_updated,
    snapshot_name,
)
from auditor.store.store import Store
from auditor.store.verify import VerifyProblem, VerifyResult
from auditor.store.writer import (
    BATCH_SIZE,
    LOCK_NAME,
    Added,
    AddOutcome,
    AddResult,
    Conflict,
    Unchanged,
    sync_filesystem,
)

__all__ = [
    "BATCH_SIZE",
    "CAPTURE_KEYS",
    "IGNITE_FORMATS",
    "INDEX_NAME",
    "LOCK_NAME",
    "SCHEMA_VERSION",
    "SNAPSHOT_NAME",
    "AddOutcome",
    "AddResult",
    "Added",
    "Conflict",
    "SnapshotBytes",
    "SnapshotEntry",
    "Store",
    "Unchanged",
    "VerifyProblem",
    "VerifyResult",
    "captured_day",
    "content_sha",
    "iso_minutes",
    "last_day",
    "order_dates",
    "read_snapshot",
    "read_stored",
    "registry_updated",
    "snapshot_name",
    "sync_filesystem",
]
