"""API v2 requests: one study, many by ID, a search paged with ``nextPageToken``.

From the API's OpenAPI text (``/api/v2/studies``): "If response contains ``nextPageToken``, use
its value in ``pageToken`` to get next page. The last page will not contain ``nextPageToken``.
A page may have empty ``studies`` array. Request for each subsequent page **must** have the
same parameters as for the first page, except ``countTotal``, ``pageSize``, and ``pageToken``."
``pageSize`` is at most 1,000.

Each study is stored as its own JSON element serialised the way the store serialises one
element of a multi-study document (``json.dumps(study, ensure_ascii=False, indent=2)`` and a
newline), so a study fetched alone and the same study fetched in a page are the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from auditor.fetch.client import ApiClient
from auditor.fetch.history import ShapeError
from auditor.records import is_valid_nct_id

STUDIES_PATH = "api/v2/studies"
MAX_PAGE_SIZE = 1000
#: NCT IDs per ``filter.ids`` request: 100 keeps the URL near 1,300 characters.
IDS_PER_REQUEST = 100


@dataclass(frozen=True, slots=True)
class Page:
    studies: tuple[tuple[str, dict[str, Any]], ...]
    next_page_token: str | None
    total_count: int | None = None  # only when asked for (``countTotal=true``)


def study_bytes(study: Mapping[str, Any]) -> bytes:
    return (json.dumps(study, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def study_nct_id(study: object) -> str:
    """The NCT ID of a v2 study object; :class:`ShapeError` when it has none we can trust."""
    section = study.get("protocolSection") if isinstance(study, dict) else None
    ident = section.get("identificationModule") if isinstance(section, dict) else None
    nct_id = ident.get("nctId") if isinstance(ident, dict) else None
    if not isinstance(nct_id, str) or not is_valid_nct_id(nct_id):
        raise ShapeError(f"a study without a valid protocolSection.identificationModule.nctId ({nct_id!r})")
    return nct_id


def fetch_study(client: ApiClient, nct_id: str) -> dict[str, Any]:
    """``GET /api/v2/studies/{nct}``: the current record of one study."""
    document = client.get_json(f"{STUDIES_PATH}/{nct_id}", study=nct_id)
    if study_nct_id(document) != nct_id:
        raise ShapeError(f"asked for {nct_id}, got {study_nct_id(document)}")
    assert isinstance(document, dict)  # study_nct_id checked it
    return document


def fetch_page(client: ApiClient, params: Mapping[str, str], *, label: str) -> Page:
    """One page of ``/api/v2/studies``; ``label`` names the request in errors."""
    document = client.get_json(STUDIES_PATH, params, study=label)
    if not isinstance(document, dict) or not isinstance(document.get("studies"), list):
        raise ShapeError("a studies page without a 'studies' list")
    token = document.get("nextPageToken")
    if token is not None and (not isinstance(token, str) or not token):
        raise ShapeError(f"a studies page with nextPageToken {token!r}")
    studies = tuple((study_nct_id(s), s) for s in document["studies"])
    total = document.get("totalCount")
    return Page(studies, token, total if isinstance(total, int) and not isinstance(total, bool) else None)


def pages(
    client: ApiClient, params: Mapping[str, str], *, label: str, page_token: str | None = None
) -> Iterator[tuple[Page, str | None]]:
    """Each page with the token that fetched it (``None`` for the first), until the last."""
    token = page_token
    while True:
        query = dict(params)
        if token is not None:
            query["pageToken"] = token
        page = fetch_page(client, query, label=label)
        yield page, token
        if page.next_page_token is None:
            return
        token = page.next_page_token


def since_filter(params: Mapping[str, str], since: str) -> dict[str, str]:
    """``params`` narrowed to studies whose Last Update Posted date is ``since`` or later
    (``AREA[LastUpdatePostDate]RANGE[since,MAX]``, ANDed with a ``filter.advanced`` given)."""
    area = f"AREA[LastUpdatePostDate]RANGE[{since},MAX]"
    out = dict(params)
    given = out.get("filter.advanced")
    out["filter.advanced"] = f"({given}) AND {area}" if given else area
    return out
