"""Storage options, the retry policy and what counts as transient (no server needed)."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from s3fs.errors import translate_boto_error

from lmio.errors import FormatError, InvalidArgumentError, StorageError
from lmio.store import (
    check_relative,
    get_default_storage_options,
    parse_storage_options,
    resolve_under,
    set_default_storage_options,
)
from lmio.store._remote import merge_storage_options, remote
from lmio.store._retry import RetryPolicy, is_transient, retry_call


def client_error(code: str, status: int) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": code},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "GetObject")  # type: ignore[arg-type]


def test_storage_options_nest_on_dots_and_read_json_values() -> None:
    options = parse_storage_options(
        [
            "endpoint_url=http://127.0.0.1:9000",
            "anon=false",
            "retries=3",
            "config_kwargs.read_timeout=2.5",
            "config_kwargs.s3.addressing_style=path",
            "key=0123",
            "secret=12345",
        ]
    )
    assert options == {
        "endpoint_url": "http://127.0.0.1:9000",
        "anon": False,
        "retries": 3,
        "config_kwargs": {"read_timeout": 2.5, "s3": {"addressing_style": "path"}},
        "key": "0123",
        "secret": "12345",  # credentials stay text even when they look like numbers
    }


@pytest.mark.parametrize("item", ["no-equals-sign", "=value", "a..b=1"])
def test_malformed_storage_options_are_refused(item: str) -> None:
    with pytest.raises(InvalidArgumentError, match="write KEY=VALUE"):
        parse_storage_options([item])


def test_nested_options_merge_instead_of_replacing() -> None:
    base = {"config_kwargs": {"read_timeout": 5, "connect_timeout": 1}, "anon": True}
    merged = merge_storage_options(base, {"config_kwargs": {"read_timeout": 9}})
    assert merged == {"config_kwargs": {"read_timeout": 9, "connect_timeout": 1}, "anon": True}


def test_lmio_options_are_taken_out_before_fsspec_sees_them() -> None:
    target = remote(
        "memory://bucket/x",
        {"retries": "4", "retry_base_delay": 0, "part_size": "8MiB", "max_concurrency": 3},
    )
    assert target.retry == RetryPolicy(attempts=4, base_delay=0.0)
    assert (target.part_size, target.concurrency) == (8 << 20, 3)
    with pytest.raises(InvalidArgumentError, match="retries must be an integer"):
        remote("memory://bucket/x", {"retries": "many"})
    with pytest.raises(InvalidArgumentError, match="cannot open nosuchscheme://x"):
        remote("nosuchscheme://x", None)


def test_backoff_grows_with_jitter_inside_its_bounds() -> None:
    policy = RetryPolicy(attempts=8, base_delay=0.1, max_delay=1.0)
    rng = random.Random(0)
    for failures, cap in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (7, 1.0)]:
        delays = {policy.delay(failures, rng) for _ in range(50)}
        assert all(cap / 2 <= d <= cap for d in delays) and len(delays) > 1


def test_bad_policies_are_refused() -> None:
    with pytest.raises(InvalidArgumentError):
        RetryPolicy(attempts=0)
    with pytest.raises(InvalidArgumentError):
        RetryPolicy(base_delay=5, max_delay=1)


@pytest.mark.parametrize(
    "error",
    [
        client_error("SlowDown", 503),
        client_error("InternalError", 500),
        client_error("Whatever", 502),
        translate_boto_error(client_error("SlowDown", 503)),  # s3fs's OSError, raised from it
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
        ReadTimeoutError(endpoint_url="http://127.0.0.1:1"),
    ],
)
def test_transient_errors(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        client_error("NoSuchKey", 404),
        client_error("AccessDenied", 403),
        translate_boto_error(client_error("NoSuchKey", 404)),
        FileNotFoundError("x"),
        ValueError("bad argument"),
    ],
)
def test_permanent_errors(error: BaseException) -> None:
    assert not is_transient(error)


def test_retry_call_tries_again_then_gives_up_with_the_last_error() -> None:
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionResetError("reset")
        return "done"

    policy = RetryPolicy(attempts=3, base_delay=0, max_delay=0)
    assert retry_call(flaky, what="GET s3://b/k", policy=policy) == "done"
    calls.clear()
    with pytest.raises(
        StorageError, match=r"GET s3://b/k failed 2 times, last with ConnectionResetError"
    ):
        retry_call(flaky, what="GET s3://b/k", policy=RetryPolicy(attempts=2, base_delay=0))
    with pytest.raises(FileNotFoundError):
        retry_call(_missing, what="GET s3://b/k", policy=policy)


def _missing() -> None:
    raise FileNotFoundError("s3://b/k")


@pytest.mark.parametrize(
    "path",
    [
        "../x",
        "data/../../x",
        "/etc/passwd",
        "s3://other-bucket/x",
        "C:/x",
        "a\\b",
        "",
        "a//b",
        "./a",
    ],
)
def test_paths_that_leave_the_root_are_refused(path: str) -> None:
    with pytest.raises(FormatError, match="must stay inside its folder"):
        check_relative(path, source="s3://b/ds/manifest.json")


def test_relative_paths_resolve_under_the_root() -> None:
    assert resolve_under("s3://b/ds/", "data/shard-00000.parquet", source="m") == (
        "s3://b/ds/data/shard-00000.parquet"
    )
    assert resolve_under("/tmp/ds", "data/x", source="m") == "/tmp/ds/data/x"
    with pytest.raises(FormatError):
        resolve_under("s3://b/ds", 7, source="m")


def test_defaults_reach_worker_processes_through_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LMIO_STORAGE_OPTIONS", raising=False)
    set_default_storage_options({"endpoint_url": "http://127.0.0.1:9000", "retries": 2})
    code = "from lmio.store import get_default_storage_options as g; print(sorted(g().items()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[('endpoint_url', 'http://127.0.0.1:9000'), ('retries', 2)]"
    set_default_storage_options(None)
    assert get_default_storage_options() == {}
    with pytest.raises(InvalidArgumentError, match="must be JSON values"):
        set_default_storage_options({"session": object()})
    monkeypatch.setenv("LMIO_STORAGE_OPTIONS", "[1, 2]")
    with pytest.raises(InvalidArgumentError, match="must hold a JSON object"):
        get_default_storage_options()
