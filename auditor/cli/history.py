"""``audit history NCT…``: the timeline of records in the snapshot store.

Each snapshot with its dates and what changed since the one before (see
:mod:`auditor.history`), as terminal text, JSON, Markdown or HTML
(shapes in :mod:`auditor.reports.history_render`). Exit code 0, or 2 for an invalid NCT ID or
a record the store has no snapshot of.
"""

from __future__ import annotations

import click

from auditor.cli.output import PAGE_FORMATS, check_output, emit, format_option, output_option
from auditor.cli.snapshot import store_option
from auditor.errors import EXIT_OK, InputError
from auditor.history import histories
from auditor.records import is_valid_nct_id
from auditor.reports.history_render import RENDERERS
from auditor.store import Store


@click.command("history")
@click.argument("nct_ids", nargs=-1, required=True, metavar="NCT_ID...")
@store_option
@format_option(PAGE_FORMATS)
@click.option(
    "--ignore",
    multiple=True,
    metavar="KEY",
    help="Also leave this field (key, label or glob of keys) out of the changes; repeatable. "
    "The capture dates (version_holder, download_date) are always left out.",
)
@output_option
def command(
    nct_ids: tuple[str, ...], store_dir: str, output_format: str, ignore: tuple[str, ...], output: str | None
) -> int:
    """The timeline of each record: its snapshots in order and what changed at each step."""
    check_output(output)
    for nct_id in nct_ids:
        if not is_valid_nct_id(nct_id):
            raise InputError(f"invalid NCT ID {nct_id!r} (expected NCT and eight digits)")
    with Store(store_dir) as store:
        found = histories(store, nct_ids, ignore=ignore)
    missing = [h.nct_id for h in found if not h.steps]
    if missing:
        raise InputError(f"no snapshots of {', '.join(missing)} in the store", path=store_dir)
    text = RENDERERS[output_format](found)
    emit(text, output, machine=output_format != "text")
    return EXIT_OK
