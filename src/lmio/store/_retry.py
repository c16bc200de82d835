"""Retries for storage calls: exponential backoff with jitter, on failures that pass.

Transient: throttling (503 SlowDown, Throttling), other 5xx answers, connection resets and
refusals, timeouts, truncated bodies. Everything else (a missing object, a denied request, a
bad argument) is raised at once. After the last attempt a transient failure becomes a
`StorageError` that names the operation, the URL and the last error.
"""

from __future__ import annotations

import logging
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from lmio.errors import InvalidArgumentError, StorageError

__all__ = ["RetryPolicy", "is_transient", "retry_call"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

# S3 error codes (and their HTTP statuses) that mean "try again later".
_TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "ServiceUnavailable",
        "BadGateway",
        "GatewayTimeout",
        "429",
        "500",
        "502",
        "503",
        "504",
    }
)
_TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
# botocore and aiohttp exception classes, by name, so neither needs importing here.
_TRANSIENT_CLASS_NAMES = frozenset(
    {
        "HTTPClientError",
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ReadTimeoutError",
        "ConnectTimeoutError",
        "IncompleteReadError",
        "ResponseStreamingError",
        "ResponseParserError",
        "ClientPayloadError",
        "ServerDisconnectedError",
        "ClientConnectionError",
        "ClientOSError",
        "FSTimeoutError",
        "IncompleteRead",
    }
)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a storage call.

    `attempts` counts every try (1 means no retry). The wait before try n+1 is drawn
    uniformly from [cap/2, cap] with cap = min(max_delay, base_delay * 2**n): growing, and
    spread so that many clients throttled together do not come back together.
    """

    attempts: int = 10
    base_delay: float = 0.1
    max_delay: float = 20.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise InvalidArgumentError(
                f"retries must be at least 1 (one try, no retry), got {self.attempts}"
            )
        if not 0 <= self.base_delay <= self.max_delay:
            raise InvalidArgumentError(
                f"retry delays must satisfy 0 <= retry_base_delay <= retry_max_delay, got "
                f"{self.base_delay} and {self.max_delay}"
            )

    def delay(self, failures: int, rng: random.Random) -> float:
        """Seconds to wait after `failures` failed tries (1 after the first)."""
        cap = min(self.max_delay, self.base_delay * 2.0 ** (failures - 1))
        return rng.uniform(cap / 2, cap)


_rng = random.Random()


def retry_call(fn: Callable[[], T], *, what: str, policy: RetryPolicy) -> T:
    """`fn()`, tried again after transient failures; `what` names it in logs and errors."""
    for failures in range(1, policy.attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if not is_transient(exc):
                raise
            if failures == policy.attempts:
                raise StorageError(
                    f"{what} failed {_times(failures)}, last with {_describe(exc)}; check that "
                    "the endpoint is reachable and healthy, or allow more tries with "
                    "--storage-option retries=N"
                ) from exc
            wait = policy.delay(failures, _rng)
            logger.info(
                "%s failed (%s); try %d of %d in %.2f s",
                what,
                _describe(exc),
                failures + 1,
                policy.attempts,
                wait,
            )
            time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def is_transient(exc: BaseException) -> bool:
    """Whether `exc`, or an error it was raised from, is worth another try."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        verdict = _classify(current)
        if verdict is not None:
            return verdict
        current = current.__cause__ or current.__context__
    return False


def _classify(exc: BaseException) -> bool | None:
    """True: transient; False: certainly not; None: look at what it was raised from."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError, ValueError)):
        return False
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & _TRANSIENT_CLASS_NAMES:
        return True
    response = getattr(exc, "response", None)
    if "ClientError" in names and isinstance(response, dict):
        error = response.get("Error") or {}
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        return str(error.get("Code")) in _TRANSIENT_CODES or status in _TRANSIENT_STATUSES
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is not None and isinstance(exc, aiohttp.ClientError):
        return True
    return None


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _describe(exc: BaseException) -> str:
    """The error as a person wants it: S3's error code and status when there is one."""
    current: BaseException | None = exc
    while current is not None:
        response = getattr(current, "response", None)
        if isinstance(response, dict) and isinstance(response.get("Error"), dict):
            error = response["Error"]
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            return f"{error.get('Code')} (HTTP {status}): {error.get('Message', '')}".rstrip()
        current = current.__cause__
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
