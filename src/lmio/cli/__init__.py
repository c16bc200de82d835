"""The `lmio` command: one subcommand group per library capability.

User errors print a single `error: ...` line and exit non-zero; `--debug` shows the traceback.
Each command module registers its parsers and calls the library function it mirrors; heavy
imports happen inside the handlers, so `lmio --help` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
from collections.abc import Iterator, Sequence
from typing import NoReturn

from lmio._version import __version__
from lmio.errors import LmioError

__all__ = ["main"]

# Modules that each define `register(subparsers)`; their order is the order in `lmio --help`.
_COMMAND_MODULES = (
    "lmio.cli._quickstart",
    "lmio.cli._model",
    "lmio.cli._tokenizer",
    "lmio.cli._prepare",
    "lmio.cli._bench",
)

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line: `error: ...`."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="lmio",
        description="lmio: from raw text to tokens, shards, batches and a trained model.",
    )
    parser.add_argument("--version", action="version", version=f"lmio {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks and debug logs on errors"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print only results and errors, no progress"
    )
    parser.add_argument(
        "--storage-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option for every remote URL (s3://, gs://, ...), repeatable: "
        "endpoint_url=http://host:9000, profile=NAME, anon=true, retries=10, part_size=16MiB, "
        "config_kwargs.read_timeout=30 (see README, Storage and URLs)",
    )
    subparsers = parser.add_subparsers(
        title="commands", metavar="COMMAND", parser_class=_Parser, required=True
    )
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def _configure_logging(*, debug: bool, quiet: bool) -> None:
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("lmio")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `lmio` command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(debug=args.debug, quiet=args.quiet)
    try:
        with _storage_options(args.storage_option):
            status = args.handler(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `lmio ... | head` closed our stdout: not an error worth a message.
        sys.stderr.close()
        return EXIT_ERROR
    except (LmioError, OSError) as exc:
        if args.debug:
            raise
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"error: internal error: {type(exc).__name__}: {_one_line(exc)} "
            "(rerun with --debug for the traceback, and please report it)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return int(status or 0)


@contextlib.contextmanager
def _storage_options(items: Sequence[str]) -> Iterator[None]:
    """`--storage-option` values: `lmio.store`'s process-wide defaults while a command runs."""
    if not items:
        yield
        return
    from lmio.store import (
        get_default_storage_options,
        parse_storage_options,
        set_default_storage_options,
    )

    saved = get_default_storage_options()
    set_default_storage_options(parse_storage_options(items))
    try:
        yield
    finally:
        set_default_storage_options(saved)


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and not isinstance(exc, LmioError) and exc.filename:
        text = f"{exc.strerror or text}: {exc.filename}"
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
