"""ClinicalTrials.gov JSON → records: API v2 studies and the classic API v1 shapes.

Accepted shapes (anything else is :class:`~auditor.errors.InputError` "not a study record"):

* one API v2 study object (``{"protocolSection": …}``) — one record named by the file path,
  hashed over the file bytes;
* a list of studies, an API v2 search response ``{"studies": […]}`` and a classic API v1
  search response ``{"FullStudiesResponse": {"FullStudies": [{"Study": …}, …]}}`` — one record
  per element, named ``file#index`` and hashed over the element's canonical JSON (keys sorted,
  no spaces, UTF-8), so the same study in two exports has the same hash whatever the order of
  keys. A bad element (no valid NCT ID, a section that is not an object) is an error naming
  ``file#index``; the other elements still come out. A list in which no element looks like a
  study at all is one error for the file;
* a classic API v1 study (``{"Study": …}``, optionally with ``Rank``, or a bare
  ``{"ProtocolSection": …}``) — one record, like a v2 study;
* a classic API v1 StudyFields response (``{"StudyFieldsResponse": {"StudyFields": […]}}``) —
  one record per element, as :mod:`auditor.readers.ctgov_classic` describes.

Classic v1 full studies are first renamed to the v2 shape
(:func:`auditor.readers.ctgov_classic.from_classic`) so that registry fields get the same keys
as in v2.

The NCT ID is taken without surrounding whitespace (``" NCT12345678"`` is ``NCT12345678``), as
every reader takes it; the field keeps the raw text as written.

Flattening: every leaf of the study becomes one field, in document order. Registered paths
(``fields.yaml`` ``json:``) get the registry key, label and section; any other leaf gets a path
label — its path below the section root (``contactsLocationsModule.locations[0].facility``),
or ``study.<key>`` for top-level keys outside the ``…Section`` objects. JSON scalars become raw
text the way an Ignite page writes them (``True``/``False``, ``None`` for null); an empty list
or object becomes one field with raw ``""`` so the leaf is not lost.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from auditor.errors import InputError
from auditor.fields import FieldSpec, registry, snake
from auditor.readers.ctgov_classic import from_classic, read_study_fields, study_fields_list
from auditor.readers.decode import canonical_sha256, decode_text
from auditor.readers.typing import ColumnBuilder, registered_field, scalar_raw
from auditor.records import FieldColumns, Record, Source, SourceFormat, is_valid_nct_id

#: Section of fields outside any ``…Section`` object and of unknown modules.
MISC_SECTION = "Misc"


def read_ctgov_json(data: bytes, path: str) -> list[Record | InputError]:
    """Every study in one JSON input, or the error of each element that is not one.

    Raises :class:`InputError` when the file is not JSON (with line and column) or holds no
    study at all.
    """
    text, decode_problems = decode_text(data, path)
    duplicates: list[str] = []
    try:
        document = json.loads(text, object_pairs_hook=_keep_last_noting(duplicates))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", path=path, line=exc.lineno
        ) from None
    except RecursionError:
        raise InputError("invalid JSON: nested too deeply", path=path) from None
    if duplicates:
        names = ", ".join(sorted(set(duplicates))[:5])
        decode_problems.append(f"duplicate JSON keys, the last value of each was kept: {names}")
    if "\\ud" in text or "\\uD" in text:
        document = replace_lone_surrogates(document, decode_problems)

    pieces = study_fields_list(document)
    if pieces is not None:
        return read_study_fields(pieces, path, decode_problems)
    elements = _study_list(document)
    if elements is None:
        try:
            study = _as_study(document)
            if study is None:
                raise InputError("not a study record (no protocolSection)", path=path)
            return [_read_study(study, path, hashlib.sha256(data).hexdigest(), decode_problems)]
        except RecursionError:
            raise InputError("JSON nested too deeply to be a study record", path=path) from None

    if not elements:
        raise InputError("no study records (empty list)", path=path)
    out: list[Record | InputError] = []
    for index, element in enumerate(elements):
        name = f"{path}#{index}"
        try:
            study = _as_study(element)
            if study is None:
                out.append(InputError("not a study record (no protocolSection)", path=name))
                continue
            out.append(_read_study(study, name, canonical_sha256(element), decode_problems))
        except InputError as exc:
            out.append(exc)
        except RecursionError:
            out.append(InputError("JSON nested too deeply to be a study record", path=name))
    if all(isinstance(item, InputError) and item.message.startswith("not a study record") for item in out):
        raise InputError("not a study record (no element has a protocolSection)", path=path)
    return out


def _keep_last_noting(duplicates: list[str]) -> Any:
    """A ``json.loads`` hook that builds dicts as usual (the last of repeated keys wins, as in
    every JSON parser) but notes the repeated names, so the loss is reported, not silent."""

    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        built = dict(pairs)
        if len(built) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    duplicates.append(key)
                seen.add(key)
        return built

    return build


def replace_lone_surrogates(document: Any, problems: list[str]) -> Any:
    """A ``\\ud800`` escape without its pair decodes to a string no UTF-8 output can hold (every
    report and the store would fail on it); such characters become U+FFFD and a problem says so."""
    text = json.dumps(document, ensure_ascii=False)
    clean = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if clean == text:
        return document
    problems.append("lone UTF-16 surrogate escapes replaced by U+FFFD")
    return json.loads(clean)


def _study_list(document: Any) -> list[Any] | None:
    """The elements of a multi-study container, or ``None`` when ``document`` is not one."""
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        return None
    studies = document.get("studies")
    if isinstance(studies, list):
        return studies
    response = document.get("FullStudiesResponse")
    if isinstance(response, dict):
        full = response.get("FullStudies")
        return full if isinstance(full, list) else []
    return None


def _as_study(element: Any) -> dict[str, Any] | None:
    """The v2-shaped study object of one element, or ``None`` when it is not a study."""
    if not isinstance(element, dict):
        return None
    if "protocolSection" in element:
        return element
    inner = element.get("Study")
    if isinstance(inner, dict):
        element = inner
    if "ProtocolSection" in element:
        converted = from_classic(element)
        return converted if isinstance(converted, dict) else None
    return None


def _read_study(study: dict[str, Any], name: str, digest: str, decode_problems: list[str]) -> Record:
    nct_id = _nct_id(study, name)
    fields, problems = flatten_study(study)
    return Record(
        nct_id=nct_id,
        source=Source(name, SourceFormat.CTGOV_JSON, digest),
        columns=fields,
        problems=(*decode_problems, *problems),
    )


def _nct_id(study: dict[str, Any], name: str) -> str:
    protocol = study.get("protocolSection")
    if not isinstance(protocol, dict):
        raise InputError("protocolSection is not an object", path=name)
    ident = protocol.get("identificationModule")
    if not isinstance(ident, dict):
        raise InputError("no identificationModule (no NCT ID)", path=name)
    nct_id = ident.get("nctId")
    if nct_id is None:
        raise InputError("no NCT ID (identificationModule.nctId)", path=name)
    if not isinstance(nct_id, str) or not is_valid_nct_id(nct_id.strip()):
        raise InputError(f"invalid NCT ID {nct_id!r}", path=name)
    return nct_id.strip()


# --- flattening -------------------------------------------------------------------------------


def flatten_study(study: dict[str, Any]) -> tuple[FieldColumns, tuple[str, ...]]:
    """Every leaf of a v2-shaped study as a typed field, and the typing problems met."""
    reg = registry()
    walker = _Walker(reg.by_json, reg.module_sections)
    for top, value in study.items():
        if top.endswith("Section") and isinstance(value, dict):
            if not value:
                walker.leaf("", top, f"study.{top}", f"study.{_snake(top)}", MISC_SECTION)
            for module, content in value.items():
                section = reg.module_sections.get(module, MISC_SECTION)
                json_path = f"{top}.{module}"
                if isinstance(content, dict | list) and content:
                    walker.walk(content, json_path, module, _snake(module), section)
                else:
                    walker.walk(content, json_path, json_path, _path_key(json_path), section)
        else:
            walker.walk(value, top, f"study.{top}", f"study.{_snake(top)}", MISC_SECTION)
    return walker.fields.columns(), tuple(walker.problems)


class _Walker:
    """Depth-first walk building fields; keys are built segment by segment, never re-parsed."""

    __slots__ = ("by_json", "fields", "module_sections", "problems")

    def __init__(self, by_json: dict[str, FieldSpec], module_sections: dict[str, str]) -> None:
        self.by_json = by_json
        self.module_sections = module_sections
        self.fields = ColumnBuilder()
        self.problems: list[str] = []

    def walk(self, value: Any, json_path: str | None, label: str, key: str, section: str) -> None:
        """``json_path`` is the registry lookup path; ``None`` inside lists (never registered)."""
        if isinstance(value, dict):
            if not value:
                self.leaf("", json_path, label, key, section)
                return
            for name, child in value.items():
                self.walk(
                    child,
                    None if json_path is None else f"{json_path}.{name}",
                    f"{label}.{name}",
                    f"{key}.{_snake(name)}",
                    section,
                )
        elif isinstance(value, list):
            if not value:
                self.leaf("", json_path, label, key, section)
                return
            for index, child in enumerate(value):
                self.walk(child, None, f"{label}[{index}]", f"{key}[{index}]", section)
        else:
            self.leaf(scalar_raw(value), json_path, label, key, section)

    def leaf(self, raw: str, json_path: str | None, label: str, key: str, section: str) -> None:
        spec = None if json_path is None else self.by_json.get(json_path)
        if spec is None:
            self.fields.add_untyped(section, label, key, raw)
            return
        field, problem = registered_field(spec, raw)
        self.fields.add(field)
        if problem is not None:
            self.problems.append(problem)


@lru_cache(maxsize=4096)
def _snake(name: str) -> str:
    return snake(name)


@lru_cache(maxsize=1024)
def _path_key(label: str) -> str:
    return ".".join(_snake(part) for part in label.split("."))


__all__ = ["flatten_study", "read_ctgov_json"]
