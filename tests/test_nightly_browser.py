"""The nightly pages in a real browser, clicked through as a reader would: the index of nights →
a night → the next night (through the index) → a study's changes tonight → its history in our
store → a step's diff → back to the history → back to the night, and the browser's Back button;
no page logs a console message (no script error, nothing blocked by the Content-Security-Policy)
and each page's script ran.

Headless Chromium driven by Playwright (the ``test`` extra) with the system's Chromium (CI installs
Debian's ``chromium``; Playwright's own browser download is not used). Skips with the reason when
either is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.cli import main

REPO = Path(__file__).resolve().parents[1]


def _chromium() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.skip("Chromium is not installed (apt-get install chromium); the pages are not clicked through")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both example nights through one store, as the cron job runs them, with history pages."""
    root = tmp_path_factory.mktemp("nightly")
    store, out = root / "snapshots", root / "reports"
    for night in ("2026-11-24", "2026-11-25"):
        assert main(["snapshot", "add", "--store", str(store), str(REPO / "examples" / night)]) == 0
        argv = ["report", "staleness", "--store", str(store), "--as-of", night, "--out", str(out)]
        assert main([*argv, "--history-pages"]) == 0
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (the test extra)"
    )
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


def test_click_through_index_night_changes_history_and_back(reports: Path, browser: Any) -> None:
    page = browser.new_page()
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{page.url}: {message.text}"))
    page.on("pageerror", lambda error: messages.append(f"{page.url}: {error}"))

    def at(name: str) -> None:
        page.wait_for_load_state()
        assert page.url.endswith(name), (page.url, name)
        if page.locator("body[data-js]").count():
            assert page.get_attribute("body", "data-js") == "ok", f"the script of {page.url} did not run"

    page.goto((reports / "index.html").as_uri())
    at("reports/index.html")
    assert page.title() == "Nightly reports"
    assert page.locator("#nights tbody tr").count() == 2

    page.get_by_role("link", name="2026-11-24", exact=True).click()
    at("2026-11-24/index.html")
    assert page.title() == "Staleness report 2026-11-24"
    assert page.locator("#changes").count() == 0  # the first night has nothing to compare with

    page.get_by_role("link", name="the next night →").click()  # resolved by the index's script
    page.wait_for_url("**/2026-11-25/index.html")
    at("2026-11-25/index.html")
    assert "Went UNKNOWN tonight (1)" in page.locator("#changes").inner_text()

    page.locator("#into-unknown-table").get_by_role("link", name="NCT09900002").click()
    at("2026-11-25/changes/NCT09900002.html")
    assert page.title() == "Changes to NCT09900002"
    assert "RECRUITING" in page.content() and "UNKNOWN" in page.content()

    page.get_by_role("link", name="history of NCT09900002 in our store").click()
    at("2026-11-25/history/NCT09900002.html")
    assert page.title() == "History of NCT09900002"

    page.locator("#step-2").get_by_role("link").first.click()
    at("2026-11-25/history/NCT09900002-2.html")
    page.get_by_role("link", name="← history of NCT09900002").click()
    at("2026-11-25/history/NCT09900002.html#step-2")  # back at the step it came from

    page.go_back()
    at("2026-11-25/history/NCT09900002-2.html")
    page.go_back()
    at("2026-11-25/history/NCT09900002.html")

    page.get_by_role("link", name="← the night of 2026-11-25").click()
    at("2026-11-25/index.html")
    page.get_by_role("link", name="← the night of 2026-11-24").click()
    at("2026-11-24/index.html")
    page.get_by_role("link", name="all nights").click()
    at("reports/index.html")

    # the last night's "next night" has nowhere to go yet: the index says so
    page.goto((reports / "2026-11-25" / "index.html").as_uri())
    page.get_by_role("link", name="the next night →").click()
    at("reports/index.html#after-2026-11-25")
    assert page.locator("#no-next").inner_text() == "No night after 2026-11-25 yet."
    assert messages == []
    page.close()


def test_a_rule_id_opens_its_legend_entry_and_the_explain_text(reports: Path, browser: Any) -> None:
    page = browser.new_page()
    page.goto((reports / "2026-11-25" / "index.html").as_uri())
    page.locator("#pair-table").get_by_role("link", name="status-changed-to-unknown").click()
    assert page.url.endswith("#rule-status-changed-to-unknown")
    entry = page.locator("#rule-status-changed-to-unknown")
    assert entry.is_visible() and "Status became UNKNOWN" in entry.inner_text()
    entry.get_by_role("link", name="explain").click()
    page.wait_for_url("**/rules.txt")
    assert "status-changed-to-unknown  (info, scope: pair" in page.content()
    page.close()
