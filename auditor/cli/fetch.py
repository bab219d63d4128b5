"""``audit fetch``: current records or whole version histories from ClinicalTrials.gov into the store.

Exit codes: 0 every study fetched and stored (or already there); 1 a fetched snapshot has the
same dates as a stored one but other content (both kept); 2 a study could not be fetched (one
line each on stderr; the others are still fetched), bad NCT IDs or options, or the ``fetch``
extra is not installed (said before any input is read); 3 the store could not be written; 4 a bug
in the auditor; 130 interrupted (the same command
continues where it stopped).

The ``--api-url`` option's parameter is named ``api_url`` so that a configuration file's
``api_url`` key maps onto it through click's ``default_map``.
"""

from __future__ import annotations

import importlib.util
from datetime import date

import click

from auditor.cli.output import number_option, path_option
from auditor.cli.snapshot import store_option
from auditor.errors import (
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    MissingExtraError,
    UsageError,
)
from auditor.fetch import DEFAULT_API_URL
from auditor.fetch.state import load_state
from auditor.inputs import read_file
from auditor.progress import Progress
from auditor.records import is_valid_nct_id
from auditor.store import Store
from auditor.text import plural

#: Parameter families of ``/api/v2/studies`` a user may pass through with ``--param``.
PASS_THROUGH_PREFIXES = ("query.", "filter.", "postFilter.")


@click.command("fetch")
@click.argument("nct_ids", nargs=-1, metavar="[NCT_ID]...")
@store_option
@click.option(
    "--history", is_flag=True, help="Every historical version (History of Changes), not the current record."
)
@path_option("--ids-file", None, "NCT IDs to fetch, one per line ('#' comments).")
@click.option("--query", "query_term", metavar="TEXT", help="Search: the API's query.term (Essie syntax).")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Another query.*, filter.* or postFilter.* parameter of /api/v2/studies; repeatable.",
)
@click.option("--since", metavar="DATE", help="Only studies whose Last Update Posted is this date or later.")
@click.option(
    "--api-url",
    "api_url",
    metavar="URL",
    default=DEFAULT_API_URL,
    show_default=True,
    help="Base URL of the API.",
)
@number_option("--rate", click.FloatRange(min=0.01), 0.5, "Requests per second at most.")
@number_option(
    "--backoff",
    click.FloatRange(min=0),
    1.0,
    "Seconds: the first retry waits up to this (jittered), each next one up to twice as long.",
    metavar="SECONDS",
)
@number_option("--retries", click.IntRange(min=0), 5, "Retries per request.")
@number_option("--timeout", click.FloatRange(min=0.1), 30.0, "Seconds per request.", metavar="SECONDS")
@number_option("--page-size", click.IntRange(1, 1000), 100, "Studies per search page.")
@click.option("--restart", is_flag=True, help="Ignore what an interrupted run of the same command had done.")
@click.option(
    "--dry-run", is_flag=True, help="Print the requests the run would send; send none, write nothing."
)
def command(
    nct_ids: tuple[str, ...],
    store_dir: str,
    history: bool,
    ids_file: str | None,
    query_term: str | None,
    params: tuple[str, ...],
    since: str | None,
    api_url: str,
    rate: float,
    backoff: float,
    retries: int,
    timeout: float,
    page_size: int,
    restart: bool,
    dry_run: bool,
) -> int:
    """Fetch studies from ClinicalTrials.gov into the snapshot store.

    NCT IDs (arguments or --ids-file) or a search (--query, --param) select the studies; each
    current record is stored as an API v2 JSON snapshot, or with --history every version the
    registry's History of Changes lists, with its change list beside them. Polite by default
    (0.5 requests/s, retries with backoff); an interrupted run continues on the next run of
    the same command."""
    if importlib.util.find_spec("httpx") is None:  # before any input (--ids-file) is read
        raise MissingExtraError("audit fetch", "fetch")
    ids = _nct_ids(nct_ids, ids_file)
    search = _search_params(query_term, params)
    if ids and search:
        raise UsageError("give NCT IDs or a search (--query/--param), not both")
    if not ids and not search:
        raise UsageError("nothing to fetch: give NCT IDs, --ids-file or --query/--param")
    if since is not None and not _is_iso_date(since):
        raise UsageError(f"--since {since!r}: expected a date YYYY-MM-DD")
    try:  # the optional 'fetch' extra (httpx) is imported only by this command
        from auditor.fetch.client import ApiClient, ClientSettings
        from auditor.fetch.run import FetchRequest, FetchRun, plan
    except ModuleNotFoundError as exc:
        if exc.name != "httpx":
            raise
        raise UsageError("audit fetch needs the 'fetch' extra: pip install 'auditor[fetch]'") from None
    request = FetchRequest(tuple(ids), tuple(search), since, history, page_size)
    settings = ClientSettings(api_url=api_url, rate=rate, timeout=timeout, retries=retries, backoff=backoff)
    with ApiClient(settings) as client:
        if dry_run:
            state = load_state(store_dir, request.describe(api_url), restart=restart)
            for line in plan(request, client, state):
                click.echo(line)
            click.echo(f"dry run: nothing sent, nothing written ({store_dir})")
            return EXIT_OK
        with Store(store_dir) as store, Progress("fetching") as progress:
            run = FetchRun(request, store, client, progress=progress, restart=restart)
            try:
                summary = run.run()
            except KeyboardInterrupt:
                progress.close()
                done = len(run.state.done) + run.state.pages_done
                click.echo(
                    f"audit: interrupted ({plural(done, 'study or page', 'studies or pages')} stored); "
                    "run the same command again to continue",
                    err=True,
                )
                return EXIT_INTERRUPTED
    for error in summary.errors:
        click.echo(f"audit: error: {error.one_line()}", err=True)
    for conflict in summary.conflicts:
        click.echo(f"audit: conflict: {conflict}", err=True)
    click.echo(f"{summary.line()} ({store_dir})")
    if summary.errors:
        return EXIT_INPUT
    return EXIT_FINDINGS if summary.conflicts else EXIT_OK


def _nct_ids(arguments: tuple[str, ...], ids_file: str | None) -> list[str]:
    """Every NCT ID asked for, checked (ASCII ``NCT`` + 8 digits) before anything is sent."""
    ids: list[str] = []
    for nct_id in arguments:
        if not is_valid_nct_id(nct_id):
            raise UsageError(f"invalid NCT ID {nct_id!r} (expected NCT and eight digits)")
        ids.append(nct_id)
    if ids_file is not None:
        data = read_file(ids_file, what="the NCT ID list", error=UsageError)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"cannot read the NCT ID list: {exc}", path=ids_file) from exc
        for number, line in enumerate(text.splitlines(), start=1):
            for nct_id in line.split("#", 1)[0].replace(",", " ").split():
                if not is_valid_nct_id(nct_id):
                    raise UsageError(f"invalid NCT ID {nct_id!r}", path=ids_file, line=number)
                ids.append(nct_id)
    return list(dict.fromkeys(ids))


def _search_params(query_term: str | None, params: tuple[str, ...]) -> list[tuple[str, str]]:
    search: list[tuple[str, str]] = []
    if query_term is not None:
        search.append(("query.term", query_term))
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith(PASS_THROUGH_PREFIXES) or not value:
            raise UsageError(f"--param {item!r}: expected query.*=…, filter.*=… or postFilter.*=…")
        search.append((key, value))
    return search


def _is_iso_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10
