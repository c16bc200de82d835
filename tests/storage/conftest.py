"""Fixtures for the storage tests: a real S3-compatible server on loopback, and faults.

The client code is not mocked: s3fs talks HTTP to moto's standalone server, started here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._faults import FaultProxy
from ._s3 import S3Server

pytest.importorskip("moto.server", reason="the storage tests need moto[server] (the test extra)")
pytest.importorskip("s3fs", reason="the storage tests need s3fs (the s3 extra)")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's server on a free loopback port, with the standard AWS variables pointing at it
    (so lmio finds it the way it finds any S3-compatible endpoint) and no AWS files read."""
    server = S3Server()
    server.start()
    empty = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL", server.endpoint)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.setenv("AWS_CONFIG_FILE", str(empty / "config"))
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "credentials"))
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
            env.delenv(name, raising=False)
        yield server
    server.stop()


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    """A new, empty bucket: `s3://lmio-test-<random>`."""
    return f"s3://{s3_server.new_bucket()}"


@pytest.fixture
def fault_proxy(s3_server: S3Server) -> Iterator[FaultProxy]:
    """A proxy in front of the server that injects no fault until given a `plan`."""
    proxy = FaultProxy(s3_server.port)
    yield proxy
    proxy.stop()
