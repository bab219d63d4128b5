"""The staleness page in a real browser: headless Chromium opens the corpus report with no console
message (no script error, nothing blocked by the page's Content-Security-Policy), the script
sorts the table, and a screenshot shows the chart and the table.

Skips with the reason when Chromium is not installed (CI installs Debian's ``chromium``).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.cli import main

PARTRITA = "partrita__clinicaltrial-watch-tigit"


def _chromium() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.skip("Chromium is not installed (apt-get install chromium); the page is not opened in a browser")


def _run(browser: str, profile: Path, url: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
            *flags,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _console(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def corpus_page(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two nights: the 53 multi-version records (a night earlier), then the 1,178 current records."""
    out = tmp_path_factory.mktemp("reports")
    root = corpus_dir / PARTRITA
    assert (
        main(["report", "staleness", str(root / "versions"), "--as-of", "2026-03-14", "--out", str(out)]) == 0
    )
    current = root / "current_snapshots_HEAD_c69effd.tar.gz"
    assert main(["report", "staleness", str(current), "--as-of", "2026-03-15", "--out", str(out)]) == 0
    return out / "2026-03-15" / "index.html"


def test_harness_sees_console_errors(tmp_path: Path) -> None:
    """The check below means something: a page with a script error and a blocked image is caught."""
    browser = _chromium()
    bad = tmp_path / "bad.html"
    csp = "default-src 'none'; script-src 'unsafe-inline'"
    bad.write_text(
        f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="{csp}"></head>'
        '<body><img src="http://example.invalid/x.png"><script>undefinedFunction();</script></body></html>'
    )
    result = _run(browser, tmp_path / "profile", bad.as_uri(), "--dump-dom")
    console = _console(result.stderr)
    assert any("Uncaught ReferenceError" in line for line in console), result.stderr
    assert any("Content Security Policy" in line for line in console), result.stderr


def test_page_opens_without_console_messages_and_sorts(corpus_page: Path, tmp_path: Path) -> None:
    browser = _chromium()
    result = _run(browser, tmp_path / "profile", corpus_page.as_uri() + "#sort=sponsor", "--dump-dom")
    assert result.returncode == 0, result.stderr
    assert _console(result.stderr) == []
    dom = result.stdout
    assert re.search(r'<body data-js="ok"', dom), "the page script did not finish"
    assert not re.search(r"<body[^>]*data-js-error", dom)
    assert 'data-sorted="sponsor"' in dom
    rows = re.findall(r'<tr data-i="\d+">.*?</tr>', dom, flags=re.S)
    assert len(rows) > 100
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S) for row in rows]
    sponsors = [html.unescape(c[2]).lower() for c in cells]
    assert sponsors == sorted(sponsors)  # sorted by the script, in the browser


def test_screenshot_shows_the_chart_and_the_table(corpus_page: Path, tmp_path: Path) -> None:
    import matplotlib.image as mpimg
    import numpy as np

    browser = _chromium()
    shot = tmp_path / "page.png"
    result = _run(
        browser, tmp_path / "profile", corpus_page.as_uri(), f"--screenshot={shot}", "--window-size=1280,4000"
    )
    assert shot.is_file(), result.stderr
    pixels = (mpimg.imread(shot)[:, :, :3] * 255).round().astype(int)

    def rows_with(colour: str) -> np.ndarray:
        rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
        return np.nonzero((np.abs(pixels - rgb).sum(axis=2) <= 6).sum(axis=1) > 0)[0]

    unknown_bars = rows_with("#c0392b")  # UNKNOWN's colour in the chart (and the trend line)
    completed_bars = rows_with("#2e86c1")  # COMPLETED's colour: only in the age chart
    header_rows = rows_with("#eaecee")  # table header background
    assert len(completed_bars) > 50, "no bars of the age chart in the screenshot"
    assert len(unknown_bars) > 50, "no UNKNOWN bars in the screenshot"
    assert header_rows.size and header_rows.max() > completed_bars.max(), "no table below the chart"
