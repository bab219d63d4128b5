"""Fetching studies from ClinicalTrials.gov into the snapshot store (``audit fetch``).

Modules: :mod:`~auditor.fetch.client` (the polite HTTP client), :mod:`~auditor.fetch.studies`
(API v2), :mod:`~auditor.fetch.history` (the History-of-Changes endpoints and their shapes),
:mod:`~auditor.fetch.html_text` (their HTML text → v2 text), :mod:`~auditor.fetch.changelist`
(the change list kept beside the versions), :mod:`~auditor.fetch.state` (resumable runs) and
:mod:`~auditor.fetch.run` (one run). Only ``client`` and ``run`` need the optional ``fetch``
extra (httpx); this package's own import needs nothing, so that ``audit fetch`` can say which
extra is missing and the change lists can be read without it.
"""

from __future__ import annotations

DEFAULT_API_URL = "https://clinicaltrials.gov"
