"""A disk cache of remote objects, for the loader: byte limit, LRU eviction, pins, processes.

Layout of the cache folder:

    index.sqlite   one row per entry: key, URL, size, ready or downloading, last use
    lock           `flock`ed around every change of the index (a short critical section)
    data/KEY       a cached object; each open `CacheEntry` holds a shared `flock` on it (its pin)
    partial/KEY    an object being downloaded
    locks/KEY      held (exclusively) by the one process downloading KEY; others wait on it

Rules that make it safe for several processes on one node:

- Entries are keyed by URL and checksum (or the object's ETag or mtime when no checksum is
  given), so a changed object is never served from an old copy.
- An object is downloaded once per node: the first process to want it takes its key lock;
  the others wait, then find it ready.
- Room is made before a download, by evicting the least recently used entries that nobody
  has open: eviction takes an exclusive, non-blocking `flock` on the entry, which fails
  while any process holds it. A pinned entry is never evicted; when pins alone exceed the
  limit the cache goes over it (with a warning) rather than deadlock, and comes back under
  it as pins are released and new entries need room.
- Pins and key locks are `flock`s, which the kernel drops when a process dies: a crashed
  process leaves nothing pinned, and its half-done download is reclaimed by the next
  process that needs room.
- Downloads are verified against the checksum recorded at write time; a mismatch is fetched
  once more, then raises `IntegrityError` naming the object. They are not fsynced: an entry
  written before the machine restarted is checked against its checksum before it is trusted.
- `prefetch` downloads in the background (daemon threads) into free room only: it never
  evicts, and pins nothing. Once a prefetch fails, those queued for the next 30 s are
  dropped: opening an object fetches it on demand, with its own retries.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from lmio._units import format_bytes, parse_size
from lmio.errors import FormatError, IntegrityError, InvalidArgumentError, LmioError
from lmio.store._checksums import Checksum
from lmio.store._files import _not_found_as_lmio, is_local
from lmio.store._remote import Remote, merge_storage_options, remote
from lmio.store._transfer import iter_parts, object_size

__all__ = ["CacheEntry", "DiskCache"]

logger = logging.getLogger(__name__)


def _boot_id() -> str:
    """This boot of the machine, or "" where the kernel does not say (then data is fsynced)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


# Downloads are not fsynced when the boot is known: an entry written in an earlier boot is
# checked against its checksum before it is trusted, so a crash costs a re-download.
_BOOT = _boot_id()
_FORMAT = "lmio.disk-cache"
# After a prefetch fails (its retries spent), the queued ones are dropped for this long
# rather than each retrying storage that is down.
_PREFETCH_PAUSE = 30
_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    size INTEGER NOT NULL,
    ready INTEGER NOT NULL,
    last_used REAL NOT NULL,
    boot TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_use ON entries (ready, last_used);
"""


class CacheEntry:
    """A cached object, pinned (never evicted) until `release()` or the end of a `with`.

    `path` is a local file to read (memory-map it, hand it to pyarrow). For a local URL it
    is the file itself, and nothing is pinned.
    """

    def __init__(self, url: str, path: Path, size: int, pin: IO[bytes] | None) -> None:
        self.url = url
        self.path = path
        self.size = size
        self._pin = pin

    @property
    def released(self) -> bool:
        return self._pin is None or self._pin.closed

    def release(self) -> None:
        if self._pin is not None:
            self._pin.close()

    def __enter__(self) -> CacheEntry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "released" if self.released else "pinned"
        return f"CacheEntry({self.url!r}, path={str(self.path)!r}, {state})"


@dataclass
class _ProcessState:
    """What must not cross a fork: the lock file's descriptor and the index connection."""

    pid: int
    lock: IO[bytes]
    db: sqlite3.Connection


