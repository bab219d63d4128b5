"""A progress bar on stderr for long runs, drawn only when stderr is a terminal.

Cron jobs, CI logs and pipes get nothing (no carriage-return noise in log files); a person at a
terminal sees ``parsing  [#########-----------]  231,000/500,000  4,120/s  ETA 1:05``. Redraws
are throttled to a few per second so that the bar never costs measurable time, and the line is
cleared when the run ends so that the one-line summary printed after it stands alone.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

BAR_WIDTH = 24
REDRAW_SECONDS = 0.2


class Progress:
    """Counts work done; draws itself on ``stream`` if that is a TTY (or ``enabled`` says so).

    ``total`` may be unknown (``None``): the bar then shows the count and rate only.
    ``clock`` is injectable so tests can drive the bar without sleeping.
    """

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_tty(self.stream) if enabled is None else enabled
        self._clock = clock
        self._started = clock()
        self._drawn_at: float | None = None
        self._width = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        """Add ``n`` units of work done; redraw if enough time has passed."""
        self.done += n
        if not self.enabled:
            return
        now = self._clock()
        if self._drawn_at is None or now - self._drawn_at >= REDRAW_SECONDS:
            self._draw(now)

    def set_total(self, total: int | None) -> None:
        self.total = total

    def render(self, now: float | None = None) -> str:
        """The bar's text at ``now`` (no control characters)."""
        elapsed = max((self._clock() if now is None else now) - self._started, 1e-9)
        rate = self.done / elapsed
        if self.total:
            frac = min(self.done / self.total, 1.0)
            filled = int(frac * BAR_WIDTH)
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            left = (self.total - self.done) / rate if rate > 0 else None
            eta = f"  ETA {_clock_text(left)}" if left is not None and self.done < self.total else ""
            return f"{self.label}  [{bar}]  {self.done:,}/{self.total:,}  {rate:,.0f}/s{eta}"
        return f"{self.label}  {self.done:,}  {rate:,.0f}/s"

    def _draw(self, now: float) -> None:
        text = self.render(now)
        pad = " " * max(self._width - len(text), 0)
        self.stream.write("\r" + text + pad)
        self.stream.flush()
        self._width = len(text)
        self._drawn_at = now

    def close(self) -> None:
        """Erase the bar (if one was drawn) so the next line starts clean."""
        if self.enabled and self._drawn_at is not None:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._drawn_at = None


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _clock_text(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
