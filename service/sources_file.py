"""The sources file in force: re-read when it changes or on SIGHUP, a broken new file refused.

An operator fixes a mapping and replays, or adds a source, without restarting the API or the
workers. Every process checks the file once a second (a `stat`, nothing more when it has not
changed): in a background thread in the API and worker processes, on access elsewhere. A new
file is validated first: a broken one is refused with one logged error naming the file, key and
reason, and the last good configuration stays in force. At start-up a broken file is still fatal:
there is no last good configuration to keep.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from service.errors import ConfigError
from service.sources import Source, load_sources

CHECK_INTERVAL_SECONDS = 1.0
log = logging.getLogger("leadrelay.sources")


class SourcesFile:
    """Holds the sources in force and reloads them when the file changes."""

    def __init__(self, path: str, role: str):
        self.path = path
        self.role = role
        # The signature before the read: a change in between is then seen at the next look.
        self._signature = self._stat()
        self._sources = load_sources(path, role)
        self._checked = time.monotonic()
        self._forced = False
        self._lock = threading.Lock()

    @property
    def sources(self) -> dict[str, Source]:
        """The sources in force, after a reload if the file changed since the last look."""
        if self.path and (self._forced or time.monotonic() - self._checked >= CHECK_INTERVAL_SECONDS):
            self.check()
        return self._sources

    def watch(self) -> None:
        """Check the file once a second in the background, so an idle process keeps up too."""
        if not self.path:
            return

        def loop() -> None:
            while True:
                time.sleep(CHECK_INTERVAL_SECONDS)
                try:
                    self.check()
                except Exception:  # a watcher must outlive any one bad read
                    log.exception("sources file check failed")

        threading.Thread(target=loop, name="sources-file-watch", daemon=True).start()
        log.info("watching the sources file %s: checked once a second, re-read on SIGHUP", self.path)

    def force(self) -> None:
        """Re-read the file at the next look, changed or not (what SIGHUP does; safe in a handler)."""
        self._forced = True

    def check(self, force: bool = False) -> bool:
        """Reload the file if it changed (or a reload was forced); return True when new sources apply."""
        if not self._lock.acquire(blocking=False):
            self._forced |= force  # another thread is reloading; the next look re-reads again
            return False
        try:
            forced, self._forced = self._forced or force, False
            self._checked = time.monotonic()
            signature = self._stat()
            if signature == self._signature and not forced:
                return False
            self._signature = signature
            try:
                fresh = load_sources(self.path, self.role)
            except ConfigError as exc:
                log.error("sources file not reloaded; the last good one stays in force: %s", exc)
                return False
            self._sources = fresh
            log.info("sources file reloaded: %d source(s)", len(fresh))
            return True
        finally:
            self._lock.release()

    def _stat(self) -> tuple[int, int, int] | None:
        """What tells a changed file apart: modification time, size and inode (None: unreadable)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)
