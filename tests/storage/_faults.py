"""A TCP proxy between the client and the S3 server that breaks requests on purpose.

It reads each HTTP/1.1 request (so faults hit requests, not just connections), draws a fault
from its plan and then either forwards the request and relays the answer, or:

    reset      resets the connection before the request reaches the server
    reset_mid  forwards the request, relays half of the answer's body, then resets
    stall      holds the request without answering, then resets (the client times out first)
    slowdown   answers 503 SlowDown, as S3 does when throttling
    error500   answers 500 InternalError
    corrupt    relays the answer with one byte of its body flipped (not in FAULTS: only a
               checksum can catch it)

`sever()` resets every open connection at once, as a server restart does.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any, BinaryIO

FAULTS = ("reset", "reset_mid", "stall", "slowdown", "error500")

_ERRORS = {
    "slowdown": (503, "Slow Down", "SlowDown", "Please reduce your request rate."),
    "error500": (
        500,
        "Internal Server Error",
        "InternalError",
        "We encountered an internal error.",
    ),
}


class FaultPlan:
    """Each request after the first `after` draws a fault with probability `rate`, up to
    `limit` faults in all."""

    def __init__(
        self,
        *,
        rate: float,
        kinds: Iterable[str] = FAULTS,
        seed: int = 0,
        limit: int | None = None,
        methods: Iterable[str] | None = None,
        after: int = 0,
    ) -> None:
        self.rate = rate
        self.after = after
        self.kinds = tuple(kinds)
        self.limit = limit
        self.methods = None if methods is None else frozenset(methods)
        self.injected: Counter[str] = Counter()
        self.requests = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        return sum(self.injected.values())

    def draw(self, method: str) -> str | None:
        with self._lock:
            self.requests += 1
            if self.requests <= self.after:
                return None
            if self.methods is not None and method not in self.methods:
                return None
            if self.limit is not None and self.total >= self.limit:
                return None
            if self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(self.kinds)
            self.injected[kind] += 1
            return kind


class FaultProxy:
    """Listens on 127.0.0.1 (a free port) and forwards to `upstream_port`."""

    def __init__(
        self,
        upstream_port: int,
        *,
        plan: FaultPlan | None = None,
        stall_seconds: float = 2.0,
        bandwidth: float | None = None,
    ) -> None:
        self.upstream_port = upstream_port
        self.plan = plan
        self.stall_seconds = stall_seconds
        # Bytes per second of response bodies, all connections together: a shaped link.
        self._pacer = _Pacer(bandwidth) if bandwidth else None
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.refused = 0  # requests that found the server down
        self.seen: list[str] = []  # request lines, in order
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = False
        threading.Thread(target=self._accept, name="fault-proxy", daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sever(self) -> None:
        """Reset every connection open now, on both sides."""
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            _reset(sock)

    def stop(self) -> None:
        self._stopped = True
        self._listener.close()
        self.sever()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._track(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            reader = client.makefile("rb")
            upstream_reader: BinaryIO | None = None
            while True:
                request = _read_message(reader, client=client)
                if request is None:
                    return
                head, body, method = request
                self.seen.append(head.split(b"\r\n", 1)[0].decode("latin-1"))
                fault = self.plan.draw(method) if self.plan is not None else None
                if fault == "reset":
                    _reset(client)
                    return
                if fault == "stall":
                    time.sleep(self.stall_seconds)
                    _reset(client)
                    return
                if fault in _ERRORS:
                    client.sendall(_error_response(*_ERRORS[fault]))
                    return
                if upstream is None:
                    try:
                        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
                    except OSError:
                        self.refused += 1
                        _reset(client)
                        return
                    self._track(upstream)
                    upstream_reader = upstream.makefile("rb")
                assert upstream_reader is not None
                upstream.sendall(head + body)
                response = _read_message(upstream_reader, request_method=method)
                if response is None:
                    self.refused += 1
                    _reset(client)
                    return
                answer_head, answer_body, _ = response
                if fault == "reset_mid" and answer_body:
                    client.sendall(answer_head + answer_body[: len(answer_body) // 2])
                    _reset(client)
                    return
                if fault == "corrupt" and answer_body:
                    middle = len(answer_body) // 2
                    flipped = bytes([answer_body[middle] ^ 0xFF])
                    answer_body = answer_body[:middle] + flipped + answer_body[middle + 1 :]
                if self._pacer is None:
                    client.sendall(answer_head + answer_body)
                else:
                    client.sendall(answer_head)
                    self._pacer.send(client, answer_body)
                if b"\r\nconnection: close" in answer_head.lower():
                    return
        except OSError:
            _reset(client)
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with self._lock:
                        self._open.discard(sock)
                    sock.close()


class _Pacer:
    """Sends bytes no faster than `rate` per second over all connections: each chunk takes
    the next free slot of the shared link, then waits for it."""

    _CHUNK = 256 << 10

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._lock = threading.Lock()
        self._free_at = time.monotonic()

    def send(self, sock: socket.socket, data: bytes) -> None:
        view = memoryview(data)
        for start in range(0, len(view), self._CHUNK):
            chunk = view[start : start + self._CHUNK]
            with self._lock:
                now = time.monotonic()
                slot = max(now, self._free_at)
                self._free_at = slot + len(chunk) / self._rate
            if slot > now:
                time.sleep(slot - now)
            sock.sendall(chunk)


def proxied_options(proxy: FaultProxy, **extra: Any) -> dict[str, Any]:
    """Storage options that go through `proxy`, with short timeouts and quick retries."""
    return {
        "endpoint_url": proxy.endpoint,
        "read_timeout": 1.0,
        "connect_timeout": 1.0,
        "retries": 12,
        "retry_base_delay": 0.01,
        "retry_max_delay": 0.2,
        "part_size": "5MiB",
        **extra,
    }


def _read_message(
    reader: BinaryIO, *, client: socket.socket | None = None, request_method: str | None = None
) -> tuple[bytes, bytes, str] | None:
    """One request (when `client` is given) or response: (head, raw body, method or status)."""
    lines = []
    while True:
        line = reader.readline(65536)
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            if not lines:
                continue
            break
        lines.append(line)
    start = lines[0].decode("latin-1").split()
    headers = {}
    for line in lines[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if client is not None and headers.get("expect", "").lower() == "100-continue":
        client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        lines = [line for line in lines if not line.lower().startswith(b"expect:")]
    head = b"".join(lines) + b"\r\n"
    kind = start[0] if client is not None else start[1]
    no_body = request_method == "HEAD" or (request_method is not None and kind in ("204", "304"))
    if no_body:
        return head, b"", kind
    if "content-length" in headers:
        return head, _read_exact(reader, int(headers["content-length"])), kind
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return head, _read_chunked(reader), kind
    if client is not None:
        return head, b"", kind
    return head, reader.read(), kind


def _read_exact(reader: BinaryIO, size: int) -> bytes:
    data = reader.read(size)
    if len(data) != size:
        raise ConnectionResetError("the peer closed in the middle of a body")
    return data


def _read_chunked(reader: BinaryIO) -> bytes:
    parts = []
    while True:
        line = reader.readline(65536)
        parts.append(line)
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while True:  # trailers, then the empty line
                trailer = reader.readline(65536)
                parts.append(trailer)
                if trailer in (b"\r\n", b"\n", b""):
                    return b"".join(parts)
        parts.append(_read_exact(reader, size + 2))


def _error_response(status: int, reason: str, code: str, message: str) -> bytes:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>lmio-fault-proxy</RequestId></Error>"
    ).encode()
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


def _reset(sock: socket.socket) -> None:
    """Close with a TCP RST rather than a FIN: the peer sees 'connection reset'."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass
