"""Waivers: findings accepted on purpose, each with its reason, optionally until a date.

A baseline (:mod:`auditor.baseline`) says "these were there before"; a waiver says "this one is
acceptable, because …", reviewed like code. A waiver file is YAML::

    waivers:
      - nct_id: NCT01234567
        rule: stop-reason-missing
        reason: "The sponsor withholds the reason; confirmed with them (ticket REG-42)."
        expires: 2027-01-31           # optional: until this day, inclusive
        fingerprint: 3f9a0c1d2e4b5a67  # optional: only this exact finding (rule, study, fields)

* A waiver **matches** a finding of its rule and study (and, with ``fingerprint``, only the
  finding with that fingerprint). A matched finding is not reported as open and does not fail
  the run; every report format still counts it as waived, with the reason.
* An **expired** waiver (``expires`` before ``--as-of``) suppresses nothing and is itself a
  finding, ``waiver-expired`` (warning), located at the waiver's line: renew it or fix the data.
* **Errors** (not YAML, an unknown key, a missing reason, a bad date or NCT ID, a rule no loaded
  rule file defines) name the file and line; no rule is judged against a waiver file that does
  not load (exit 2).
* ``audit check --write-waivers FILE`` writes a waiver for every open finding (ruff's
  ``--add-noqa``): appended to an existing file, its comments kept, each with a ``TODO`` reason
  to be replaced by the real one in review.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from auditor.config import did_you_mean
from auditor.errors import InputError
from auditor.findings import Finding, Severity
from auditor.records import is_valid_nct_id

KEYS = ("nct_id", "rule", "reason", "expires", "fingerprint")
REQUIRED = ("nct_id", "rule", "reason")
EXPIRED_RULE = "waiver-expired"
EXPIRED_TITLE = "Waiver expired"
EXPIRED_RATIONALE = (
    "A waiver accepts a finding until a date; after it the finding counts again, and the waiver "
    "itself is reported so that someone renews it (with a reason) or fixes the record."
)
_PLAIN_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "timestamp"))
HEADER = (
    "# audit waivers: findings accepted on purpose, each with the reason why.\n"
    "# Read by 'audit check --waivers FILE' (or 'waivers' in audit.toml / [tool.audit]).\n"
)


@dataclass(frozen=True)
class Waiver:
    """One entry of a waiver file; ``at`` is ``file:line`` of the entry."""

    nct_id: str
    rule: str
    reason: str
    expires: date | None = None
    fingerprint: str | None = None
    at: str = ""

    def matches(self, finding: Finding) -> bool:
        return (
            finding.rule_id == self.rule
            and finding.nct_id == self.nct_id
            and (self.fingerprint is None or finding.fingerprint == self.fingerprint)
        )

    def expired(self, as_of: date) -> bool:
        return self.expires is not None and as_of > self.expires


@dataclass(frozen=True)
class WaiverOutcome:
    """Findings split by the waivers: ``open`` (reported, judged against ``--fail-on``, with a
    ``waiver-expired`` finding per expired waiver), ``waived`` (each with its waiver), and the
    waivers that matched nothing."""

    open: list[Finding]
    waived: list[tuple[Finding, Waiver]]
    unused: list[Waiver]


def load_waivers(path: str | Path, known_rules: Iterable[str] | None = None) -> list[Waiver]:
    """The waivers of ``path``; :class:`InputError` with the file and line for anything wrong."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("waiver file not found", path=name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the waiver file: {exc}", path=name) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            f"not YAML: {getattr(exc, 'problem', None) or exc}",
            path=name,
            line=None if mark is None else mark.line + 1,
        ) from None
    except RecursionError:
        raise InputError("not YAML: nested too deeply", path=name) from None
    if root is None:
        return []
    entries = _entries(root, name)
    known = None if known_rules is None else set(known_rules)
    return [_waiver(node, name, known) for node in entries]


def apply_waivers(findings: Sequence[Finding], waivers: Sequence[Waiver], as_of: date) -> WaiverOutcome:
    """Split ``findings`` by ``waivers`` as of ``as_of`` (module docstring)."""
    active = [w for w in waivers if not w.expired(as_of)]
    used: set[int] = set()
    open_findings: list[Finding] = []
    waived: list[tuple[Finding, Waiver]] = []
    for finding in findings:
        match = next((n for n, w in enumerate(active) if w.matches(finding)), None)
        if match is None:
            open_findings.append(finding)
        else:
            used.add(match)
            waived.append((finding, active[match]))
    expired = [expired_finding(w) for w in waivers if w.expired(as_of)]
    unused = [w for n, w in enumerate(active) if n not in used]
    return WaiverOutcome(open_findings + expired, waived, unused)


def expired_finding(waiver: Waiver) -> Finding:
    """The ``waiver-expired`` finding of one expired waiver, at the waiver's line."""
    where, _, line = waiver.at.rpartition(":")
    expires = waiver.expires.isoformat() if waiver.expires is not None else "?"
    return Finding(
        rule_id=EXPIRED_RULE,
        severity=Severity.WARNING,
        nct_id=waiver.nct_id,
        snapshot=where,
        fields=(),
        message=f"the waiver of {waiver.rule} expired on {expires} (reason: {waiver.reason})",
        rule_source=waiver.at,
        title=EXPIRED_TITLE,
        values=(("rule", waiver.rule), ("expires", expires)),
        line=int(line) if line.isdigit() else None,
    )


