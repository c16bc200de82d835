"""Retries under faults: resets, stalls, 503 SlowDown, 500s and a server restart, injected by
a proxy between the client and the real server."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import pytest

from lmio.errors import IntegrityError, StorageError
from lmio.store import open_input, open_output_atomic, read_bytes, write_bytes_atomic

from ._faults import FAULTS, FaultPlan, FaultProxy, proxied_options
from ._s3 import S3Server

DATA = os.urandom(11 << 20)  # three 5 MiB parts, the last one short


@pytest.mark.parametrize("kind", FAULTS)
def test_each_fault_is_retried(bucket: str, fault_proxy: FaultProxy, kind: str) -> None:
    options = proxied_options(fault_proxy)
    fault_proxy.plan = FaultPlan(rate=0.5, kinds=[kind], seed=1, limit=2 if kind == "stall" else 4)
    write_bytes_atomic(f"{bucket}/one", DATA, storage_options=options)
    assert read_bytes(f"{bucket}/one", storage_options=options) == DATA
    assert fault_proxy.plan.injected[kind] >= 2


def test_streams_survive_many_mixed_faults(bucket: str, fault_proxy: FaultProxy) -> None:
    options = proxied_options(fault_proxy)
    kinds = [kind for kind in FAULTS if kind != "stall"] * 4 + ["stall"]  # stalls cost a second
    fault_proxy.plan = FaultPlan(rate=0.3, kinds=kinds, seed=7)
    for round_ in range(3):
        url = f"{bucket}/stream-{round_}"
        with open_output_atomic(url, storage_options=options) as out:
            for offset in range(0, len(DATA), 3 << 20):
                out.write(DATA[offset : offset + (3 << 20)])
        with open_input(url, storage_options=options) as stream:
            assert stream.read() == DATA
    assert fault_proxy.plan.total >= 10


def test_spent_retries_raise_a_storage_error_naming_the_object(
    bucket: str, fault_proxy: FaultProxy
) -> None:
    options = proxied_options(fault_proxy, retries=3)
    fault_proxy.plan = FaultPlan(rate=1.0, kinds=["slowdown"])
    with pytest.raises(StorageError, match=r"HEAD s3://.*/missing failed 3 times.*SlowDown") as e:
        read_bytes(f"{bucket}/missing", storage_options=options)
    assert "--storage-option retries=N" in str(e.value)


def test_a_corrupted_download_is_read_again(bucket: str, fault_proxy: FaultProxy) -> None:
    options = proxied_options(fault_proxy)
    write_bytes_atomic(f"{bucket}/w", DATA, storage_options=options)
    checksum = "sha256:" + hashlib.sha256(DATA).hexdigest()
    fault_proxy.plan = FaultPlan(rate=1.0, kinds=["corrupt"], limit=1, methods=["GET"])
    assert read_bytes(f"{bucket}/w", storage_options=options, checksum=checksum) == DATA
    assert fault_proxy.plan.injected["corrupt"] == 1
    fault_proxy.plan = FaultPlan(rate=1.0, kinds=["corrupt"], methods=["GET"])
    with pytest.raises(IntegrityError, match=r"/w is damaged: read twice"):
        read_bytes(f"{bucket}/w", storage_options=options, checksum=checksum)


def test_reads_and_writes_go_on_across_a_server_restart(
    bucket: str, fault_proxy: FaultProxy, s3_server: S3Server
) -> None:
    options = proxied_options(fault_proxy, retries=20)
    write_bytes_atomic(f"{bucket}/r", DATA, storage_options=options)
    done = threading.Event()

    def restart_twice() -> None:
        for _ in range(2):
            time.sleep(0.3)
            s3_server.stop()
            fault_proxy.sever()  # the server's connections die with it
            time.sleep(0.3)
            s3_server.start()
        done.set()

    restarter = threading.Thread(target=restart_twice)
    restarter.start()
    rounds = 0
    while not done.is_set() or rounds < 2:
        assert read_bytes(f"{bucket}/r", storage_options=options) == DATA
        write_bytes_atomic(f"{bucket}/r{rounds}", DATA[:100], storage_options=options)
        rounds += 1
    restarter.join()
    assert read_bytes(f"{bucket}/r{rounds - 1}", storage_options=options) == DATA[:100]
    assert fault_proxy.refused > 0


def test_listing_through_lmio_store_filesystem_retries_too(
    bucket: str, fault_proxy: FaultProxy
) -> None:
    from lmio.store import filesystem

    for i in range(3):
        write_bytes_atomic(f"{bucket}/listed/{i}.txt", b"x")
    fs, path = filesystem(f"{bucket}/listed/*.txt", storage_options=proxied_options(fault_proxy))
    fault_proxy.plan = FaultPlan(rate=1.0, kinds=["slowdown", "reset"], limit=2, seed=2)
    assert [name.rsplit("/", 1)[-1] for name in sorted(fs.glob(path))] == [
        "0.txt",
        "1.txt",
        "2.txt",
    ]
    assert fault_proxy.plan.total == 2
