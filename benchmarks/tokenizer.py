"""Tokenizer benchmark: lmio vs tiktoken vs HF tokenizers (encode) and vs HF and sentencepiece (train).

Run: python benchmarks/tokenizer.py [--quick]

Encode: the same vocabulary (32,000 tokens trained by lmio on the corpora, gpt4 pattern) in all
three libraries (tiktoken via `to_tiktoken()`, HF via `save_hf`); outputs are checked identical
before timing. Train: vocabulary 32,000 on >= 30 MB of English + code, each trainer in a fresh
process (wall time and peak RSS measured inside it), the same text file for all.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import cpu_count, format_table, load_jsonl, median_seconds, need_corpora

VOCAB = 32_000

TRAINERS = {
    "lmio": """
from lmio.tokenizer import Tokenizer
tok = Tokenizer.train(PATH, vocab_size=VOCAB, pattern="gpt2", show_progress=False)
n = tok.vocab_size
""",
    "HF tokenizers": """
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
trainer = trainers.BpeTrainer(vocab_size=VOCAB, min_frequency=0, show_progress=False,
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
tok.train([PATH], trainer)
n = tok.get_vocab_size()
""",
    "sentencepiece BPE": """
import sentencepiece as spm, os
spm.SentencePieceTrainer.train(input=PATH, model_prefix=os.path.join(os.path.dirname(PATH), "sp"),
    vocab_size=VOCAB, model_type="bpe", character_coverage=1.0, byte_fallback=True,
    max_sentence_length=1 << 20, num_threads=NTHREADS, minloglevel=2, input_sentence_size=0)
n = VOCAB
""",
}

# Peak RSS from VmHWM: unlike ru_maxrss, it starts afresh at exec, so the benchmark
# process's own memory (it holds the corpora) does not leak into the child's figure.
CHILD = """
import sys, time
PATH, VOCAB, NTHREADS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
start = time.perf_counter()
{body}
seconds = time.perf_counter() - start
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
print(seconds, int(hwm) / 1024, n)
"""


def corpora(quick: bool) -> dict[str, list[str]]:
    root = need_corpora()
    limit = 2_000_000 if quick else 8_000_000
    return {
        "english": load_jsonl(root / "english" / "en_eltec_novels.jsonl", max_bytes=limit),
        "chinese": load_jsonl(root / "chinese" / "zh_song_ci.jsonl", max_bytes=limit),
        "code": load_jsonl(root / "code" / "code_python_stdlib.jsonl", max_bytes=limit),
    }


def encode_benchmark(texts: dict[str, list[str]], workdir: Path) -> None:
    from tokenizers import Tokenizer as HFTokenizer

    from lmio.tokenizer import Tokenizer

    mix = [t for kind in texts.values() for t in kind]
    tok = Tokenizer.train(mix, vocab_size=VOCAB, pattern="gpt4", special_tokens=["<|endoftext|>"])
    enc = tok.to_tiktoken()
    tok.save_hf(workdir / "hf")
    hf = HFTokenizer.from_file(str(workdir / "hf" / "tokenizer.json"))
    threads = cpu_count()

    rows = []
    for kind, docs in texts.items():
        mb = sum(len(d.encode()) for d in docs) / 1e6
        expected = [tok.encode_ordinary(d) for d in docs]
        assert expected == [enc.encode_ordinary(d) for d in docs], f"tiktoken differs on {kind}"
        assert expected == [e.ids for e in hf.encode_batch(docs, add_special_tokens=False)], (
            f"HF differs on {kind}"
        )
        one = {
            "lmio": median_seconds(lambda docs=docs: [tok.encode_ordinary(d) for d in docs]),
            "tiktoken": median_seconds(lambda docs=docs: [enc.encode_ordinary(d) for d in docs]),
            "HF tokenizers": median_seconds(
                lambda docs=docs: [hf.encode(d, add_special_tokens=False) for d in docs], repeat=3
            ),
        }
        batch = {
            "lmio": median_seconds(
                lambda docs=docs: tok.encode_batch_to_numpy(docs, num_threads=threads)
            ),
            "tiktoken": median_seconds(
                lambda docs=docs: enc.encode_ordinary_batch(docs, num_threads=threads)
            ),
            "HF tokenizers": median_seconds(
                lambda docs=docs: hf.encode_batch(docs, add_special_tokens=False), repeat=3
            ),
        }
        for name, seconds in one.items():
            rows.append(
                (
                    kind,
                    name,
                    round(mb / seconds, 1),
                    round(seconds / one["lmio"], 2),
                    round(mb / batch[name], 1),
                    round(batch[name] / batch["lmio"], 2),
                )
            )
    print(
        f"\nEncode: vocabulary {VOCAB}, gpt4 pattern, identical outputs checked; batch = {threads} threads"
    )
    print(
        format_table(
            ["corpus", "library", "1-thread MB/s", "lmio speed-up", "batch MB/s", "lmio speed-up"],
            rows,
        )
    )


def train_benchmark(workdir: Path, quick: bool) -> None:
    root = need_corpora()
    target = 8_000_000 if quick else 32_000_000
    english = load_jsonl(root / "english" / "en_eltec_novels.jsonl", max_bytes=target * 2 // 3)
    code = load_jsonl(root / "code" / "code_python_stdlib.jsonl", max_bytes=target // 3)
    path = workdir / "train.txt"
    with path.open("w", encoding="utf-8") as f:
        for doc in english + code:
            f.write(doc.rstrip("\n") + "\n")
    size_mb = path.stat().st_size / 1e6
    results = {}
    for name, body in TRAINERS.items():
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD.format(body=body),
                str(path),
                str(VOCAB),
                str(cpu_count()),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        seconds, rss, n = out.stdout.split()[-3:]
        results[name] = (float(seconds), float(rss), int(n))
    base_s, base_rss, _ = results["HF tokenizers"]
    rows = [
        (name, round(s, 2), round(s / base_s, 2), round(rss), round(rss / base_rss, 2), n)
        for name, (s, rss, n) in results.items()
    ]
    print(
        f"\nTrain: vocabulary {VOCAB} on {size_mb:.1f} MB (English novels + Python code), {cpu_count()} cores"
    )
    print(
        format_table(["trainer", "wall s", "x HF time", "peak RSS MB", "x HF RSS", "vocab"], rows)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller corpora, for a smoke run")
    parser.add_argument("--only", choices=("encode", "train"), help="run one half")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        if args.only in (None, "encode"):
            encode_benchmark(corpora(args.quick), workdir)
        if args.only in (None, "train"):
            train_benchmark(workdir, args.quick)
        print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
