"""`lmio train` and `lmio eval`: the reference GPT on a tokenized dataset.

DATA is a dataset written by `lmio prepare` (a folder or URL), read by lmio's `TokenLoader`
(threads, prefetch, shuffle by seed); a `.npy` file of token ids also works, cut into windows
by `lmio.model._windows`.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator
from typing import Any

from lmio._units import format_count, format_duration
from lmio.cli._common import add_disk_cache_arguments, disk_cache
from lmio.cli._quickstart import positive_int


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    train = subparsers.add_parser(
        "train",
        help="train the reference GPT on a tokenized dataset",
        description="Train a GPT on a dataset written by `lmio prepare` (shuffled by --seed, "
        "epoch after epoch) or on random windows of a .npy file of token ids, and save it "
        "(model.safetensors + config.json) to --out.",
    )
    _add_tokens_argument(train)
    train.add_argument("--out", required=True, metavar="DIR", help="directory to save the model in")
    train.add_argument(
        "--preset", default="tiny", help="model size: tiny, small or base (default: tiny)"
    )
    train.add_argument(
        "--steps", type=positive_int, default=200, help="optimizer steps (default: 200)"
    )
    train.add_argument(
        "--batch-size", type=positive_int, default=16, help="windows per step (default: 16)"
    )
    train.add_argument(
        "--seq-len",
        type=positive_int,
        metavar="T",
        help="tokens per window; also the model's block_size (default: the preset's)",
    )
    train.add_argument(
        "--lr", type=_positive_float, default=1e-3, help="peak learning rate (default: 1e-3)"
    )
    train.add_argument(
        "--weight-decay", type=float, default=0.1, help="AdamW weight decay (default: 0.1)"
    )
    train.add_argument(
        "--warmup-steps", type=int, help="linear warmup steps (default: 5%% of --steps)"
    )
    train.add_argument(
        "--vocab-size",
        type=positive_int,
        help="embedding rows (default: the dataset tokenizer's vocabulary; for .npy, the largest id + 1)",
    )
    train.add_argument("--seed", type=int, default=0, help="seed for initialisation and sampling")
    _add_device_argument(train)
    train.set_defaults(handler=_train)

    evaluate = subparsers.add_parser(
        "eval",
        help="loss and perplexity of a trained GPT on a tokenized dataset",
        description="Evaluate a saved GPT on a dataset written by `lmio prepare`, in order, "
        "or on consecutive windows of a .npy file of token ids.",
    )
    _add_tokens_argument(evaluate)
    evaluate.add_argument(
        "--model", required=True, metavar="DIR", help="directory written by lmio train"
    )
    evaluate.add_argument(
        "--batch-size", type=positive_int, default=16, help="windows per batch (default: 16)"
    )
    evaluate.add_argument(
        "--seq-len",
        type=positive_int,
        metavar="T",
        help="tokens per window (default: the model's block_size)",
    )
    evaluate.add_argument("--max-batches", type=positive_int, help="stop after this many batches")
    _add_device_argument(evaluate)
    evaluate.set_defaults(handler=_evaluate)


def _add_tokens_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "tokens",
        metavar="DATA",
        help="dataset written by lmio prepare (folder or URL), or a .npy file of token ids",
    )
    add_disk_cache_arguments(parser)


def _is_token_file(path: str) -> bool:
    return path.endswith(".npy")


def _dataset_vocab(path: str) -> int:
    from lmio.store import open_dataset

    return open_dataset(path).tokenizer().vocab_size


def _endless(loader: Any) -> Iterator[Any]:
    """Epoch after epoch: each pass over the loader is the next, reshuffled epoch."""
    while True:
        yield from loader


def _add_device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device", help="torch device, e.g. cpu or cuda (default: cuda if available)"
    )


def _train(args: argparse.Namespace) -> int:
    import dataclasses

    import torch

    from lmio.model import GPT, GPTConfig, save_model, train
    from lmio.model._windows import check_vocab, load_token_file, random_windows

    tokens = load_token_file(args.tokens) if _is_token_file(args.tokens) else None
    if tokens is not None:
        vocab_size = args.vocab_size or int(tokens.max()) + 1
        check_vocab(tokens, vocab_size, source=args.tokens)
    else:
        vocab_size = args.vocab_size or _dataset_vocab(args.tokens)
    config = GPTConfig.from_preset(args.preset, vocab_size=vocab_size)
    if args.seq_len is not None:
        # Positions past the training length would never be trained: size the model to it.
        config = dataclasses.replace(config, block_size=args.seq_len)
    windows: Iterable[Any]
    if tokens is not None:
        windows = random_windows(
            tokens,
            batch_size=args.batch_size,
            seq_len=config.block_size,
            seed=args.seed,
            source=args.tokens,
        )
    else:
        from lmio.loader import TokenLoader

        windows = _endless(
            TokenLoader(
                args.tokens,
                batch_size=args.batch_size,
                seq_len=config.block_size,
                seed=args.seed,
                pin_memory=_device(args.device).type == "cuda",
                disk_cache=disk_cache(args),
            )
        )
    torch.manual_seed(args.seed)
    model = GPT(config)
    result = train(
        model,
        windows,
        steps=args.steps,
        lr=args.lr,
        weight_decay=args.weight_decay,
        warmup_steps=args.warmup_steps,
        device=_device(args.device),
        progress=_progress(args),
    )
    save_model(model, args.out)
    print(
        f"trained a {args.preset} GPT ({format_count(model.num_parameters())} parameters) for "
        f"{result.steps} steps on {format_count(result.tokens)} tokens in "
        f"{format_duration(result.seconds)} ({format_count(result.tokens_per_second)} tokens/s): "
        f"loss {result.losses[0]:.4f} -> {result.final_loss:.4f}; saved to {args.out}"
    )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from lmio.errors import DataError
    from lmio.model import evaluate, load_model
    from lmio.model._windows import check_vocab, load_token_file, sequential_windows

    model = load_model(args.model, device=_device(args.device))
    seq_len = args.seq_len or model.config.block_size
    windows: Iterable[Any]
    if _is_token_file(args.tokens):
        tokens = load_token_file(args.tokens)
        check_vocab(tokens, model.config.vocab_size, source=args.tokens)
        windows = sequential_windows(
            tokens, batch_size=args.batch_size, seq_len=seq_len, source=args.tokens
        )
    else:
        from lmio.loader import TokenLoader

        if _dataset_vocab(args.tokens) > model.config.vocab_size:
            raise DataError(
                f"{args.tokens} was tokenized with a larger vocabulary than the model's "
                f"{model.config.vocab_size} ids: evaluate on data from the model's tokenizer"
            )
        windows = TokenLoader(
            args.tokens,
            batch_size=args.batch_size,
            seq_len=seq_len,
            shuffle=False,
            drop_last=False,
            rank=0,
            world_size=1,
            disk_cache=disk_cache(args),
        )
    result = evaluate(model, windows, max_batches=args.max_batches, progress=_progress(args))
    print(
        f"loss {result.loss:.4f}  perplexity {result.perplexity:.2f}  "
        f"({result.tokens:,} tokens in {result.batches} batches)"
    )
    return 0


def _device(name: str | None) -> Any:
    import torch

    from lmio.errors import InvalidArgumentError

    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise InvalidArgumentError(f"unknown --device {name!r}: use cpu, cuda or cuda:N") from exc


def _progress(args: argparse.Namespace) -> bool | None:
    """No bar under --quiet; otherwise only on a terminal."""
    return False if args.quiet else None


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value
