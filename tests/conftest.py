"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from lmio.cli import main

SHARED_CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"


@dataclass
class CliResult:
    status: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run `lmio ARGS...` in-process and capture its exit status and output."""

    def run(*args: str | os.PathLike[str]) -> CliResult:
        capsys.readouterr()
        try:
            status = main([str(a) for a in args])
        except SystemExit as exc:  # argparse exits on usage errors and --version
            status = int(exc.code or 0)
        captured = capsys.readouterr()
        return CliResult(status, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def shared_corpora() -> Path:
    """../shared/corpora when this checkout has it; tests that need it are skipped otherwise."""
    if not SHARED_CORPORA.is_dir():
        pytest.skip("../shared/corpora is not present (optional real-text corpora)")
    return SHARED_CORPORA
