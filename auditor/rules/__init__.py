"""Rules users write in YAML files, validated before any data is read, run as pandera checks.

``load_rules()`` reads the shipped catalogue, ``auditor/rules/catalogue/*.yaml``, package data
found with :mod:`importlib.resources` so that a wheel installed anywhere has it; ``--rules DIR``
or ``load_rules([paths])`` names other files and folders. The rule language itself is
documented in the repository's ``rules/README.md``.

Modules: :mod:`.schema` (the rule-file schema, as data), :mod:`.spec` (YAML → validated
specs), :mod:`.conditions` (a ``when`` checked against the vocabulary), :mod:`.operators` (the
vocabulary; :mod:`.list_ops` and :mod:`.pair_ops` beside it), :mod:`.params` (``--param``),
:mod:`.compile` (specs → masks → pandera schema).

A :class:`RuleSet` also holds the catalogue entries of findings no rule file defines (the
store's ``history-*`` checks, :data:`auditor.findings.HISTORY_FINDING_TYPES`), so that listing,
explaining, ``--select`` and ``--ignore`` treat them like rules. They belong to the shipped
catalogue: a run with only other ``--rules`` files does not include them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from auditor.errors import RuleError, UsageError
from auditor.findings import HISTORY_FINDING_TYPES, FindingType
from auditor.rules.nodes import shipped_catalogue
from auditor.rules.params import check_overrides
from auditor.rules.spec import RuleErrors, RuleSpec, load_rule_file

RULE_SUFFIXES = (".yaml", ".yml")


def default_rules_dir() -> Path:
    """The shipped catalogue: package data of :mod:`auditor.rules` (a real folder: the package
    is installed unzipped, as pip does)."""
    return Path(str(resources.files("auditor.rules") / "catalogue"))


def display_name(file: Path) -> str:
    """Shipped rules are named ``rules/<file>`` wherever the package is installed (stable
    ``rule_source`` values in reports, the same from a checkout and from a wheel); other files
    as given."""
    shipped = default_rules_dir()
    try:
        return (Path("rules") / file.resolve().relative_to(shipped.resolve())).as_posix()
    except ValueError:
        return str(file)


#: What a rule needs to run: ``record`` rules run on any snapshot; ``pair`` and ``history``
#: rules and the store's checks need a store's timelines (``--store DIR --history``).
NEEDS_HISTORY = frozenset({"pair", "history", "store"})


@dataclass(frozen=True)
class RuleSet:
    """An ordered, id-unique collection of validated rules, and the catalogued finding types
    that are not rule files' rules (``builtins``: the store's history checks). Iterating gives
    the rules."""

    rules: tuple[RuleSpec, ...]
    builtins: tuple[FindingType, ...] = ()

    def __iter__(self) -> Iterator[RuleSpec]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def ids(self) -> tuple[str, ...]:
        """The rules' ids, in order."""
        return tuple(rule.id for rule in self.rules)

    @property
    def entries(self) -> tuple[RuleSpec | FindingType, ...]:
        """Rules and catalogued finding types: what ``audit rules list`` shows."""
        return (*self.rules, *self.builtins)

    def get(self, rule_id: str) -> RuleSpec | FindingType:
        for entry in self.entries:
            if entry.id == rule_id:
                return entry
        raise UsageError(f"no rule with id {rule_id!r} (audit rules list shows them)")

    def _matching(self, ids_or_tags: Iterable[str], option: str) -> set[str]:
        wanted = list(ids_or_tags)
        known = {entry.id for entry in self.entries} | {tag for entry in self.entries for tag in entry.tags}
        unknown = [name for name in wanted if name not in known]
        if unknown:
            raise UsageError(f"{option}: no rule or tag named {', '.join(map(repr, unknown))}")
        names = set(wanted)
        return {entry.id for entry in self.entries if entry.id in names or names.intersection(entry.tags)}

    def select(self, ids_or_tags: Iterable[str]) -> RuleSet:
        """The rules whose id or one of whose tags is named; an unknown name is a usage error."""
        keep = self._matching(ids_or_tags, "--select")
        return RuleSet(
            tuple(r for r in self.rules if r.id in keep), tuple(b for b in self.builtins if b.id in keep)
        )

    def ignore(self, ids_or_tags: Iterable[str]) -> RuleSet:
        """All but the rules whose id or one of whose tags is named (``--ignore``)."""
        drop = self._matching(ids_or_tags, "--ignore")
        return RuleSet(
            tuple(r for r in self.rules if r.id not in drop),
            tuple(b for b in self.builtins if b.id not in drop),
        )

    def scope(self, *scopes: str) -> RuleSet:
        """The rules of these scopes (``record``, ``pair``, ``history``), without the builtins."""
        return RuleSet(tuple(r for r in self.rules if r.scope in scopes))

    def param_names(self) -> set[str]:
        return {name for rule in self.rules for name in rule.params}

    def check_params(self, overrides: Mapping[str, Any]) -> None:
        """Refuse ``--param`` names the selected rules do not take, or share with different
        defaults (:func:`auditor.rules.params.check_overrides`)."""
        check_overrides(self.rules, overrides)

    def runnable(self, *, history: bool) -> tuple[RuleSet, tuple[str, ...]]:
        """The rules that can run, and the ids of those that cannot: without a store's timelines
        (``history`` false) pair and history rules and the store's checks have nothing to read.
        Selecting only rules that cannot run is a usage error, not a clean run."""
        if history:
            return self, ()
        skipped = tuple(e.id for e in self.entries if e.scope in NEEDS_HISTORY)
        if skipped and len(skipped) == len(self.entries):
            raise UsageError(
                f"the selected rules ({', '.join(skipped)}) compare snapshots over time and need "
                "--store DIR --history; nothing would be checked"
            )
        return RuleSet(tuple(r for r in self.rules if r.scope not in NEEDS_HISTORY)), skipped


