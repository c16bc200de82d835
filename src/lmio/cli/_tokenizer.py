"""`lmio tokenizer train | encode | decode | info`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lmio._units import format_bytes


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "tokenizer", help="train a BPE tokenizer, encode and decode with it, describe it"
    )
    commands = parser.add_subparsers(title="tokenizer commands", metavar="COMMAND", required=True)

    train = commands.add_parser("train", help="learn a byte-level BPE vocabulary from text")
    train.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="files, directories, globs or URLs"
    )
    train.add_argument(
        "--vocab-size", type=int, required=True, help="tokens in the vocabulary, specials included"
    )
    train.add_argument(
        "--pattern", default="gpt4", help="gpt2, gpt4, o200k, llama3 or a regex (default: gpt4)"
    )
    train.add_argument(
        "--special-token",
        action="append",
        default=[],
        metavar="TEXT",
        help="a special token (repeatable)",
    )
    train.add_argument(
        "--min-frequency", type=int, default=0, help="stop when the best pair is rarer than this"
    )
    train.add_argument(
        "--threads", type=int, default=None, help="counting threads (default: all cores)"
    )
    train.add_argument(
        "--text-field", default="text", help="text field of .jsonl / column of .parquet inputs"
    )
    train.add_argument(
        "--on-invalid",
        choices=("replace", "error"),
        default="replace",
        help="invalid UTF-8: replace with U+FFFD, or stop",
    )
    train.add_argument("-o", "--output", required=True, help="tokenizer file to write (lmio JSON)")
    train.add_argument(
        "--hf", metavar="PATH", help="also write an HF tokenizer.json (a .json file or a directory)"
    )
    train.set_defaults(handler=_train)

    encode = commands.add_parser("encode", help="print token ids of text (a file or stdin)")
    encode.add_argument("file", nargs="?", help="text file (default: stdin)")
    encode.add_argument("-t", "--tokenizer", required=True, help="tokenizer file")
    encode.add_argument(
        "--lines", action="store_true", help="encode each line on its own, one output line each"
    )
    encode.add_argument(
        "--allow-special", action="store_true", help="encode special-token text as special tokens"
    )
    encode.set_defaults(handler=_encode)

    decode = commands.add_parser("decode", help="print the text of token ids (a file or stdin)")
    decode.add_argument("file", nargs="?", help="file of whitespace-separated ids (default: stdin)")
    decode.add_argument("-t", "--tokenizer", required=True, help="tokenizer file")
    decode.set_defaults(handler=_decode)

    info = commands.add_parser("info", help="describe a tokenizer file")
    info.add_argument("tokenizer", help="tokenizer file")
    info.set_defaults(handler=_info)


def _train(args: argparse.Namespace) -> int:
    from lmio._table import format_table
    from lmio.tokenizer import Tokenizer

    tok = Tokenizer.train(
        args.inputs,
        vocab_size=args.vocab_size,
        pattern=args.pattern,
        special_tokens=args.special_token,
        min_frequency=args.min_frequency,
        num_threads=args.threads,
        text_field=args.text_field,
        on_invalid=args.on_invalid,
        show_progress=None if not args.quiet else False,
    )
    tok.save(args.output)
    if args.hf:
        tok.save_hf(args.hf)
    report = tok.training_report
    if report is not None and not args.quiet:
        print(format_table(["", "value"], report.as_rows()), file=sys.stderr)
    print(f"wrote {args.output} ({tok.vocab_size} tokens, {tok.checksum})")
    return 0


def _read_input(path: str | None) -> str:
    if path is None:
        return sys.stdin.read()
    from lmio.store import read_bytes

    return read_bytes(path).decode("utf-8", errors="replace")


def _encode(args: argparse.Namespace) -> int:
    from lmio.tokenizer import Tokenizer

    tok = Tokenizer.load(args.tokenizer)
    text = _read_input(args.file)
    options: dict[str, Any] = (
        {"allowed_special": "all"} if args.allow_special else {"disallowed_special": ()}
    )
    texts = text.splitlines() if args.lines else [text]
    out = sys.stdout
    for ids in tok.encode_batch(texts, **options):
        out.write(" ".join(map(str, ids)))
        out.write("\n")
    return 0


def _decode(args: argparse.Namespace) -> int:
    from lmio.errors import InvalidArgumentError
    from lmio.tokenizer import Tokenizer

    tok = Tokenizer.load(args.tokenizer)
    for line in _read_input(args.file).splitlines():
        try:
            ids = [int(word) for word in line.split()]
        except ValueError as exc:
            raise InvalidArgumentError(f"token ids must be integers: {exc}") from None
        sys.stdout.write(tok.decode(ids) + "\n")
    return 0


def _info(args: argparse.Namespace) -> int:
    from lmio._table import format_table
    from lmio.tokenizer import Tokenizer

    tok = Tokenizer.load(args.tokenizer)
    longest = max(tok.tokens, key=len)
    rows: list[tuple[str, object]] = [
        ("name", tok.name),
        ("vocabulary size", tok.vocab_size),
        ("ordinary tokens", tok.n_mergeable),
        ("special tokens", ", ".join(f"{t}={i}" for t, i in tok.special_tokens.items()) or "none"),
        ("pattern", tok.pattern_name or f"custom: {tok.pattern}"),
        ("longest token", f"{longest!r} ({len(longest)} bytes)"),
        ("mean token length", f"{sum(map(len, tok.tokens)) / tok.n_mergeable:.2f} bytes"),
        ("merges recorded", len(tok.merges) if tok.merges is not None else "no"),
        ("checksum", tok.checksum),
        ("file size", format_bytes(_size(args.tokenizer))),
    ]
    print(format_table(["tokenizer", args.tokenizer], rows))
    return 0


def _size(url: str) -> int:
    from lmio.store import filesystem

    fs, path = filesystem(url)
    return int(fs.size(path))
