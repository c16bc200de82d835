"""The `lmio` entry point: version, usage errors, error formatting."""

from __future__ import annotations

import subprocess
import sys

import lmio


def test_version(cli) -> None:
    result = cli("--version")
    assert result.status == 0
    assert result.out.strip() == f"lmio {lmio.__version__}"


def test_unknown_command_is_one_line_error(cli) -> None:
    result = cli("no-such-command")
    assert result.status == 2
    assert result.err.startswith("error: argument COMMAND: invalid choice: 'no-such-command'")
    assert result.err.count("\n") == 1


def test_no_command_is_one_line_error(cli) -> None:
    result = cli()
    assert result.status == 2
    assert result.err.startswith("error: the following arguments are required: COMMAND")


def test_module_entry_point_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "lmio", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("lmio ")
