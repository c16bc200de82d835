"""An S3-compatible HTTP server on loopback for the tests: moto's ThreadedMotoServer."""

from __future__ import annotations

import logging
import uuid
from typing import Any


class S3Server:
    """moto's standalone server on 127.0.0.1; `restart` brings it back on the same port.

    The objects live in moto's in-process backend, so they survive a restart, as they would
    on a real server; clients see their connections refused or reset while it is down.
    """

    def __init__(self) -> None:
        self.port = 0
        self._server: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        server.start()
        self.port = server.get_host_and_port()[1]
        self._server = server

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.stop()
        self._server._server.server_close()  # stop() leaves the socket bound
        self._server = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self) -> Any:
        """A plain boto3 client, to arrange and inspect buckets beside the code under test."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def new_bucket(self) -> str:
        name = f"lmio-test-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name
