"""From a URL and storage options to an fsspec filesystem, with lmio's transfer settings.

Storage options are what fsspec's filesystem for the URL's protocol takes (for `s3://`,
s3fs's `endpoint_url`, `key`, `secret`, `anon`, `profile`, `client_kwargs`, `config_kwargs`,
...), plus a few that lmio reads itself and removes before fsspec sees them:

    retries            tries per request, the first included (10)
    retry_base_delay   seconds before the first retry, doubled each time, with jitter (0.1)
    retry_max_delay    longest wait between two tries (20)
    part_size          bytes per ranged GET and per multipart part ("16MiB"; S3 needs >= 5 MiB)
    max_concurrency    ranged GETs or part uploads in flight per object (8)
    connect_timeout    seconds to open a connection (10; s3 only)
    read_timeout       seconds without a byte before a request is abandoned (60; s3 only)

The CLI's `--storage-option KEY=VALUE` sets process-wide defaults through
`set_default_storage_options` (kept in the `LMIO_STORAGE_OPTIONS` environment variable, so
worker processes inherit them); options given to a call are merged over them.

For `s3://` lmio owns the retry loop: botocore's and s3fs's own retries are turned off, so a
request is tried `retries` times in all, with one backoff policy and one log line per retry.
Endpoints and credentials come from the standard AWS places unless given as options: the
`AWS_*` environment variables (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, ...) and
`~/.aws/config` / `~/.aws/credentials`.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from lmio._units import parse_size
from lmio.errors import InvalidArgumentError
from lmio.store._retry import RetryPolicy, retry_call

__all__ = [
    "Remote",
    "filesystem",
    "get_default_storage_options",
    "merge_storage_options",
    "parse_storage_options",
    "remote",
    "set_default_storage_options",
]

T = TypeVar("T")

MIN_PART_SIZE = 5 << 20  # S3's smallest multipart part (but the last)
_DEFAULT_PART_SIZE = 16 << 20
_DEFAULT_CONCURRENCY = 8
_DEFAULT_CONNECT_TIMEOUT = 10.0
_DEFAULT_READ_TIMEOUT = 60.0

# Option values that stay text even when they look like numbers or booleans.
_TEXT_KEYS = frozenset(
    {"key", "secret", "token", "username", "password", "profile", "endpoint_url", "region_name"}
)

ENV_VAR = "LMIO_STORAGE_OPTIONS"


def set_default_storage_options(options: Mapping[str, Any] | None) -> None:
    """Options every storage call in this process, and in processes it starts, begins with.

    They live in the `LMIO_STORAGE_OPTIONS` environment variable (JSON), so worker processes
    inherit them; the CLI's `--storage-option` sets them. Values must be JSON values.
    """
    if not options:
        os.environ.pop(ENV_VAR, None)
        return
    try:
        text = json.dumps(dict(options), sort_keys=True)
    except TypeError as exc:
        raise InvalidArgumentError(
            f"default storage options must be JSON values so that worker processes inherit "
            f"them ({exc}); pass other values as storage_options= to each call"
        ) from None
    os.environ[ENV_VAR] = text


def get_default_storage_options() -> dict[str, Any]:
    """The process-wide defaults: `LMIO_STORAGE_OPTIONS` read as a JSON object."""
    return copy.deepcopy(_parse_defaults(os.environ.get(ENV_VAR, "")))


@functools.lru_cache(maxsize=4)
def _parse_defaults(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise InvalidArgumentError(
            f"{ENV_VAR} must hold a JSON object such as "
            f'{{"endpoint_url": "http://localhost:9000"}}, got {text!r}'
        )
    return value


def merge_storage_options(
    base: Mapping[str, Any] | None, override: Mapping[str, Any] | None
) -> dict[str, Any]:
    """`override` over `base`; nested dicts (`client_kwargs`, `config_kwargs`) merge too."""
    merged = dict(base or {})
    for key, value in (override or {}).items():
        old = merged.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_storage_options(old, value)
        else:
            merged[key] = value
    return merged


def parse_storage_options(items: Iterable[str]) -> dict[str, Any]:
    """`["endpoint_url=http://host:9000", "config_kwargs.read_timeout=30"]` -> nested dict.

    A dotted key nests; a value is read as JSON when it parses as JSON (true, 3, 0.5,
    {"a": 1}), and as text otherwise; credentials and endpoints always stay text.
    """
    options: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        path = key.strip().split(".")
        if not sep or not all(path):
            raise InvalidArgumentError(
                f"cannot read storage option {item!r}: write KEY=VALUE, such as "
                "endpoint_url=http://localhost:9000 or config_kwargs.read_timeout=30"
            )
        value: Any = text
        if path[-1] not in _TEXT_KEYS:
            try:
                value = json.loads(text)
            except ValueError:
                value = text
        nested: dict[str, Any] = {path[-1]: value}
        for part in reversed(path[:-1]):
            nested = {part: nested}
        options = merge_storage_options(options, nested)
    return options


@dataclass(frozen=True)
class Remote:
    """One object or prefix on a remote filesystem, with how to move its bytes."""

    url: str
    fs: Any
    path: str
    retry: RetryPolicy
    part_size: int
    concurrency: int

    @property
    def is_s3(self) -> bool:
        """An s3fs filesystem: multipart uploads go through its S3 client."""
        return hasattr(self.fs, "call_s3") and hasattr(self.fs, "split_path")

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """`fn()` with retries; `what` ("GET", "PUT part 3", ...) names it with the URL."""
        return retry_call(fn, what=f"{what} {self.url}", policy=self.retry)


def remote(
    url: str | os.PathLike[str],
    storage_options: Mapping[str, Any] | None,
    *,
    client_retries: bool = False,
) -> Remote:
    """The filesystem and settings for `url`, from the defaults and `storage_options`.

    Calls through `Remote.call` are retried by lmio, so for S3 the client's own retries are
    off; `client_retries=True` gives a separate filesystem that retries by itself (botocore's
    standard mode, as many tries), for callers that use it directly.
    """
    import fsspec

    text = os.fspath(url)
    options = merge_storage_options(get_default_storage_options(), storage_options)
    retry = RetryPolicy(
        attempts=_pop_int(options, "retries", RetryPolicy.attempts),
        base_delay=_pop_float(options, "retry_base_delay", RetryPolicy.base_delay),
        max_delay=_pop_float(options, "retry_max_delay", RetryPolicy.max_delay),
    )
    part_size = parse_size(options.pop("part_size", _DEFAULT_PART_SIZE), what="part_size")
    concurrency = _pop_int(options, "max_concurrency", _DEFAULT_CONCURRENCY)
    if concurrency < 1:
        raise InvalidArgumentError(f"max_concurrency must be at least 1, got {concurrency}")
    connect_timeout = _pop_float(options, "connect_timeout", _DEFAULT_CONNECT_TIMEOUT)
    read_timeout = _pop_float(options, "read_timeout", _DEFAULT_READ_TIMEOUT)
    protocol = text.split("://", 1)[0].lower()
    if protocol in ("s3", "s3a"):
        if part_size < MIN_PART_SIZE:
            raise InvalidArgumentError(
                f"part_size {part_size} is below S3's smallest multipart part "
                f"({MIN_PART_SIZE} bytes): use at least 5MiB"
            )
        options["config_kwargs"] = merge_storage_options(
            {
                "connect_timeout": connect_timeout,
                "read_timeout": read_timeout,
                "retries": (
                    {"mode": "standard", "total_max_attempts": retry.attempts}
                    if client_retries
                    else {"total_max_attempts": 1}
                ),
                "max_pool_connections": max(4 * concurrency, 32),
            },
            options.get("config_kwargs"),
        )
    try:
        fs, path = fsspec.core.url_to_fs(text, **options)
    except ImportError as exc:
        hint = " (pip install 'lmio[s3]')" if protocol in ("s3", "s3a") else ""
        raise InvalidArgumentError(f"cannot open {text}: {exc}{hint}") from exc
    except ValueError as exc:
        raise InvalidArgumentError(f"cannot open {text}: {exc}") from exc
    if hasattr(fs, "call_s3"):
        fs.retries = 1  # s3fs's own loop: one policy retries (ours, or botocore's)
    return Remote(
        url=text, fs=fs, path=path, retry=retry, part_size=part_size, concurrency=concurrency
    )


def filesystem(
    url: str | os.PathLike[str], *, storage_options: Mapping[str, Any] | None = None
) -> tuple[Any, str]:
    """fsspec's filesystem and path for `url`, built as every lmio storage call builds it
    (defaults, lmio's options taken out, S3 timeouts), for listing and globbing. Calls made
    on it are retried by the client itself (for S3, botocore's standard mode with `retries`
    tries), not by lmio's policy."""
    target = remote(url, storage_options, client_retries=True)
    return target.fs, target.path


def _pop_int(options: dict[str, Any], key: str, default: int) -> int:
    value = options.pop(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidArgumentError(f"storage option {key} must be an integer, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise InvalidArgumentError(
            f"storage option {key} must be an integer, got {value!r}"
        ) from None


def _pop_float(options: dict[str, Any], key: str, default: float) -> float:
    value = options.pop(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidArgumentError(f"storage option {key} must be a number, got {value!r}")
    try:
        return float(value)
    except ValueError:
        raise InvalidArgumentError(
            f"storage option {key} must be a number, got {value!r}"
        ) from None
