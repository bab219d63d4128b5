"""The auditor's version, written in this one place: ``pyproject.toml`` reads it (setuptools
``attr:``), ``audit --version`` prints it, SARIF, JUnit and the bug line carry it."""

VERSION = "0.1.0"
