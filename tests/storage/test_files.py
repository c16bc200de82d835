"""lmio.store's file functions against a real S3-compatible server on loopback."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmio.errors import IntegrityError, InvalidArgumentError, NotFoundError
from lmio.store import (
    exists,
    get_default_storage_options,
    open_input,
    open_output_atomic,
    read_bytes,
    set_default_storage_options,
    write_bytes_atomic,
)
from lmio.store._files import checksum_file, list_names, remove, size

from ._s3 import S3Server

SMALL_PARTS = {"part_size": "5MiB"}


@pytest.fixture
def payload() -> bytes:
    return os.urandom(12 << 20)  # more than two 5 MiB parts, not a multiple of one


@pytest.fixture
def restore_defaults() -> Iterator[None]:
    saved = get_default_storage_options()
    yield
    set_default_storage_options(saved)


def test_small_object_round_trip_finds_the_endpoint_in_the_aws_environment(bucket: str) -> None:
    url = f"{bucket}/a/config.json"
    write_bytes_atomic(url, b'{"a": 1}')
    assert read_bytes(url) == b'{"a": 1}'
    assert exists(url) and size(url) == 8
    assert list_names(f"{bucket}/a") == ["config.json"]


def test_large_object_goes_up_in_parts_and_down_in_parallel_ranges(
    bucket: str, s3_server: S3Server, payload: bytes
) -> None:
    url = f"{bucket}/big.bin"
    write_bytes_atomic(url, payload, storage_options=SMALL_PARTS)
    head = s3_server.client().head_object(Bucket=bucket[5:], Key="big.bin")
    assert head["ETag"].strip('"').endswith("-3")  # a multipart upload of three parts
    assert read_bytes(url, storage_options=SMALL_PARTS) == payload
    assert checksum_file(url) == "sha256:" + hashlib.sha256(payload).hexdigest()


def test_streamed_write_appears_only_when_the_block_ends(bucket: str, payload: bytes) -> None:
    url = f"{bucket}/stream.bin"
    with open_output_atomic(url, storage_options=SMALL_PARTS) as out:
        for offset in range(0, len(payload), 1 << 20):
            out.write(payload[offset : offset + (1 << 20)])
        assert not exists(url)
    assert read_bytes(url) == payload


def test_failed_streamed_write_leaves_nothing(bucket: str, payload: bytes) -> None:
    url = f"{bucket}/broken.bin"
    with pytest.raises(RuntimeError), open_output_atomic(url, storage_options=SMALL_PARTS) as out:
        out.write(payload)  # two parts are already uploaded here
        raise RuntimeError("the writer failed")
    assert not exists(url)


def test_open_input_seeks_and_reads_ranges(bucket: str, payload: bytes) -> None:
    url = f"{bucket}/seek.bin"
    write_bytes_atomic(url, payload, storage_options=SMALL_PARTS)
    with open_input(url, storage_options=SMALL_PARTS) as stream:
        stream.seek(7_000_000)
        assert stream.read(10) == payload[7_000_000:7_000_010]
        stream.seek(-5, os.SEEK_END)
        assert stream.read() == payload[-5:]
        stream.seek(0)
        assert stream.read() == payload


def test_missing_objects_raise_not_found_naming_them(bucket: str) -> None:
    for call in (read_bytes, open_input, size, checksum_file):
        with pytest.raises(NotFoundError, match="nothing-here"):
            call(f"{bucket}/nothing-here")
    assert not exists(f"{bucket}/nothing-here")
    assert list_names(f"{bucket}/no-such-prefix") == []


def test_remove_deletes_a_prefix(bucket: str) -> None:
    for name in ("x/1", "x/2", "y"):
        write_bytes_atomic(f"{bucket}/{name}", b"1")
    remove(f"{bucket}/x", recursive=True)
    remove(f"{bucket}/x/already-gone")
    assert list_names(bucket) == ["y"]


def test_verified_read_rejects_damaged_bytes(bucket: str) -> None:
    url = f"{bucket}/weights.bin"
    write_bytes_atomic(url, b"good bytes")
    good = "sha256:" + hashlib.sha256(b"good bytes").hexdigest()
    assert read_bytes(url, checksum=good) == b"good bytes"
    write_bytes_atomic(url, b"evil bytes")
    with pytest.raises(IntegrityError, match=r"weights\.bin is damaged: read twice"):
        read_bytes(url, checksum=good)


def test_explicit_options_override_the_environment(bucket: str, s3_server: S3Server) -> None:
    wrong = {"endpoint_url": "http://127.0.0.1:9", "retries": 1}
    with pytest.raises(OSError, match=r"127\.0\.0\.1:9"):
        read_bytes(f"{bucket}/x", storage_options=wrong)
    right = {"endpoint_url": s3_server.endpoint}
    write_bytes_atomic(f"{bucket}/x", b"here", storage_options=right)
    assert read_bytes(f"{bucket}/x", storage_options=right) == b"here"


def test_process_defaults_reach_every_call(bucket: str, restore_defaults: None) -> None:
    set_default_storage_options({"part_size": "1MiB"})
    with pytest.raises(InvalidArgumentError, match=r"part_size \d+ is below S3's smallest"):
        read_bytes(f"{bucket}/x")
    with pytest.raises(InvalidArgumentError, match="retries must be at least 1"):
        read_bytes(f"{bucket}/x", storage_options={"part_size": "8MiB", "retries": 0})


def test_writeback_starts_on_local_files_and_skips_other_streams(tmp_path: Path) -> None:
    """The kernel is asked to start writing a local file (what was buffered is flushed
    first); a stream without a file descriptor is left alone."""
    import io

    from lmio.store._files import _sync_file_range, start_writeback

    target = tmp_path / "a.bin"
    with open_output_atomic(str(target)) as out:
        out.write(b"x" * 1000)
        start_writeback(out)
        if _sync_file_range() is not None:  # Linux: flushed to the file already
            assert os.path.getsize(out.name) == 1000
        out.write(b"y")
    assert target.read_bytes() == b"x" * 1000 + b"y"
    memory = io.BytesIO()
    start_writeback(memory)
    assert memory.getvalue() == b""