def waiver_text(findings: Iterable[Finding], existing: str | None, as_of: date) -> tuple[str, int]:
    """The text of a waiver file that waives every finding of ``findings`` (one entry each, by
    fingerprint, duplicates dropped), appended to ``existing`` (a file's text) when given; and
    how many entries were added."""
    reason = f"TODO: why this is acceptable (written by audit check --write-waivers on {as_of.isoformat()})"
    entries: list[str] = []
    seen: set[str] = set()
    for f in findings:
        if f.rule_id == EXPIRED_RULE or f.fingerprint in seen:
            continue
        seen.add(f.fingerprint)
        entries.append(
            f"  - nct_id: {f.nct_id}\n"
            f"    rule: {json.dumps(f.rule_id, ensure_ascii=False)}\n"
            f"    reason: {json.dumps(reason)}\n"
            f"    fingerprint: {f.fingerprint}\n"
        )
    if existing is None or not existing.strip():
        return HEADER + "waivers:\n" + "".join(entries), len(entries)
    if not entries:
        return existing, 0
    return _append(existing, entries), len(entries)


# --- reading ------------------------------------------------------------------------------------


def _entries(root: yaml.Node, name: str) -> list[yaml.MappingNode]:
    if not isinstance(root, yaml.MappingNode):
        raise InputError("expected a mapping with a 'waivers:' list", path=name, line=_line(root))
    items: list[yaml.Node] = []
    for key, value in root.value:
        if key.value != "waivers":
            raise InputError(f"unknown key {key.value!r} (expected 'waivers')", path=name, line=_line(key))
        if isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:null":
            continue
        if not isinstance(value, yaml.SequenceNode):
            raise InputError("'waivers' must be a list", path=name, line=_line(value))
        items = list(value.value)
    for item in items:
        if not isinstance(item, yaml.MappingNode):
            raise InputError("a waiver must be a mapping (nct_id, rule, reason)", path=name, line=_line(item))
    return items


def _waiver(node: yaml.MappingNode, name: str, known: set[str] | None) -> Waiver:
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    for key, value in node.value:
        if key.value not in KEYS:
            raise InputError(
                f"unknown waiver key {key.value!r} (expected {', '.join(KEYS)})", path=name, line=_line(key)
            )
        if not isinstance(value, yaml.ScalarNode) or not str(value.value).strip():
            raise InputError(f"'{key.value}' must be a non-empty value", path=name, line=_line(value))
        if value.tag not in _PLAIN_TAGS:
            raise InputError(f"unsupported YAML tag {value.tag}", path=name, line=_line(value))
        values[key.value] = str(value.value).strip()
        lines[key.value] = _line(value)
    missing = [key for key in REQUIRED if key not in values]
    if missing:
        raise InputError(f"waiver without {', '.join(missing)}", path=name, line=_line(node))
    if not is_valid_nct_id(values["nct_id"]):
        raise InputError(f"invalid NCT ID {values['nct_id']!r}", path=name, line=lines["nct_id"])
    if known is not None and values["rule"] not in known:
        hint = did_you_mean(values["rule"], known)
        raise InputError(f"no rule {values['rule']!r}{hint}", path=name, line=lines["rule"])
    expires = None
    if "expires" in values:
        try:
            expires = date.fromisoformat(values["expires"])
        except ValueError:
            raise InputError(
                f"expires {values['expires']!r}: expected a date like 2027-01-31",
                path=name,
                line=lines["expires"],
            ) from None
    return Waiver(
        values["nct_id"],
        values["rule"],
        values["reason"],
        expires,
        values.get("fingerprint"),
        f"{name}:{_line(node)}",
    )


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _append(existing: str, entries: list[str]) -> str:
    """``entries`` added to the end of an existing file's block list, at its indentation; a file
    whose list is not the last block (or is written in flow style) is rewritten whole."""
    root = yaml.compose(existing, Loader=yaml.SafeLoader)
    block = None
    if isinstance(root, yaml.MappingNode) and root.value:
        value = root.value[-1][1]
        if isinstance(value, yaml.SequenceNode) and not value.flow_style and value.value:
            block = value
    if block is None:
        kept = [
            f"  - {_entry_text(item)}" for item in _entries(root, "") if isinstance(item, yaml.MappingNode)
        ]
        return HEADER + "waivers:\n" + "".join(kept) + "".join(entries)
    indent = max(0, block.value[0].start_mark.column - 2)
    shifted = ["".join(" " * indent + line[2:] + "\n" for line in entry.splitlines()) for entry in entries]
    return existing.rstrip("\n") + "\n" + "".join(shifted)


def _entry_text(node: yaml.MappingNode) -> str:
    pairs = [f"{key.value}: {json.dumps(str(value.value), ensure_ascii=False)}" for key, value in node.value]
    return "\n    ".join(pairs) + "\n"


__all__ = [
    "EXPIRED_RATIONALE",
    "EXPIRED_RULE",
    "EXPIRED_TITLE",
    "Waiver",
    "WaiverOutcome",
    "apply_waivers",
    "expired_finding",
    "load_waivers",
    "waiver_text",
]
