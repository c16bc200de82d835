"""Scratch benchmark for the C core's trainer (issue #3): lmio vs HF tokenizers vs sentencepiece.

    python benchmarks/_native_train.py [--mb 45] [--vocab 32000] [--threads 2]

One text file of English novels + Python code from ../shared/corpora; each trainer runs in a
fresh process that reads that file itself; wall time and peak RSS (ru_maxrss) are measured
inside it. lmio = WordCounter.add_texts (the file's lines, 1 MB per call) + train_bpe with the
gpt2 pattern, the configuration that equals HF's ByteLevel BpeTrainer.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"

CHILD = """
import resource, sys, time
PATH, VOCAB, THREADS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
start = time.perf_counter()
{body}
seconds = time.perf_counter() - start
print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, n)
"""

BODIES = {
    "lmio (C core)": """
from lmio.tokenizer import _native
counter = _native.WordCounter(_native.PATTERN_GPT2, [])
with open(PATH, encoding="utf-8") as f:  # lines, as HF reads the file; 1 MB per call
    while lines := f.readlines(1 << 20):
        counter.add_texts(lines, THREADS)
printable = [*range(33, 127), *range(161, 173), *range(174, 256)]  # HF's byte-level ids
byte_order = bytes(printable + [b for b in range(256) if b not in printable])
merges = _native.train_bpe(counter, byte_order=byte_order, target_tokens=VOCAB, min_frequency=0)
n = 256 + len({m[2] for m in merges})
""",
    "HF tokenizers": """
import os
os.environ["RAYON_NUM_THREADS"] = str(THREADS)
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
trainer = trainers.BpeTrainer(vocab_size=VOCAB, min_frequency=0, show_progress=False,
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
tok.train([PATH], trainer)
n = tok.get_vocab_size()
""",
    "sentencepiece BPE": """
import os, sentencepiece as spm
spm.SentencePieceTrainer.train(input=PATH, model_prefix=os.path.join(os.path.dirname(PATH), "sp"),
    vocab_size=VOCAB, model_type="bpe", character_coverage=1.0, byte_fallback=True,
    max_sentence_length=1 << 20, num_threads=THREADS, minloglevel=2, input_sentence_size=0)
n = VOCAB
""",
}


def write_corpus(path: Path, mb: float) -> int:
    files = ["english/en_eltec_novels.jsonl", "code/code_python_stdlib.jsonl"]
    size = 0
    with path.open("w", encoding="utf-8") as out:
        for rel in files:
            with (CORPORA / rel).open(encoding="utf-8") as f:
                for line in f:
                    text = json.loads(line)["text"]
                    out.write(text.rstrip("\n") + "\n\n")
                    size += len(text.encode())
                    if size > mb * 1e6 * (files.index(rel) + 1) / len(files):
                        break
    return path.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=45)
    ap.add_argument("--vocab", type=int, default=32_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip", default="", help="comma-separated trainers to skip")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.txt"
        size = write_corpus(path, args.mb)
        print(f"corpus: {size / 1e6:.1f} MB, vocab {args.vocab}, {args.threads} threads")
        print(f"{'trainer':20} {'wall s':>8} {'peak RSS MB':>12} {'tokens':>7}")
        results = {}
        for name, body in BODIES.items():
            if name in args.skip.split(","):
                continue
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    CHILD.format(body=body),
                    str(path),
                    str(args.vocab),
                    str(args.threads),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            seconds, rss, n = out.stdout.split()
            results[name] = (float(seconds), float(rss))
            print(f"{name:20} {float(seconds):8.1f} {float(rss):12.0f} {n:>7}")
        if "HF tokenizers" in results and "lmio (C core)" in results:
            (t_l, r_l), (t_h, r_h) = results["lmio (C core)"], results["HF tokenizers"]
            print(f"lmio / HF: wall {t_l / t_h:.2f}x, peak RSS {r_l / r_h:.2f}x")


if __name__ == "__main__":
    main()
