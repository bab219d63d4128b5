"""How much a change matters: ``material`` > ``minor`` > ``administrative`` > ``cosmetic``.

The table is data (``auditor/data/materiality.yaml``, with its sources): the first rule whose
key globs (list indices written ``[]``) or History-of-Changes modules match gives the grade,
then a cap by semantic class (whitespace or respelling is cosmetic wherever it is).
"""

from __future__ import annotations

import fnmatch
import functools
import re
from enum import StrEnum
from importlib import resources
from typing import NamedTuple

import yaml


class Grade(StrEnum):
    MATERIAL = "material"
    MINOR = "minor"
    ADMINISTRATIVE = "administrative"
    COSMETIC = "cosmetic"

    @property
    def rank(self) -> int:
        """3 for material … 0 for cosmetic: ``a.rank >= b.rank`` is "at least as grave"."""
        return _RANK[self]


_RANK = {Grade.MATERIAL: 3, Grade.MINOR: 2, Grade.ADMINISTRATIVE: 1, Grade.COSMETIC: 0}


class GradeRule(NamedTuple):
    grade: Grade
    keys: tuple[str, ...]
    modules: frozenset[str]
    why: str


class GradeTable(NamedTuple):
    rules: tuple[GradeRule, ...]
    caps: dict[str, Grade]
    default: Grade


@functools.cache
def grade_table() -> GradeTable:
    text = resources.files("auditor.data").joinpath("materiality.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    rules = tuple(
        GradeRule(
            Grade(rule["grade"]),
            tuple(str(k) for k in rule.get("keys", ())),
            frozenset(rule.get("modules", ())),
            " ".join(str(rule.get("why", "")).split()),
        )
        for rule in data["rules"]
    )
    caps = {str(k): Grade(v) for k, v in data["caps"].items()}
    return GradeTable(rules, caps, Grade(data["default"]))


_INDEX = re.compile(r"\[\d+\]")


def pattern_key(key: str) -> str:
    """The key with list indices written ``[]`` (``locations[3].city`` → ``locations[].city``)."""
    return _INDEX.sub("[]", key) if "[" in key else key


def _glob(pattern: str) -> str:
    """``[]`` in a rule is literal, not a character class."""
    return pattern.replace("[]", "[[][]]")


@functools.lru_cache(maxsize=1 << 14)
def key_grade(key: str, module: str) -> Grade:
    """The grade of any change of the field ``key`` (before the semantic-class cap)."""
    table = grade_table()
    general = pattern_key(key)
    for rule in table.rules:
        if module in rule.modules or any(fnmatch.fnmatchcase(general, _glob(p)) for p in rule.keys):
            return rule.grade
    return table.default


def grade_of(key: str, module: str, semantic: str) -> Grade:
    """The grade of a change of class ``semantic`` to the field ``key`` in ``module``."""
    grade = key_grade(key, module)
    cap = grade_table().caps.get(semantic)
    return cap if cap is not None and cap.rank < grade.rank else grade
