"""Small study documents for command-line tests (API v2 JSON, written to a temporary folder)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

AS_OF = ["--as-of", "2026-01-05"]


def study(
    nct_id: str,
    status: str,
    verified: str,
    *,
    title: str = "A study",
    updated: str = "2025-06-15",
    summary: str = "A summary.",
    **status_extra: Any,
) -> dict[str, Any]:
    return {
        "protocolSection": {
            "identificationModule": {"nctId": nct_id, "briefTitle": title},
            "statusModule": {
                "overallStatus": status,
                "statusVerifiedDate": verified,
                "lastUpdateSubmitDate": updated,
                **status_extra,
            },
            "descriptionModule": {"briefSummary": summary},
        }
    }


def write(path: Path, document: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def stale_study(folder: Path, nct_id: str = "NCT01234567") -> Path:
    """A study UNKNOWN since 2020-09: one ``unknown-status-stale`` warning as of 2026-01-05."""
    return write(folder / f"{nct_id}.json", study(nct_id, "UNKNOWN", "2020-09"))


def terminated_study(folder: Path, nct_id: str = "NCT07654321") -> Path:
    """A TERMINATED study without a reason: one ``stop-reason-missing`` warning."""
    return write(folder / f"{nct_id}.json", study(nct_id, "TERMINATED", "2025-06"))
