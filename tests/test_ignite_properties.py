"""Property tests: the Ignite reader only ever fails with InputError, and write → read is
lossless for records whose values avoid the documented ambiguities."""

from __future__ import annotations

from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.errors import InputError
from auditor.fields import registry
from auditor.ignite_writer import (
    RESULTS_MODULES,
    ambiguous_lines,
    expected_after_pages,
    expected_after_round_trip,
    read_pages,
    write_ignite_pages,
    write_ignite_text,
)
from auditor.readers.ignite_text import read_ignite_text
from auditor.readers.typing import type_field
from auditor.records import HEADER_SECTION, Field, Record, Source, SourceFormat

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

REG = registry()
LABELS = sorted({s.label for s in REG.specs} | {a for s in REG.specs for a in s.aliases})
PATH_LABELS = [
    "contactsLocationsModule.locations[0].facility",
    "armsInterventionsModule.armGroups[1].description",
    "clinical_study.location[0].facility.name",
    "designModule.phases[0]",
]
UNKNOWN_LABELS = ["Summary Flag", "Has Something Else?", "If Other, Which #", "Extra Note"]

# Pieces that make hostile pages: real labels, headings, relation lines, separators.
TOKENS = [
    *LABELS,
    *PATH_LABELS,
    *REG.sections,
    "Viewing Study NCT01234567",
    "Viewing Study",
    "Ignite Creation Date: 2025-12-24 @ 6:59 PM",
    "Ignite Modification Date: 2026-13-05 @ 4:48 PM",
    "NCT ID: NCT01234567",
    "Study: NCT01234567",
    "Study Brief:",
    "Description Module",
    "Study -> Protocol Section -> Description Module",
    "Adverse Events Module",
    "Study -> Results Section -> Adverse Events Module -> Event Groups",
    "Pre Assignment Details:",
    "Event Groups(If Any):",
    "Study Brief: A title",
    "Results Section: NCT01234567",
    ":",
    ": ",
    "\n",
    "\r\n",
    "\r",
    "\n\n",
    " ",
    "\t",
    "None",
    "N/A",
    "True",
    "2020-09",
    "\ufeff",
    "é",
    "\x00",
]

pages = st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=12)), max_size=60).map("".join)


@SETTINGS
@given(pages)
def test_reader_only_raises_input_error_on_text(page: str) -> None:
    try:
        records = read_ignite_text(page.encode("utf-8", "surrogatepass"), "fuzz.txt")
    except InputError as exc:
        assert exc.path == "fuzz.txt"
        return
    for record in records:
        if isinstance(record, Record):
            assert record.nct_id.startswith("NCT")
            assert all(f.line is not None and f.line >= 1 for f in record.fields)


@SETTINGS
@given(st.binary(max_size=400) | pages.map(lambda p: p.encode("utf-16", "surrogatepass")))
def test_reader_only_raises_input_error_on_bytes(data: bytes) -> None:
    try:
        read_ignite_text(data, "fuzz.bin")
    except InputError as exc:
        assert exc.path == "fuzz.bin"


# --- round trip ------------------------------------------------------------------------------

# Text without line breaks, NUL or surrogates (a value's first line may hold anything else).
line_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"),
    max_size=40,
)
# Continuation lines that cannot start a field or be a heading: they start with a digit, a
# bullet or white space followed by text; blank lines only inside a value.
continuation = st.builds(
    lambda head, rest: head + rest,
    st.sampled_from(["1", "- ", "* ", "  ", "\t", "9. ", "(a) "]),
    line_text.filter(lambda t: t.strip() != ""),
)


@st.composite
def raw_values(draw: st.DrawFn) -> str:
    first = draw(line_text)
    more = draw(st.lists(st.one_of(continuation, st.just("")), max_size=4))
    while more and more[-1] == "":
        more.pop()
    return "\n".join([first, *more])


@st.composite
def fields(draw: st.DrawFn) -> Field:
    section = draw(st.sampled_from([HEADER_SECTION, *REG.sections]))
    choices = [*LABELS, *PATH_LABELS]
    if section == HEADER_SECTION:
        choices += UNKNOWN_LABELS  # unknown labels are trusted in the summary block
    label = draw(st.sampled_from(choices))
    field, _ = type_field(section, label, draw(raw_values()))
    return field


minute_stamps = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0)
)


@st.composite
def records(draw: st.DrawFn) -> Record:
    nct = "NCT" + draw(st.text("0123456789", min_size=8, max_size=8))
    return Record(
        nct_id=nct,
        source=Source("generated", SourceFormat.CTGOV_JSON, "0" * 64),
        fields=tuple(draw(st.lists(fields(), max_size=25))),
        ignite_created=draw(st.none() | minute_stamps),
        ignite_modified=draw(st.none() | minute_stamps),
    )


@SETTINGS
@given(records())
def test_write_then_read_gives_the_same_record(record: Record) -> None:
    text = write_ignite_text(record)
    assert text.endswith("\n")
    [back] = read_ignite_text(text.encode("utf-8"), "round.txt")
    assert isinstance(back, Record)
    assert back.nct_id == record.nct_id
    assert (back.ignite_created, back.ignite_modified) == (record.ignite_created, record.ignite_modified)
    assert back.truncated is False
    wanted = [(f.section, f.label, f.key, f.raw, f.type, f.value) for f in expected_after_round_trip(record)]
    assert [(f.section, f.label, f.key, f.raw, f.type, f.value) for f in back.fields] == wanted
    assert ambiguous_lines(record) == []


# --- module pages ----------------------------------------------------------------------------

RESULTS_LABELS = [
    label
    for module in RESULTS_MODULES
    for name in (
        *REG.ignite_modules[module].fields,
        *(f"{n}[0].title" for n in REG.ignite_modules[module].nested),
    )
    for label in (f"{module}.{name}",)
]


@st.composite
def results_records(draw: st.DrawFn) -> Record:
    """Records with their NCT ID field, protocol fields and results fields, as the JSON reader
    labels them."""
    nct = "NCT" + draw(st.text("0123456789", min_size=8, max_size=8))
    protocol = [type_field("Study Overview", "Study NCT ID", nct)[0]]
    protocol += draw(
        st.lists(fields().filter(lambda f: f.section != HEADER_SECTION and f.key != "nct_id"), max_size=8)
    )
    results = [
        type_field("Results", label, draw(raw_values()))[0]
        for label in draw(st.lists(st.sampled_from(RESULTS_LABELS), max_size=12, unique=True))
    ]
    return Record(
        nct_id=nct,
        source=Source("generated", SourceFormat.CTGOV_JSON, "0" * 64),
        fields=tuple(protocol + results),
        ignite_created=draw(st.none() | minute_stamps),
        ignite_modified=draw(st.none() | minute_stamps),
    )


@SETTINGS
@given(results_records())
def test_module_pages_read_back_as_the_record(record: Record) -> None:
    """The study page and a page per results module, read and merged, give the record's fields
    (keys, raw text, types, sections) back; labels are the module page's own."""
    pages = write_ignite_pages(record)
    assert all(page.text.endswith("\n") for page in pages)
    back = read_pages(pages)
    assert back.nct_id == record.nct_id and back.truncated is False
    wanted = [(f.section, f.key, f.raw, f.type, f.value) for f in expected_after_pages(record)]
    assert [(f.section, f.key, f.raw, f.type, f.value) for f in back.fields] == wanted
