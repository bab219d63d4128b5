"""Write one dated report folder (``reports/2026-11-25/``) atomically. Reading the earlier nights
is :mod:`auditor.run.nights`.

Writing is all or nothing: the files are built in a hidden temp folder beside the target
(``reports/.2026-11-25.tmp-XXXX``), then renamed into place; an existing folder for the same date
is renamed away first and deleted after. A failure (disk full, permission denied) removes the
temp folder, puts the old folder back and raises :class:`~auditor.errors.OutputError`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from auditor.atomic import fsync_dir
from auditor.errors import OutputError

#: Temp folders left by a killed run are removed by a later run once they are this old.
LEFTOVER_SECONDS = 24 * 3600


def write_folder(out: Path, name: str, files: Mapping[str, bytes]) -> Path:
    """Write ``files`` into ``out/name/`` all at once (see the module docstring); a file name
    may have one folder (``history/NCT00000001.html``)."""
    target = out / name
    tmp: Path | None = None
    old: Path | None = None
    try:
        out.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(out)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=out))
        for file_name, data in files.items():
            parts = file_name.split("/")
            if any(part in ("", ".", "..") for part in parts) or len(parts) > 2:
                raise ValueError(f"unexpected report file name {file_name!r}")
            if len(parts) == 2:
                (tmp / parts[0]).mkdir(exist_ok=True)
            with open(tmp / file_name, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        for folder in {tmp, *(tmp / name.split("/")[0] for name in files if "/" in name)}:
            os.chmod(folder, 0o755)
            fsync_dir(folder)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{name}.old-", dir=out))
            os.replace(target, old)
        os.replace(tmp, target)
        tmp = None
        fsync_dir(out)
    except OSError as exc:
        if old is not None and not target.exists():
            with contextlib.suppress(OSError):
                os.replace(old, target)
                old = None
        raise OutputError(f"cannot write the report: {exc.strerror or exc}", path=target) from exc
    finally:
        for leftover in (tmp, old):
            if leftover is not None:
                shutil.rmtree(leftover, ignore_errors=True)
    return target


def _remove_leftovers(out: Path, now: float | None = None) -> None:
    """Delete our temp folders that a killed run left behind (only old ones: another run may
    be writing a fresh one right now)."""
    now = time.time() if now is None else now
    for entry in out.iterdir():
        if entry.name.startswith(".") and (".tmp-" in entry.name or ".old-" in entry.name):
            try:
                if entry.is_dir() and now - entry.stat().st_mtime > LEFTOVER_SECONDS:
                    shutil.rmtree(entry, ignore_errors=True)
            except OSError:
                continue
