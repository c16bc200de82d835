"""`lmio prepare` (corpus to tokenized Parquet shards) and `lmio inspect` (describe a dataset)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from lmio.store import Dataset

_HISTOGRAM_WIDTH = 40


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    prepare = subparsers.add_parser(
        "prepare",
        help="clean and tokenize a corpus into Parquet shards with a manifest",
        description="Clean and tokenize a corpus into Parquet shards with a manifest. "
        "The same command, rerun after an interruption, continues where it stopped.",
    )
    prepare.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="files, directories, globs or URLs"
    )
    prepare.add_argument("-t", "--tokenizer", required=True, help="lmio tokenizer file")
    prepare.add_argument("-o", "--output", required=True, help="output folder (a path or URL)")
    prepare.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: one per core)"
    )
    prepare.add_argument(
        "--engine", choices=("local", "spark"), default="local", help="executor (default: local)"
    )
    prepare.add_argument("--spark-master", metavar="URL", help="Spark master (default: local mode)")
    prepare.add_argument(
        "--shard-size",
        default="128MB",
        metavar="SIZE",
        help="token bytes per shard before compression (default: 128MB)",
    )
    prepare.add_argument(
        "--row-group-tokens",
        type=int,
        default=1 << 20,
        metavar="N",
        help="tokens per row group (default: 1048576)",
    )
    prepare.add_argument(
        "--text-field", default="text", help="text field of JSON lines / column of Parquet"
    )
    prepare.add_argument(
        "--split",
        choices=("file", "line", "paragraph"),
        default="file",
        help="text files: a document per file, line or blank-line separated block",
    )
    prepare.add_argument(
        "--on-invalid",
        choices=("replace", "error"),
        default="replace",
        help="invalid UTF-8: replace with U+FFFD and count (default), or stop",
    )
    prepare.add_argument(
        "--strict",
        action="store_true",
        help="stop at malformed records, missing text fields, binary or unreadable files",
    )
    prepare.add_argument(
        "--clean",
        default="default",
        metavar="STEPS",
        help="comma-separated cleaning steps: default (= nfc,control,whitespace,dedup), none, "
        "nfc, nfkc, control, whitespace, lowercase, dedup",
    )
    prepare.add_argument(
        "--keep-categories",
        metavar="CATS",
        help="keep only characters of these Unicode categories, e.g. L,N,P,Z",
    )
    prepare.add_argument(
        "--min-chars", type=int, default=1, help="drop shorter cleaned documents (default: 1)"
    )
    prepare.add_argument("--max-chars", type=int, default=None, help="drop longer documents")
    prepare.add_argument(
        "--max-document-chars",
        type=int,
        default=1 << 22,
        metavar="N",
        help="longer documents are written in parts of this size (default: 4194304)",
    )
    prepare.add_argument(
        "--unit-size",
        metavar="SIZE",
        help="bytes of a large uncompressed file one task reads (default: input/32, 4-64MB)",
    )
    prepare.add_argument(
        "--no-eos", action="store_true", help="do not append <|endoftext|> to each document"
    )
    prepare.add_argument(
        "--overwrite", action="store_true", help="replace an lmio dataset already in the folder"
    )
    prepare.set_defaults(handler=_prepare)

    inspect = subparsers.add_parser(
        "inspect", help="describe a prepared dataset: counts, sizes, document lengths"
    )
    inspect.add_argument("dataset", help="dataset folder (a path or URL)")
    inspect.add_argument(
        "--verify", action="store_true", help="check every shard's sha256 against the manifest"
    )
    inspect.set_defaults(handler=_inspect)


def _prepare(args: argparse.Namespace) -> int:
    from lmio._table import format_table
    from lmio.prepare import prepare
    from lmio.text import CleanOptions

    categories = (
        tuple(c.strip() for c in args.keep_categories.split(",") if c.strip())
        if args.keep_categories
        else None
    )
    clean = CleanOptions.from_steps(
        args.clean.split(","),
        min_chars=args.min_chars,
        max_chars=args.max_chars,
        keep_categories=categories,
    )
    report = prepare(
        args.inputs,
        tokenizer=args.tokenizer,
        out=args.output,
        workers=args.workers,
        engine=args.engine,
        spark_master=args.spark_master,
        shard_size=args.shard_size,
        row_group_tokens=args.row_group_tokens,
        text_field=args.text_field,
        split=args.split,
        on_invalid=args.on_invalid,
        strict=args.strict,
        clean=clean,
        append_eos=not args.no_eos,
        max_document_chars=args.max_document_chars,
        unit_size=args.unit_size,
        overwrite=args.overwrite,
        show_progress=False if args.quiet else None,
    )
    print(format_table(["prepare", ""], report.as_rows()))
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from lmio._table import format_table
    from lmio._units import format_bytes
    from lmio.store import open_dataset

    dataset = open_dataset(args.dataset)
    if args.verify:
        dataset.verify()
    itemsize = 2 if dataset.token_type == "uint16" else 4
    raw = dataset.num_tokens * itemsize
    rows: list[tuple[str, object]] = [
        ("dataset", dataset.url),
        ("format", f"lmio.dataset version {dataset.version}"),
        ("tokenizer", dataset.tokenizer_checksum),
        ("documents", dataset.num_documents),
        ("rows", dataset.num_rows),
        ("tokens", dataset.num_tokens),
        ("token type", dataset.token_type),
        ("shards", len(dataset.shards)),
        ("row groups", sum(len(s.row_group_rows) for s in dataset.shards)),
        ("bytes", format_bytes(dataset.num_bytes)),
        ("raw token bytes", format_bytes(raw)),
        ("compression ratio", f"{raw / dataset.num_bytes:.2f}x" if dataset.num_bytes else "-"),
    ]
    if args.verify:
        rows.append(("checksums", f"all {len(dataset.shards)} shards match the manifest"))
    print(format_table(["inspect", ""], rows))
    print()
    print(_histogram(dataset))
    return 0


def _histogram(dataset: Dataset) -> str:
    import numpy as np

    from lmio._table import format_table

    lengths = dataset.document_lengths()
    if len(lengths) == 0:
        return "tokens per document: no documents"
    summary = (
        f"tokens per document: mean {lengths.mean():.1f}, median {np.median(lengths):.0f}, "
        f"p99 {np.percentile(lengths, 99):.0f}, max {lengths.max()}"
    )
    return summary + "\n" + format_table(["tokens", "documents", "share", ""], _buckets(lengths))


def _buckets(lengths: npt.NDArray[np.int64]) -> list[tuple[str, int, str, str]]:
    """Power-of-two buckets of document lengths, with a bar for each."""
    import numpy as np

    exponents = np.floor(np.log2(np.maximum(lengths, 1))).astype(np.int64)
    counts = np.bincount(exponents)
    peak = int(counts.max())
    rows = []
    for exponent, count in enumerate(counts.tolist()):
        if count == 0:
            continue
        low, high = 1 << exponent, (1 << (exponent + 1)) - 1
        label = f"{low}" if low == high else f"{low}-{high}"
        bar = "#" * max(1, round(_HISTOGRAM_WIDTH * count / peak))
        rows.append((label, count, f"{100 * count / len(lengths):.1f}%", bar))
    return rows
