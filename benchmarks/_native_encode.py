"""Scratch benchmark for the C core's encoder (issue #3): lmio vs tiktoken, same ranks, same run.

    python benchmarks/_native_encode.py [--mb 4] [--repeat 5]

Trains a 32k vocabulary per pattern on a sample of ../shared/corpora (english + code + chinese)
with lmio's trainer, then times one-thread `encode_ordinary` on each corpus and the batch API,
reporting medians and ratios. Needs ../shared/corpora.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import tiktoken

from lmio.tokenizer import _native
from lmio.tokenizer._patterns import NAMED_PATTERNS

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
FILES = {
    "english": "english/en_eltec_novels.jsonl",
    "code": "code/code_python_stdlib.jsonl",
    "chinese": "chinese/zh_song_ci.jsonl",
}


def load(name: str, mb: float) -> list[str]:
    docs: list[str] = []
    size = 0
    with open(CORPORA / FILES[name], encoding="utf-8") as f:
        for line in f:
            text = json.loads(line)["text"]
            docs.append(text)
            size += len(text.encode())
            if size > mb * 1e6:
                break
    return docs


def cut(docs: list[str], mb: float) -> str:
    text = "\n\n".join(docs).encode()[: int(mb * 1e6)]
    return text.decode("utf-8", "ignore")


def train(texts: list[str], pattern: int, vocab: int) -> tuple[list[bytes], list]:
    wc = _native.WordCounter(pattern, [])
    wc.add_texts(texts, 2)
    merges = _native.train_bpe(
        wc, byte_order=bytes(range(256)), target_tokens=vocab, min_frequency=0
    )
    tokens = [bytes([b]) for b in range(256)]
    for left, right, new in merges:
        if new == len(tokens):
            tokens.append(tokens[left] + tokens[right])
    return tokens, merges


def hf_tokenizer(tokens: list[bytes], merges: list[tuple[int, int, int]]) -> object:
    """HF BPE with the same vocabulary and merge order (ByteLevel = the gpt2 pattern)."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    b2u = {b: chr(b) for b in printable}
    b2u.update({b: chr(256 + k) for k, b in enumerate(b for b in range(256) if b not in b2u)})

    def hf(t: bytes) -> str:
        return "".join(b2u[b] for b in t)

    vocab = {hf(t): i for i, t in enumerate(tokens)}
    pairs = [(hf(tokens[left]), hf(tokens[right])) for left, right, _ in merges]
    tok = Tokenizer(models.BPE(vocab, pairs, ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    return tok


def median_times(repeat: int, *calls: Callable[[], object]) -> list[float]:
    """Median seconds of each call, the calls interleaved so that load drifting on a shared
    box hits them alike."""
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(repeat):
        for k, call in enumerate(calls):
            t = time.perf_counter()
            call()
            times[k].append(time.perf_counter() - t)
    return [statistics.median(ts) for ts in times]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=4.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--patterns", default="gpt4,gpt2")
    args = ap.parse_args()
    docs = {name: load(name, args.mb) for name in FILES}
    sample = {name: cut(d, args.mb) for name, d in docs.items()}
    train_texts = [t for name in FILES for t in docs[name]]
    print(
        f"{'pattern':8} {'corpus':8} {'MB':>5} {'tiktoken MB/s':>14} {'lmio MB/s':>10} {'ratio':>6}"
        f" {'HF MB/s':>8}"
    )
    for pname in args.patterns.split(","):
        pat = NAMED_PATTERNS[pname]
        tokens, merges = train(train_texts, pat.native_id or 0, 32000)
        hf = hf_tokenizer(tokens, merges) if pname == "gpt2" else None
        ranks = {t: i for i, t in enumerate(tokens)}
        tk = tiktoken.Encoding("bench", pat_str=pat.regex, mergeable_ranks=ranks, special_tokens={})
        enc = _native.Encoder(tokens, {}, pat.native_id or 0)
        for name, text in sample.items():
            assert enc.encode_ordinary(text) == tk.encode_ordinary(text), (pname, name)
            mb = len(text.encode()) / 1e6
            t_tk, t_lm = median_times(
                args.repeat,
                functools.partial(tk.encode_ordinary, text),
                functools.partial(enc.encode_ordinary, text),
            )
            hf_col = ""
            if hf is not None:
                ids = hf.encode(text, add_special_tokens=False).ids  # type: ignore[attr-defined]
                same = ids == enc.encode_ordinary(text)
                encode = functools.partial(hf.encode, text, add_special_tokens=False)  # type: ignore[attr-defined]
                (t_hf,) = median_times(max(1, args.repeat // 3), encode)
                hf_col = f" {mb / t_hf:8.1f}" + ("" if same else " (ids differ)")
            print(
                f"{pname:8} {name:8} {mb:5.1f} {mb / t_tk:14.1f} {mb / t_lm:10.1f} {t_tk / t_lm:6.2f}"
                + hf_col
            )
        batch = [d for name in FILES for d in docs[name]]
        mb = sum(len(d.encode()) for d in batch) / 1e6
        for threads in (1, 2):
            t_tk, t_lm = median_times(
                args.repeat,
                functools.partial(tk.encode_ordinary_batch, batch, num_threads=threads),
                functools.partial(enc.encode_batch, batch, (), threads),
            )
            hf_col = ""
            if hf is not None and threads == 1:  # HF's thread pool size is fixed at its start
                os.environ["RAYON_NUM_THREADS"] = "1"
                batch_hf = functools.partial(hf.encode_batch, batch, add_special_tokens=False)  # type: ignore[attr-defined]
                (t_hf,) = median_times(max(1, args.repeat // 3), batch_hf)
                hf_col = f" {mb / t_hf:8.1f}"
            print(
                f"{pname:8} batch/{threads}t {mb:5.1f} {mb / t_tk:14.1f} {mb / t_lm:10.1f} {t_tk / t_lm:6.2f}"
                + hf_col
            )


if __name__ == "__main__":
    main()
