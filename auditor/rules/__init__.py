"""Rules users write in YAML files, validated before any data is read, run as pandera checks.

``load_rules()`` reads the shipped catalogue, ``auditor/rules/catalogue/*.yaml``, package data
found with :mod:`importlib.resources` so that a wheel installed anywhere has it; ``--rules DIR``
or ``load_rules([paths])`` names other files and folders. The rule language itself is
documented in the repository's ``rules/README.md``.

Modules: :mod:`.spec` (YAML → validated specs), :mod:`.operators` (the vocabulary),
:mod:`.compile` (specs → masks → pandera schema).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from auditor.errors import RuleError, UsageError
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


@dataclass(frozen=True)
class RuleSet:
    """An ordered, id-unique collection of validated rules."""

    rules: tuple[RuleSpec, ...]

    def __iter__(self) -> Iterator[RuleSpec]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(rule.id for rule in self.rules)

    def get(self, rule_id: str) -> RuleSpec:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise UsageError(f"no rule with id {rule_id!r} (audit rules list shows them)")

    def select(self, ids_or_tags: Iterable[str]) -> RuleSet:
        """The rules whose id or one of whose tags is named; an unknown name is a usage error."""
        wanted = list(ids_or_tags)
        known = set(self.ids) | {tag for rule in self.rules for tag in rule.tags}
        unknown = [name for name in wanted if name not in known]
        if unknown:
            raise UsageError(f"no rule or tag named {', '.join(map(repr, unknown))}")
        names = set(wanted)
        return RuleSet(tuple(r for r in self.rules if r.id in names or names.intersection(r.tags)))

    def scope(self, scope: str) -> RuleSet:
        return RuleSet(tuple(r for r in self.rules if r.scope == scope))

    def param_names(self) -> set[str]:
        return {name for rule in self.rules for name in rule.params}


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
    for file in files:
        try:
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
    return RuleSet(tuple(specs))


__all__ = ["RuleErrors", "RuleSet", "RuleSpec", "default_rules_dir", "load_rules", "rule_files"]