def rule_files(paths: Sequence[Path | str]) -> list[Path]:
    """Rule files under ``paths`` (folders: their ``*.yaml`` / ``*.yml``, sorted)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            # not only regular files: a FIFO or a link to nowhere is an error when read, not skipped
            files.extend(sorted(p for p in path.iterdir() if p.suffix in RULE_SUFFIXES and not p.is_dir()))
        elif path.exists():
            files.append(path)
        else:
            raise RuleErrors([RuleError("no such rule file or folder", path=path)])
    return files


def load_rules(paths: Sequence[Path | str] | None = None) -> RuleSet:
    """Load and validate every rule file; any error anywhere raises :class:`RuleErrors` (all of
    them listed) and no rule is returned, so a broken catalogue never half-runs."""
    files = rule_files([default_rules_dir()] if paths is None else paths)
    errors: list[RuleError] = []
    specs: list[RuleSpec] = []
    seen: dict[str, RuleSpec] = {}
    shipped = default_rules_dir().resolve()
    for file in files:
        try:
            with shipped_catalogue() if file.resolve().parent == shipped else nullcontext():
                loaded = load_rule_file(file, display_name(file))
        except RuleErrors as exc:
            errors.extend(exc.errors)
            continue
        for spec in loaded:
            if spec.id in seen:
                errors.append(
                    RuleError(
                        f"rule id {spec.id!r} already defined at {seen[spec.id].location}",
                        path=file,
                        line=spec.line,
                    )
                )
                continue
            seen[spec.id] = spec
            specs.append(spec)
    if errors:
        raise RuleErrors(errors)
    if not specs:
        raise RuleErrors(
            [RuleError("no rules found", path=", ".join(map(str, paths or [default_rules_dir()])))]
        )
    with_store_checks = any(file.resolve().parent == shipped for file in files)
    builtins = tuple(b for b in HISTORY_FINDING_TYPES if b.id not in seen) if with_store_checks else ()
    return RuleSet(tuple(specs), builtins)


__all__ = ["RuleErrors", "RuleSet", "RuleSpec", "default_rules_dir", "load_rules", "rule_files"]
