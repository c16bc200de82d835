"""The disk cache: limit, LRU, pins, verified downloads, several processes at once."""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
from pathlib import Path

import pytest

from lmio.errors import IntegrityError, InvalidArgumentError
from lmio.store import DiskCache, write_bytes_atomic
from lmio.store._files import remove

from ._faults import FaultPlan, FaultProxy, proxied_options

MB = 1 << 20


def put(url: str, data: bytes) -> str:
    """Write `data` at `url`; its checksum, as a manifest records it."""
    write_bytes_atomic(url, data)
    return "sha256:" + hashlib.sha256(data).hexdigest()


def blob(seed: int, size: int = MB) -> bytes:
    return hashlib.sha256(str(seed).encode()).digest() * (size // 32)


def test_a_hit_is_served_without_the_remote(bucket: str, tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, max_bytes="10MB")
    checksum = put(f"{bucket}/a", blob(1))
    with cache.open(f"{bucket}/a", checksum=checksum, size=MB) as entry:
        assert entry.path.read_bytes() == blob(1)
    remove(f"{bucket}/a")
    with cache.open(f"{bucket}/a", checksum=checksum) as entry:
        assert entry.path.read_bytes() == blob(1)
    assert cache.usage == MB
    assert cache.urls() == [f"{bucket}/a"]


def test_least_recently_used_goes_first(bucket: str, tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, max_bytes=int(2.5 * MB))
    sums = {name: put(f"{bucket}/{name}", blob(i)) for i, name in enumerate("abc")}
    for name in "aba":  # b is now the least recently used
        cache.open(f"{bucket}/{name}", checksum=sums[name]).release()
    cache.open(f"{bucket}/c", checksum=sums["c"]).release()
    assert cache.urls() == [f"{bucket}/a", f"{bucket}/c"]
    assert cache.usage == 2 * MB
    assert len(os.listdir(tmp_path / "data")) == 2


def test_an_entry_in_use_is_never_evicted(
    bucket: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = DiskCache(tmp_path, max_bytes=int(1.5 * MB))
    sums = {name: put(f"{bucket}/{name}", blob(i)) for i, name in enumerate("ab")}
    held = cache.open(f"{bucket}/a", checksum=sums["a"])
    with (
        caplog.at_level(logging.WARNING, logger="lmio.store._cache"),
        cache.open(f"{bucket}/b", checksum=sums["b"]) as entry,
    ):
        assert entry.path.read_bytes() == blob(1)
    assert "goes over its limit" in caplog.text
    assert held.path.read_bytes() == blob(0)
    held.release()
    cache.clear()
    assert cache.usage == 0


def test_a_changed_object_is_not_served_from_an_old_copy(bucket: str, tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, max_bytes="10MB")
    put(f"{bucket}/mutable", b"version one")
    with cache.open(f"{bucket}/mutable") as entry:  # no checksum: keyed by the ETag
        assert entry.path.read_bytes() == b"version one"
    put(f"{bucket}/mutable", b"version two")
    with cache.open(f"{bucket}/mutable") as entry:
        assert entry.path.read_bytes() == b"version two"


def test_damage_is_fetched_once_more_then_refused(
    bucket: str, tmp_path: Path, fault_proxy: FaultProxy
) -> None:
    cache = DiskCache(tmp_path, max_bytes="20MB", storage_options=proxied_options(fault_proxy))
    data = blob(3, 6 * MB)
    checksum = put(f"{bucket}/shard", data)
    fault_proxy.plan = FaultPlan(rate=1.0, kinds=["corrupt"], limit=1, methods=["GET"])
    with cache.open(f"{bucket}/shard", checksum=checksum, size=len(data)) as entry:
        assert entry.path.read_bytes() == data
    cache.clear()
    fault_proxy.plan = FaultPlan(rate=1.0, kinds=["corrupt"], methods=["GET"])
    with pytest.raises(IntegrityError, match=r"/shard is damaged: downloaded twice"):
        cache.open(f"{bucket}/shard", checksum=checksum, size=len(data))
    assert cache.usage == 0 and not os.listdir(tmp_path / "partial")


def test_a_size_unlike_the_manifest_is_damage(bucket: str, tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, max_bytes="10MB")
    checksum = put(f"{bucket}/short", b"12345")
    with pytest.raises(IntegrityError, match="is 5 bytes but 9 were recorded"):
        cache.open(f"{bucket}/short", checksum=checksum, size=9, storage_options={"retries": 2})


def test_an_object_larger_than_the_cache_is_refused(bucket: str, tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, max_bytes="1kB")
    checksum = put(f"{bucket}/big", blob(0, 4096))
    with pytest.raises(InvalidArgumentError, match="more than the whole disk cache"):
        cache.open(f"{bucket}/big", checksum=checksum, size=4096)


def test_local_paths_are_used_in_place(tmp_path: Path) -> None:
    (tmp_path / "local.bin").write_bytes(b"abc")
    cache = DiskCache(tmp_path / "cache", max_bytes="1MB")
    with cache.open(str(tmp_path / "local.bin")) as entry:
        assert entry.path == tmp_path / "local.bin" and entry.size == 3
    assert cache.usage == 0


def _worker(root: str, urls: list[tuple[str, str]], order: int) -> list[str]:
    cache = DiskCache(root, max_bytes=int(3.5 * MB))
    digests = []
    for url, checksum in urls[order:] + urls[:order]:
        with cache.open(url, checksum=checksum) as entry:
            digests.append("sha256:" + hashlib.sha256(entry.path.read_bytes()).hexdigest())
    return digests


def test_processes_share_one_cache(bucket: str, tmp_path: Path) -> None:
    urls = [(f"{bucket}/p{i}", put(f"{bucket}/p{i}", blob(10 + i))) for i in range(6)]
    context = multiprocessing.get_context("fork")
    with context.Pool(4) as pool:
        results = pool.starmap(_worker, [(str(tmp_path), urls, i) for i in range(4)] * 2)
    for order, digests in enumerate(results):
        rotated = urls[order % 4 :] + urls[: order % 4]
        assert digests == [checksum for _, checksum in rotated]
    cache = DiskCache(tmp_path, max_bytes=int(3.5 * MB))
    assert cache.usage <= 3 * MB
    assert len(os.listdir(tmp_path / "data")) == len(cache.urls())
    assert not os.listdir(tmp_path / "partial")


def _open_and_hang(root: str, url: str, checksum: str, options: dict[str, object]) -> None:
    DiskCache(root, max_bytes="10MB", storage_options=options).open(url, checksum=checksum)


def test_a_download_killed_halfway_is_reclaimed(
    bucket: str, tmp_path: Path, fault_proxy: FaultProxy
) -> None:
    checksum = put(f"{bucket}/k", blob(5))
    other = put(f"{bucket}/j", blob(6))
    fault_proxy.stall_seconds = 30
    fault_proxy.plan = FaultPlan(rate=1.0, kinds=["stall"], methods=["GET"])
    options = proxied_options(fault_proxy, read_timeout=60)
    child = multiprocessing.get_context("fork").Process(
        target=_open_and_hang, args=(str(tmp_path), f"{bucket}/k", checksum, options)
    )
    child.start()
    cache = DiskCache(tmp_path, max_bytes="10MB")
    while cache.usage == 0:  # the child has reserved room and is downloading
        assert child.is_alive()
        child.join(0.05)
    child.kill()
    child.join()
    cache = DiskCache(tmp_path, max_bytes=int(1.5 * MB))
    cache.open(f"{bucket}/j", checksum=other).release()  # needs the room the child held
    assert cache.usage == MB and cache.urls() == [f"{bucket}/j"]
    with cache.open(f"{bucket}/k", checksum=checksum) as entry:
        assert entry.path.read_bytes() == blob(5)
    assert cache.urls() == [f"{bucket}/k"]
    fault_proxy.sever()


def test_an_entry_from_before_a_restart_is_checked_before_use(
    bucket: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Downloads are not fsynced: after a machine restart, a copy is checked once."""
    import sqlite3

    cache = DiskCache(tmp_path, max_bytes="10MB")
    checksum = put(f"{bucket}/r", blob(9))
    with cache.open(f"{bucket}/r", checksum=checksum) as entry:
        path = entry.path
    with sqlite3.connect(tmp_path / "index.sqlite") as db:
        db.execute("UPDATE entries SET boot = 'an earlier boot'")
    cache = DiskCache(tmp_path, max_bytes="10MB")  # a process after the restart
    with cache.open(f"{bucket}/r", checksum=checksum) as entry:  # intact: kept
        assert entry.path == path
    with sqlite3.connect(tmp_path / "index.sqlite") as db:
        db.execute("UPDATE entries SET boot = 'an earlier boot'")
    path.write_bytes(bytes(MB))  # what a crash before writeback can leave
    cache = DiskCache(tmp_path, max_bytes="10MB")
    with caplog.at_level(logging.WARNING), cache.open(f"{bucket}/r", checksum=checksum) as entry:
        assert entry.path.read_bytes() == blob(9)
    assert "did not survive a restart" in caplog.text


def test_prefetch_fills_free_room_only_and_pins_nothing(bucket: str, tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, max_bytes=int(2.5 * MB))
    sums = {name: put(f"{bucket}/{name}", blob(20 + i)) for i, name in enumerate("abc")}
    futures = [cache.prefetch(f"{bucket}/{name}", checksum=sums[name], size=MB) for name in "abc"]
    assert sorted(future.result() for future in futures) == [False, True, True]
    assert len(cache.urls()) == 2 and cache.usage == 2 * MB
    assert cache.prefetch(f"{bucket}/missing", size=MB).result() is False  # logged, not raised
    cache.clear()  # nothing prefetched is pinned
    assert cache.usage == 0


def test_a_byte_range_is_cached_and_verified_on_its_own(
    bucket: str, tmp_path: Path, fault_proxy: FaultProxy
) -> None:
    cache = DiskCache(tmp_path, max_bytes="20MB", storage_options=proxied_options(fault_proxy))
    data = blob(4, 3 * MB)
    put(f"{bucket}/ranged", data)
    start, size = MB + 5, MB // 2
    part = data[start : start + size]
    checksum = "sha256:" + hashlib.sha256(part).hexdigest()
    with cache.open(f"{bucket}/ranged", checksum=checksum, size=size, offset=start) as entry:
        assert entry.path.read_bytes() == part
        assert entry.url == f"{bucket}/ranged#bytes={start}-{start + size}"
    assert cache.usage == size  # the range alone was downloaded
    fault_proxy.plan = FaultPlan(rate=1.0, kinds=["corrupt"], methods=["GET"])
    other = data[:size]
    with pytest.raises(
        IntegrityError, match=rf"ranged#bytes=0-{size} is damaged: downloaded twice"
    ):
        cache.open(
            f"{bucket}/ranged",
            checksum="sha256:" + hashlib.sha256(other).hexdigest(),
            size=size,
            offset=0,
        )
    fault_proxy.plan = None
    with cache.open(f"{bucket}/ranged", checksum=checksum, size=size, offset=start) as entry:
        assert entry.path.read_bytes() == part  # still cached: no request
    with pytest.raises(InvalidArgumentError, match="needs its checksum"):
        cache.open(f"{bucket}/ranged", size=size, offset=0)


def test_a_failed_prefetch_drops_the_queued_ones(bucket: str, tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, max_bytes="10MB")
    checksum = put(f"{bucket}/there", blob(5))
    assert cache.prefetch(f"{bucket}/missing", checksum=checksum, size=MB).result() is False
    # Queued behind a failure: dropped, not each retrying the storage.
    assert cache.prefetch(f"{bucket}/there", checksum=checksum, size=MB).result() is False
    assert cache.usage == 0
    with cache.open(f"{bucket}/there", checksum=checksum, size=MB) as entry:  # on demand
        assert entry.path.read_bytes() == blob(5)


def test_hits_served_without_the_index_keep_the_lru_order(bucket: str, tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, max_bytes=int(2.5 * MB))
    sums = {n: put(f"{bucket}/lru-{n}", blob(30 + i)) for i, n in enumerate("abc")}
    for name in "ab":
        cache.open(f"{bucket}/lru-{name}", checksum=sums[name], size=MB).release()
    # A hit on a (pinned from the file, not the index): a becomes the most recently used...
    cache.open(f"{bucket}/lru-a", checksum=sums["a"], size=MB).release()
    # ...so making room for c evicts b.
    cache.open(f"{bucket}/lru-c", checksum=sums["c"], size=MB).release()
    assert sorted(url.rsplit("-", 1)[1] for url in cache.urls()) == ["a", "c"]
    # An entry evicted by another process (here: behind this one's back) is fetched again.
    other = DiskCache(tmp_path, max_bytes=int(2.5 * MB))
    other.clear()
    with cache.open(f"{bucket}/lru-a", checksum=sums["a"], size=MB) as entry:
        assert entry.path.read_bytes() == blob(30)
