"""Progress for long work: one live line on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

__all__ = ["NullProgress", "Progress"]


class Progress:
    """Report progress as ``[WP05 00:42] run 2 of 4: scenario 3``.

    On a TTY the line is rewritten in place; elsewhere (CI, pipes) each update is
    its own line, so logs stay readable.  Thread-safe: WP02 and WP03 run at once.
    """

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._tty = self._stream.isatty() if tty is None else tty
        self._lock = threading.Lock()
        self._start: dict[str, float] = {}
        self._dirty = False

    def start(self, wp: str, title: str) -> None:
        """Mark *wp* as started."""
        self._start[wp] = time.monotonic()
        self.update(wp, title)

    def update(self, wp: str, message: str) -> None:
        """Show *message* for *wp* with its elapsed time."""
        elapsed = time.monotonic() - self._start.get(wp, time.monotonic())
        minutes, seconds = divmod(int(elapsed), 60)
        line = f"[{wp} {minutes:02d}:{seconds:02d}] {message}"
        with self._lock:
            if self._tty:
                width = 119
                self._stream.write("\r" + line[:width].ljust(width))
                self._dirty = True
            else:
                self._stream.write(line + "\n")
            self._stream.flush()

    def done(self, wp: str, message: str) -> None:
        """Finish *wp*'s line with *message*."""
        self.update(wp, message)
        with self._lock:
            if self._tty and self._dirty:
                self._stream.write("\n")
                self._stream.flush()
                self._dirty = False


class NullProgress(Progress):
    """Progress that prints nothing (library use, ``--json``)."""

    def __init__(self) -> None:
        super().__init__(stream=sys.stderr, tty=False)

    def update(self, wp: str, message: str) -> None:  # noqa: ARG002 - same signature as Progress
        """Print nothing."""
        return

    def done(self, wp: str, message: str) -> None:  # noqa: ARG002 - same signature as Progress
        """Print nothing."""
        return
