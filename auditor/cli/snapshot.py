"""``audit snapshot add|list|verify``: fill the snapshot store, look into it, check it.

Exit codes: ``add`` returns 0 when every input was stored or already there, 1 when a
snapshot conflicted with an existing one (same dates, other content: both are kept, see
:mod:`auditor.store`), 2 when an input could not be read (the good ones are still added);
``verify`` only checks — it never changes the store — and returns 0 when the store is clean,
1 when anything is wrong (one line per problem); ``verify --repair`` repairs what can be and
returns 0 when the store is clean after the repair.
"""

from __future__ import annotations

import json

import click

from auditor.cli.options import allow_empty_option
from auditor.cli.output import format_option, number_option
from auditor.cli.settings import plural
from auditor.errors import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, InputError
from auditor.records import is_valid_nct_id
from auditor.run.empty import refuse_empty
from auditor.store import Added, Store

DEFAULT_STORE = "snapshots"

store_option = click.option(
    "--store",
    "store_dir",
    type=click.Path(file_okay=False),
    metavar="DIR",
    default=DEFAULT_STORE,
    show_default=True,
    help="The snapshot store folder.",
)
text_or_json = format_option(("text", "json"))


@click.group("snapshot")
def command() -> None:
    """Add snapshots to the store, list and verify it."""


@command.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True), metavar="PATH|-...")
@store_option
@text_or_json
@number_option(
    "--batch-size",
    click.IntRange(min=1),
    500,
    "Snapshots per index transaction; an interrupted add rolls back at most one batch.",
)
@allow_empty_option
def add(
    paths: tuple[str, ...], store_dir: str, output_format: str, batch_size: int, allow_empty: bool
) -> int:
    """File snapshots (files, folders, .tar.gz/.zip archives) under their NCT IDs.

    Same content again is a no-op. Exit 0 when all is stored, 1 when a snapshot has the same
    dates as a stored one but other content (both kept), 2 when an input could not be read
    (the others are still added) or when no study record was read at all (unless
    --allow-empty)."""
    if output_format == "json":
        with Store(store_dir, batch_size=batch_size) as store:
            result = store.add(paths)
        for error in result.errors:
            click.echo(f"audit: error: {error.one_line()}", err=True)
        for conflict in result.conflicts:
            click.echo(f"audit: conflict: {conflict.message()}", err=True)
        counts = {
            "added": len(result.added),
            "unchanged": len(result.unchanged),
            "conflicts": len(result.conflicts),
            "errors": len(result.errors),
        }
        read = counts["added"] + counts["unchanged"]
        refuse_empty(read, result.errors, allow_empty=allow_empty, nothing="nothing was stored")
        click.echo(json.dumps(result.to_dict(), indent=1, ensure_ascii=False))
    else:
        counts, unread = _add_counting(Store(store_dir, batch_size=batch_size), paths)
        read = counts["added"] + counts["unchanged"]
        refuse_empty(read, unread, allow_empty=allow_empty, nothing="nothing was stored")
        click.echo(
            f"{counts['added']} added, {counts['unchanged']} unchanged, "
            f"{plural(counts['conflicts'], 'conflict')}, {plural(counts['errors'], 'error')} ({store_dir})"
        )
    if counts["errors"]:
        return EXIT_INPUT
    return EXIT_FINDINGS if counts["conflicts"] else EXIT_OK


def _add_counting(store: Store, paths: tuple[str, ...]) -> tuple[dict[str, int], list[str]]:
    """Add, printing each error and conflict as it comes and keeping only counts (and the error
    lines): a registry bulk download is 600,000 snapshots, whose entries need not stay in memory."""
    counts = dict.fromkeys(("added", "unchanged", "conflicts", "errors"), 0)
    unread: list[str] = []
    with store:
        for outcome in store.add_each(paths):
            if isinstance(outcome, InputError):
                counts["errors"] += 1
                unread.append(outcome.one_line())
                click.echo(f"audit: error: {unread[-1]}", err=True)
            elif isinstance(outcome, Added):
                counts["added"] += 1
                if outcome.conflict is not None:
                    counts["conflicts"] += 1
                    click.echo(f"audit: conflict: {outcome.conflict.message()}", err=True)
            else:
                counts["unchanged"] += 1
    return counts, unread


@command.command("list")
@click.argument("nct_ids", nargs=-1, metavar="[NCT_ID]...")
@store_option
@text_or_json
def list_(nct_ids: tuple[str, ...], store_dir: str, output_format: str) -> int:
    """The snapshots of the given records, oldest first; without NCT IDs, one line per record."""
    for nct_id in nct_ids:
        if not is_valid_nct_id(nct_id):
            raise InputError(f"invalid NCT ID {nct_id!r} (expected NCT and eight digits)")
    with Store(store_dir) as store:
        if nct_ids:
            entries = [e for n in nct_ids for e in store.snapshots_of(n)]
            if output_format == "json":
                click.echo(json.dumps([e.to_dict() for e in entries], indent=1))
            elif entries:
                click.echo(f"{'nct_id':<11}  {'modified':16}  {'tiebreak':16}  {'format':11}  path")
                for e in entries:
                    click.echo(
                        f"{e.nct_id}  {e.modified or '-':16}  {e.tiebreak or '-':16}  {e.format:11}  {e.path}"
                    )
            return EXIT_OK
        rows = store.summary()
    if output_format == "json":
        click.echo(
            json.dumps([{"nct_id": n, "snapshots": k, "latest": e.to_dict()} for n, k, e in rows], indent=1)
        )
    elif rows:
        click.echo(f"{'nct_id':<11}  {'snapshots':>9}  {'latest modified':16}  latest path")
        for nct_id, count, latest in rows:
            click.echo(f"{nct_id}  {count:9d}  {latest.modified or '-':16}  {latest.path}")
    return EXIT_OK


@command.command("verify")
@store_option
@text_or_json
@click.option(
    "--repair/--no-repair",
    default=False,
    show_default=True,
    help="Repair: rebuild the index from the files, roll back an interrupted add, move corrupt "
    "files to .quarantine/ (never deleted). Without it, nothing in the store changes.",
)
def verify(store_dir: str, output_format: str, repair: bool) -> int:
    """Check the store against its index and the files' hashes (changing nothing); with
    --repair, repair it.

    Exit 0 when the store is clean (or, with --repair, clean after the repair), 1 when a
    problem is found (or remains)."""
    with Store(store_dir) as store:
        result = store.verify(repair=repair)
    if output_format == "json":
        click.echo(json.dumps(result.to_dict(), indent=1))
    else:
        for problem in result.problems:
            click.echo(problem.one_line())
        state = "clean" if result.clean else "NOT clean"
        hint = "" if result.clean or repair else " (audit snapshot verify --repair repairs what can be)"
        click.echo(
            f"{plural(result.checked, 'snapshot file')} checked, {plural(len(result.problems), 'problem')}, "
            f"store {state}{hint}"
        )
    return EXIT_OK if result.clean else EXIT_FINDINGS
