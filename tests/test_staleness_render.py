"""The page and the Markdown of the staleness report: escaped, self-contained, deterministic."""

from __future__ import annotations

import re
from datetime import date

from auditor.findings import Finding, Severity
from auditor.reports.staleness_html import history_url, render_html
from auditor.reports.staleness_md import md, render_markdown
from auditor.staleness import NightCounts, PreviousReport, RecordSummary, build_report, previous_from_entries
from auditor.values import parse_date

AS_OF = date(2026, 11, 25)
HOSTILE = '<script>alert("x")</script> & | *bold* [link](javascript:alert(1))'


def _report(previous: PreviousReport | None = None, history: tuple[NightCounts, ...] = ()):  # type: ignore[no-untyped-def]
    summaries = [
        RecordSummary("NCT00000001", "UNKNOWN", "RECRUITING", parse_date("2019-05"), HOSTILE, HOSTILE, "a"),
        RecordSummary("NCT00000002", "RECRUITING", "", parse_date("2023-01"), "Sponsor A", "A study", "b"),
        RecordSummary("NCT00000003", "COMPLETED", "", parse_date("2026-06"), "Sponsor A", "Done", "c"),
        RecordSummary("NCT0000", "UNKNOWN", "", parse_date("2010"), "Sponsor B", "Bad id", "d"),
    ]
    findings = [
        Finding(
            "unknown-status-stale", Severity.WARNING, "NCT00000001", "a", ("overall_status",), "m", "r:1"
        ),
        Finding(
            "active-status-unverified", Severity.WARNING, "NCT00000002", "b", ("overall_status",), "m", "r:2"
        ),
        Finding("unknown-status-stale", Severity.WARNING, "NCT0000", "d", ("overall_status",), "m", "r:1"),
    ]
    return build_report(
        summaries, findings, as_of=AS_OF, previous=previous, history=history, params={"years": "2"}
    )


def test_every_record_value_is_escaped_in_html() -> None:
    page = render_html(_report())
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; | *bold*" in page
    # one script element only: ours
    assert page.count("<script>") == 1


def test_page_loads_nothing_from_the_network() -> None:
    page = render_html(_report())
    assert "Content-Security-Policy" in page and "default-src &#x27;none&#x27;" in page
    assert not re.search(
        r"""(src|href)=["']?(https?:)?//(?!clinicaltrials\.gov/study/NCT\d{8}\?tab=history)""", page
    )
    assert not re.search(r"@import|url\((?!#)", page)


def test_nct_ids_link_to_their_history_and_malformed_ones_do_not() -> None:
    page = render_html(_report())
    assert '<a href="https://clinicaltrials.gov/study/NCT00000001?tab=history"' in page
    assert history_url("NCT0000") is None
    assert "<td>NCT0000</td>" in page


def test_page_has_both_charts_when_there_is_a_trend_and_the_sortable_table() -> None:
    previous = previous_from_entries(
        date(2026, 11, 24), [{"nct_id": "NCT00000003", "overall_status": "UNKNOWN"}]
    )
    history = (NightCounts(date(2026, 11, 23), 4, 2), NightCounts(date(2026, 11, 24), 4, 1, 0, 1))
    page = render_html(_report(previous, history))
    assert page.count("<svg") == 2
    assert 'id="age-chart"' in page and 'id="trend-chart"' in page
    assert '<table id="stale-table">' in page
    for key in ("age", "sponsor", "status"):
        assert f'data-key="{key}"' in page
    assert page.count('<tr data-i="') == 3
    # the chart's legend names the statuses, the SVG carries no date
    assert ">UNKNOWN<" in page
    assert "<dc:date>" not in page


def test_rendering_is_deterministic() -> None:
    assert render_html(_report()) == render_html(_report())
    assert render_markdown(_report()) == render_markdown(_report())


def test_table_limit_keeps_the_oldest_and_says_so() -> None:
    page = render_html(_report(), table_limit=1)
    assert page.count('<tr data-i="') == 1
    assert "Showing the 1 longest unverified of 3 stale records" in page
    rows = re.findall(r'<tr data-i="\d+"><td>(?:<a [^>]*>)?(NCT\d+)', page)
    assert rows == ["NCT0000"]


def test_markdown_escapes_cells() -> None:
    assert md("a | b") == r"a \| b"
    assert md("<b>x</b> *y*") == r"&lt;b&gt;x&lt;/b&gt; \*y\*"
    assert md("two\nlines") == "two lines"
    text = render_markdown(_report())
    assert "<script>" not in text
    table_rows = [line for line in text.splitlines() if line.startswith("| [NCT00000001]")]
    assert len(table_rows) == 1
    assert table_rows[0].count(" | ") == 7  # 8 columns: the hostile pipes are escaped


def test_markdown_lists_new_and_fixed_when_there_is_a_previous_report() -> None:
    previous = previous_from_entries(
        date(2026, 11, 24),
        [{"nct_id": "NCT00000003", "overall_status": "UNKNOWN", "status_verified_date": "2019-01"}],
    )
    text = render_markdown(_report(previous))
    assert "## Newly stale (3)" in text
    assert "## Fixed (1)" in text
    assert "| [NCT00000003](https://clinicaltrials.gov/study/NCT00000003?tab=history) | re-verified |" in text
