"""`lmio quickstart`: the main job on the corpus Python ships with (see lmio.quickstart)."""

from __future__ import annotations

import argparse

from lmio._units import format_duration, parse_size


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "quickstart",
        help="run the whole pipeline on a small corpus",
        description=(
            "Read the corpus Python ships with (documentation topics and standard library), "
            "hold out 5%% of its documents, train a BPE tokenizer on it, write tokenized Parquet "
            "shards, train a tiny GPT through the token loader, evaluate it on the held-out "
            "shards, sample from it and print a summary table."
        ),
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="keep the tokenizer, the shards, the model and summary.json in DIR",
    )
    parser.add_argument(
        "--steps", type=positive_int, default=400, help="training steps (default: 400)"
    )
    parser.add_argument(
        "--max-bytes",
        type=_size,
        default="3MB",
        metavar="SIZE",
        help="how much of the corpus to read, e.g. 3MB (default: 3MB)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for every random choice")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from lmio.quickstart import run_quickstart

    report = run_quickstart(
        out_dir=args.out,
        steps=args.steps,
        max_bytes=args.max_bytes,
        seed=args.seed,
        progress=False if args.quiet else None,
    )
    print(report.table())
    print(f"\nsample:\n{report.sample}\n")
    print(f"done in {format_duration(report.seconds)}", end="")
    print(f"; artefacts in {report.out_dir}" if report.out_dir is not None else "")
    return 0


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _size(text: str) -> int:
    try:
        value = parse_size(text, what="--max-bytes")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 byte, got {text}")
    return value