class DiskCache:
    """Remote objects cached under `root`, at most `max_bytes` (`20GB`, `512MiB`, an int).

    Open one per process (or share one between threads); every process on a node may use
    the same `root`.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        max_bytes: int | str,
        storage_options: dict[str, Any] | None = None,
        prefetch_threads: int = 4,
    ) -> None:
        self.root = Path(root)
        self.max_bytes = parse_size(max_bytes, what="max_bytes")
        if self.max_bytes <= 0:
            raise InvalidArgumentError(f"max_bytes must be positive, got {max_bytes!r}")
        self.storage_options = dict(storage_options or {})
        for folder in ("data", "partial", "locks"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        self.prefetch_threads = prefetch_threads
        self._thread_lock = threading.Lock()
        self._state: _ProcessState | None = None
        self._prefetcher: _Prefetcher | None = None
        self._prefetch_paused_until = 0.0
        self._trusted: set[str] = set()  # keys seen ready, from this boot, by this process
        self._touched: dict[str, float] = {}  # hits not yet written to the index
        self._warned_over = False
        with self._critical():
            pass  # creates, or checks the version of, the index

    # -- public -------------------------------------------------------------------------

    def open(
        self,
        url: str,
        *,
        checksum: str | None = None,
        size: int | None = None,
        offset: int | None = None,
        storage_options: dict[str, Any] | None = None,
    ) -> CacheEntry:
        """The object at `url` as a pinned local file, downloaded first if not cached.

        `checksum` (`sha256:<hex>`) and `size`, as a manifest records them, key the entry and
        verify the download; without a checksum, one HEAD finds the object's ETag (or mtime)
        and size, and the download is checked against the size only. With `offset`, the
        entry is the `size` bytes of the object from there (a shard's row group), checked
        against `checksum`, which is then required.
        """
        if is_local(url) and offset is None:
            path = Path(url[len("file://") :] if url.startswith("file://") else url)
            return CacheEntry(url, path, path.stat().st_size if size is None else size, None)
        key, target, expected, size = self._resolve(url, checksum, size, offset, storage_options)
        found = self._lookup(key, url, expected)
        if found is not None:
            return found
        with _exclusive(self.root / "locks" / key), _not_found_as_lmio(url):
            found = self._lookup(key, url, expected)
            if found is not None:
                return found
            entry = self._fetch(key, target, expected, size, offset=offset)
            assert entry is not None  # only a prefetch finds no room
            return entry

    def prefetch(
        self,
        url: str,
        *,
        checksum: str | None = None,
        size: int | None = None,
        offset: int | None = None,
        storage_options: dict[str, Any] | None = None,
    ) -> Future[bool]:
        """Start downloading `url` (or its `size` bytes from `offset`, as `open` takes them)
        in the background, into free room only (a prefetch never evicts); the future says
        whether it downloaded anything. A failed prefetch is only logged: opening the object
        later downloads it again, and raises."""
        if self._prefetcher is None or self._prefetcher.pid != os.getpid():
            self._prefetcher = _Prefetcher(self.prefetch_threads)
        return self._prefetcher.submit(
            lambda: self._prefetch(url, checksum, size, offset, storage_options)
        )

    @property
    def usage(self) -> int:
        """Bytes held or reserved by entries, in use or not."""
        with self._critical() as db:
            return int(db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0])

    def urls(self) -> list[str]:
        """URLs of the cached objects, least recently used first."""
        with self._critical() as db:
            rows = db.execute("SELECT url FROM entries WHERE ready = 1 ORDER BY last_used")
            return [url for (url,) in rows]

    def clear(self) -> None:
        """Evict every entry that no process has open."""
        with self._critical() as db:
            for (key,) in db.execute("SELECT key FROM entries WHERE ready = 1").fetchall():
                self._evict(db, key)

    def __repr__(self) -> str:
        return f"DiskCache({str(self.root)!r}, max_bytes={self.max_bytes})"

    def __getstate__(self) -> dict[str, Any]:
        """Pickled into worker processes: the lock and index connection are made anew there."""
        state = self.__dict__.copy()
        state["_thread_lock"] = None
        state["_state"] = None
        state["_prefetcher"] = None
        state["_trusted"] = set()
        state["_touched"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._thread_lock = threading.Lock()

    # -- entries ------------------------------------------------------------------------

    def _resolve(
        self,
        url: str,
        checksum: str | None,
        size: int | None,
        offset: int | None,
        storage_options: dict[str, Any] | None,
    ) -> tuple[str, Remote, Checksum | None, int | None]:
        """The entry's key, the remote object, its checksum and its size (if known)."""
        target = remote(url, merge_storage_options(self.storage_options, storage_options))
        expected = Checksum(checksum) if checksum is not None else None
        if offset is not None:
            if checksum is None or size is None or offset < 0 or size <= 0:
                raise InvalidArgumentError(
                    "a cached byte range needs its checksum, a positive size and an offset >= 0"
                )
            version = f"{checksum}\n{offset}"
        elif checksum is None:
            with _not_found_as_lmio(url):
                version, size = self._version(target)
        else:
            version = checksum
        return hashlib.sha256(f"{url}\n{version}".encode()).hexdigest()[:40], target, expected, size

    def _prefetch(
        self,
        url: str,
        checksum: str | None,
        size: int | None,
        offset: int | None,
        storage_options: dict[str, Any] | None,
    ) -> bool:
        if time.monotonic() < self._prefetch_paused_until:
            return False  # the storage failed a prefetch just now: reads fetch on demand
        try:
            key, target, expected, size = self._resolve(
                url, checksum, size, offset, storage_options
            )
            if self._ready(key):
                return False
            with _exclusive(self.root / "locks" / key):
                if self._ready(key):
                    return False
                entry = self._fetch(key, target, expected, size, room_only=True, offset=offset)
        except Exception as exc:  # opening it will try again, and raise
            self._prefetch_paused_until = time.monotonic() + _PREFETCH_PAUSE
            logger.info(
                "prefetching %s failed: %s; the queued prefetches are dropped for %d s",
                url,
                exc,
                _PREFETCH_PAUSE,
            )
            return False
        if entry is None:
            return False
        entry.release()
        return True

    def _ready(self, key: str) -> bool:
        if key in self._trusted and (self.root / "data" / key).exists():
            return True
        with self._critical() as db:
            row = db.execute("SELECT 1 FROM entries WHERE key = ? AND ready = 1", (key,))
            return row.fetchone() is not None

    def _version(self, target: Remote) -> tuple[str, int]:
        target.fs.invalidate_cache(target.path)
        info = target.call("HEAD", lambda: target.fs.info(target.path))
        tag = info.get("ETag") or info.get("etag") or info.get("mtime") or info.get("LastModified")
        return f"{tag}:{info['size']}", int(info["size"])

    def _lookup(self, key: str, url: str, expected: Checksum | None) -> CacheEntry | None:
        path = self.root / "data" / key
        if key in self._trusted:
            hit = self._pin_trusted(key, url)
            if hit is not None:
                return hit
        with self._critical() as db:
            row = db.execute("SELECT size, boot FROM entries WHERE key = ? AND ready = 1", (key,))
            found = row.fetchone()
            if found is None:
                return None
            try:
                pin = path.open("rb")
            except FileNotFoundError:  # removed behind the cache's back
                db.execute("DELETE FROM entries WHERE key = ?", (key,))
                return None
            # Never waits: eviction holds LOCK_EX only inside the critical section.
            fcntl.flock(pin.fileno(), fcntl.LOCK_SH)
            db.execute("UPDATE entries SET last_used = ? WHERE key = ?", (time.time(), key))
        size, boot = int(found[0]), str(found[1])
        entry = CacheEntry(url, path, size, pin)
        if boot == _BOOT:
            self._trusted.add(key)
            return entry
        if _intact(path, size, expected):  # written before a restart: checked, then trusted
            with self._critical() as db:
                db.execute("UPDATE entries SET boot = ? WHERE key = ?", (_BOOT, key))
            self._trusted.add(key)
            return entry
        entry.release()
        logger.warning("the cached copy of %s did not survive a restart; downloading it again", url)
        with self._critical() as db:
            self._evict(db, key)
        return None

    def _pin_trusted(self, key: str, url: str) -> CacheEntry | None:
        """A hit on an entry this process has seen ready in this boot, without the index:
        pin the file, then check that it is still the one at its path (an eviction may have
        unlinked it meanwhile; then the index decides). Its use is recorded in the index
        with the next change."""
        path = self.root / "data" / key
        try:
            pin = path.open("rb")
        except FileNotFoundError:
            self._trusted.discard(key)
            return None
        fcntl.flock(pin.fileno(), fcntl.LOCK_SH)  # eviction holds LOCK_EX only briefly
        try:
            same = os.stat(path).st_ino == os.fstat(pin.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            pin.close()
            self._trusted.discard(key)
            return None
        self._touched[key] = time.time()
        return CacheEntry(url, path, os.fstat(pin.fileno()).st_size, pin)

    def _fetch(
        self,
        key: str,
        target: Remote,
        expected: Checksum | None,
        size: int | None,
        *,
        room_only: bool = False,
        offset: int | None = None,
    ) -> CacheEntry | None:
        """Download into the cache and pin; None when `room_only` and there is no free room."""
        known_size = size is not None
        if size is None:
            size = object_size(target)
        name = target.url if offset is None else f"{target.url}#bytes={offset}-{offset + size}"
        if size > self.max_bytes:
            raise InvalidArgumentError(
                f"{name} is {format_bytes(size)}, more than the whole disk cache "
                f"({format_bytes(self.max_bytes)} at {self.root}): raise the cache limit"
            )
        partial = self.root / "partial" / key
        with self._critical() as db:
            if room_only and _used(db) + size > self.max_bytes:
                return None
            self._make_room(db, size)
            db.execute(
                "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, 0, ?, ?)",
                (key, name, size, time.time(), _BOOT),
            )
        try:
            self._download(
                target, partial, expected, size, known_size=known_size, offset=offset, name=name
            )
        except BaseException:
            with self._critical() as db:
                db.execute("DELETE FROM entries WHERE key = ?", (key,))
            partial.unlink(missing_ok=True)
            raise
        path = self.root / "data" / key
        with self._critical() as db:
            os.replace(partial, path)
            pin = path.open("rb")
            fcntl.flock(pin.fileno(), fcntl.LOCK_SH)
            db.execute(
                "UPDATE entries SET ready = 1, last_used = ? WHERE key = ?", (time.time(), key)
            )
        self._trusted.add(key)
        return CacheEntry(name, path, size, pin)

    def _download(
        self,
        target: Remote,
        partial: Path,
        expected: Checksum | None,
        size: int,
        *,
        known_size: bool,
        offset: int | None,
        name: str,
    ) -> None:
        start = offset or 0
        for attempt in (1, 2):
            hasher = expected.hasher() if expected is not None else None
            try:
                with partial.open("wb") as out:
                    for part in iter_parts(target, start + size, start=start):
                        out.write(part)
                        if hasher is not None:
                            hasher.update(part)
                    if not _BOOT:
                        out.flush()
                        os.fsync(out.fileno())
            except (OSError, LmioError) as exc:
                if known_size and offset is None:
                    _check_size(target, size, exc)
                raise
            if expected is None or hasher is None or expected.matches(hasher):
                return
            found = expected.format(hasher)
            if attempt == 1:
                logger.warning(
                    "%s downloaded as %s, expected %s; downloading it again",
                    name,
                    found,
                    expected.recorded,
                )
        raise IntegrityError(
            f"{name} is damaged: downloaded twice, its checksum is {found} but "
            f"{expected.recorded if expected else None} was recorded when it was written; "
            "restore the object or write it again"
        )

    # -- room ---------------------------------------------------------------------------

    def _make_room(self, db: sqlite3.Connection, need: int) -> None:
        used = _used(db)
        if used + need <= self.max_bytes:
            return
        self._reclaim_abandoned(db)
        used = _used(db)
        rows = db.execute("SELECT key, size FROM entries WHERE ready = 1 ORDER BY last_used")
        for key, size in rows.fetchall():
            if used + need <= self.max_bytes:
                break
            if self._evict(db, key):
                used -= size
        if used + need > self.max_bytes and not self._warned_over:
            self._warned_over = True
            logger.warning(
                "disk cache %s goes over its limit of %s: the entries open now take %s; "
                "release entries sooner or raise the limit",
                self.root,
                format_bytes(self.max_bytes),
                format_bytes(used),
            )

    def _evict(self, db: sqlite3.Connection, key: str) -> bool:
        """Remove an entry nobody has open; False when it is pinned."""
        path = self.root / "data" / key
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            db.execute("DELETE FROM entries WHERE key = ?", (key,))
            return True
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            path.unlink()
        self._trusted.discard(key)
        db.execute("DELETE FROM entries WHERE key = ?", (key,))
        _remove_lock(self.root / "locks" / key)
        return True

    def _reclaim_abandoned(self, db: sqlite3.Connection) -> None:
        """Drop downloads whose process is gone (its key lock is free)."""
        for (key,) in db.execute("SELECT key FROM entries WHERE ready = 0").fetchall():
            lock = self.root / "locks" / key
            if _remove_lock(lock):
                logger.info("reclaiming an abandoned download in %s", self.root)
                (self.root / "partial" / key).unlink(missing_ok=True)
                (self.root / "data" / key).unlink(missing_ok=True)
                db.execute("DELETE FROM entries WHERE key = ?", (key,))

    # -- locking ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _critical(self) -> Iterator[sqlite3.Connection]:
        """The index, under this process's thread lock and the cache's file lock."""
        with self._thread_lock:
            state = self._process_state()
            fcntl.flock(state.lock.fileno(), fcntl.LOCK_EX)
            try:
                with state.db:
                    touched, self._touched = self._touched, {}
                    if touched:  # hits served without the index, in order of use
                        state.db.executemany(
                            "UPDATE entries SET last_used = ? WHERE key = ?",
                            [(when, key) for key, when in touched.items()],
                        )
                    yield state.db
            finally:
                fcntl.flock(state.lock.fileno(), fcntl.LOCK_UN)

    def _process_state(self) -> _ProcessState:
        state = self._state
        if state is not None and state.pid == os.getpid():
            return state
        lock = (self.root / "lock").open("ab")
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            db = sqlite3.connect(self.root / "index.sqlite", timeout=60, check_same_thread=False)
            # WAL without a sync per commit: a commit lost to a power cut leaves a download
            # unfinished (reclaimed later) or a file without a row (replaced when that object
            # is downloaded again), never a row that lies.
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.executescript(_SCHEMA)
            _check_version(db, self.root)
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
        self._state = _ProcessState(os.getpid(), lock, db)
        return self._state


class _Prefetcher:
    """Daemon threads running prefetches: at exit, a download in progress is abandoned (and
    reclaimed later) instead of holding the process up."""

    def __init__(self, threads: int) -> None:
        self.pid = os.getpid()
        self._tasks: queue.SimpleQueue[tuple[Future[bool], Callable[[], bool]]] = (
            queue.SimpleQueue()
        )
        for i in range(threads):
            threading.Thread(target=self._work, name=f"lmio-prefetch-{i}", daemon=True).start()

    def submit(self, task: Callable[[], bool]) -> Future[bool]:
        future: Future[bool] = Future()
        self._tasks.put((future, task))
        return future

    def _work(self) -> None:
        while True:
            future, task = self._tasks.get()
            if future.set_running_or_notify_cancel():
                future.set_result(task())


def _used(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0])


def _check_version(db: sqlite3.Connection, root: Path) -> None:
    with db:
        found = dict(db.execute("SELECT name, value FROM meta").fetchall())
        if not found:
            db.executemany(
                "INSERT INTO meta VALUES (?, ?)", [("format", _FORMAT), ("version", str(_VERSION))]
            )
            return
    if found.get("format") != _FORMAT or found.get("version") != str(_VERSION):
        raise FormatError(
            f"the disk cache at {root} is {found.get('format')} version {found.get('version')}, "
            f"this lmio reads {_FORMAT} version {_VERSION}: point the cache at another folder "
            "or delete this one"
        )


def _intact(path: Path, size: int, expected: Checksum | None) -> bool:
    """Whether a cached file still has its size and, when known, its checksum."""
    if path.stat().st_size != size:
        return False
    if expected is None:
        return True
    hasher = expected.hasher()
    with path.open("rb") as stream:
        while block := stream.read(1 << 22):
            hasher.update(block)
    return expected.matches(hasher)


def _check_size(target: Remote, size: int, exc: BaseException) -> None:
    """After a failed download: a size unlike the recorded one is damage, not an outage."""
    try:
        found = object_size(target)
    except (OSError, LmioError):
        return
    if found != size:
        raise IntegrityError(
            f"{target.url} is {found} bytes but {size} were recorded when it was written: it "
            "was changed or damaged; restore the object or write it again"
        ) from exc


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """An exclusive `flock` on a lock file that other processes may remove when free."""
    while True:
        handle = path.open("ab")
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            same = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()
    with handle:
        yield


def _remove_lock(path: Path) -> bool:
    """Remove a key lock file if nobody holds it; True when it is gone."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return True
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return False
            raise
        path.unlink(missing_ok=True)
    return True
