"""`lmio prepare` benchmark: raw JSON lines to tokenized Parquet shards.

On the English, Chinese and code JSON lines of ../shared/corpora, with a 32k BPE tokenizer
trained on them, the same worker count everywhere (default: one per core):

  tokenizer only   the lmio tokenizer encoding the same documents, already in memory, on N
                   worker processes (the ceiling: no reading, cleaning, writing)
  lmio local       `prepare` end to end: read, clean, dedup, tokenize, write shards + manifest
  lmio, no clean   the same with every cleaning step off (`--clean none`): the cost of the rest
  HF datasets      what a user would otherwise write: load_dataset("json") per file (their
                   extra fields differ) keeping "text", concatenate, map(num_proc=N) with the
                   HF tokenizers fast tokenizer (EOS appended), to_parquet
  lmio spark       `prepare(engine="spark")` in local mode, checked byte-identical to local

Throughput is input megabytes (10^6 bytes of the JSON-lines files) per second of wall time,
the median of --runs runs, each into a fresh folder (and, for HF, a fresh cache). Bars:
lmio local >= 0.85x tokenizer only, >= 3x HF datasets; Spark output identical to local.

`--repeat K` feeds every pipeline K copies of each document (each copy marked, so
deduplication keeps them): fixed costs (loading the tokenizer, starting workers, the last
shard) then weigh less, and the ratio shows the steady state.

    python benchmarks/prepare.py [--runs 3] [--workers N] [--repeat K] [--no-hf] [--no-spark]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from _common import ROOT, cpu_count, format_table, need_corpora

WORK = ROOT / ".bench" / "prepare"
GROUPS = ("english", "chinese", "code")
VOCAB_SIZE = 32_768
EOS = "<|endoftext|>"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=cpu_count())
    parser.add_argument("--repeat", type=int, default=1, help="copies of each document")
    parser.add_argument("--no-hf", action="store_true", help="skip the HF datasets pipeline")
    parser.add_argument("--no-spark", action="store_true", help="skip the Spark run")
    args = parser.parse_args()
    corpora = need_corpora()
    files = sorted(str(p) for group in GROUPS for p in (corpora / group).glob("*.jsonl"))
    WORK.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer(files)
    if args.repeat > 1:
        files = _repeated(files, args.repeat)
    size = sum(os.path.getsize(f) for f in files)
    print(
        f"{len(files)} files, {size / 1e6:.1f} MB of JSON lines; {args.workers} workers; "
        f"{args.runs} runs each (medians)",
        flush=True,
    )

    from lmio.text import CleanOptions

    timings: dict[str, list[float]] = {"tokenizer": [], "lmio": [], "raw": []}
    if not args.no_hf:
        timings["hf"] = []
    stages: list[dict[str, float]] = []
    for run in range(args.runs):
        timings["tokenizer"].append(_tokenizer_only(files, tokenizer, args.workers))
        seconds, report = _lmio(files, args.workers, WORK / "lmio")
        timings["lmio"].append(seconds)
        stages.append(report.stage_seconds)
        timings["raw"].append(
            _lmio(files, args.workers, WORK / "raw", clean=CleanOptions.none())[0]
        )
        if not args.no_hf:
            timings["hf"].append(_hf_datasets(files, tokenizer, args.workers, WORK / "hf"))
        print(
            f"  run {run + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in timings.items()),
            flush=True,
        )
    seconds = {name: statistics.median(values) for name, values in timings.items()}
    spark = None if args.no_spark else _spark(files, args.workers)

    ceiling = seconds["tokenizer"]
    hf = seconds.get("hf")

    def row(name: str, workers: str, elapsed: float) -> list[object]:
        versus_hf = f"{hf / elapsed:.1f}x" if hf is not None else "-"
        return [
            name,
            workers,
            size / 1e6 / elapsed,
            elapsed,
            f"{ceiling / elapsed:.2f}x",
            versus_hf,
        ]

    n = args.workers
    rows = [
        row("tokenizer only", f"{n} processes", ceiling),
        row("lmio prepare", f"local, {n} workers", seconds["lmio"]),
        row("lmio prepare", f"local, {n} workers, --clean none", seconds["raw"]),
    ]
    if hf is not None:
        rows.append(row("HF datasets", f"map(num_proc={n})", hf))
    if spark is not None:
        rows.append(row("lmio prepare", f"spark local[{n}], once", spark[0]))
        rows[-1][-1] = "identical to local" if spark[1] else "DIFFERS from local"
    print()
    print(
        format_table(
            ["pipeline", "workers", "MB/s", "seconds", "vs tokenizer only", "vs HF datasets"],
            rows,
        )
    )
    middle = sorted(stages, key=lambda s: sum(s.values()))[len(stages) // 2]
    print()
    print(
        "lmio local stages (median run): " + ", ".join(f"{k} {v:.2f} s" for k, v in middle.items())
    )
    print()
    bars = [("lmio >= 0.85x tokenizer only", ceiling / seconds["lmio"] >= 0.85)]
    if hf is not None:
        bars.append(("lmio >= 3x HF datasets", hf / seconds["lmio"] >= 3))
    if spark is not None:
        bars.append(("Spark output identical to local", spark[1]))
    for name, met in bars:
        print(f"{'met' if met else 'NOT met'}: {name}")


def _repeated(files: list[str], copies: int) -> list[str]:
    """Each file with every document `copies` times, each copy marked (written once)."""
    folder = WORK / f"repeat-{copies}"
    out = []
    for path in files:
        target = folder / Path(path).name
        out.append(str(target))
        if target.exists():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        with open(path, encoding="utf-8") as lines:
            texts = [json.loads(line)["text"] for line in lines]
        with open(str(target) + ".tmp", "w", encoding="utf-8") as sink:
            for copy in range(copies):
                for text in texts:
                    sink.write(json.dumps({"text": f"{text}\n[copy {copy}]"}) + "\n")
        os.replace(str(target) + ".tmp", target)
    return out


def _tokenizer(files: list[str]) -> Any:
    """A 32k BPE tokenizer trained on the corpus (once, kept under .bench/prepare)."""
    from lmio.tokenizer import Tokenizer

    path = WORK / "tokenizer.json"
    if not path.exists():
        Tokenizer.train(
            files, vocab_size=VOCAB_SIZE, special_tokens=[EOS], show_progress=False
        ).save(path)
    return Tokenizer.load(path)


# ----- tokenizer only: the same documents, in memory, encoded on N processes --------------


def _tokenizer_only(files: list[str], tokenizer: Any, workers: int) -> float:
    """Wall time from the first worker starting to encode to the last one finishing."""
    shares = _shares(files, workers)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        barrier = context.Manager().Barrier(workers)
        spans = list(pool.map(_encode_share, shares, [tokenizer] * workers, [barrier] * workers))
    return max(end for _, end in spans) - min(start for start, _ in spans)


def _shares(files: list[str], workers: int) -> list[list[str]]:
    """The files' documents in order, cut into `workers` runs of about equal bytes."""
    texts: list[str] = []
    for path in files:
        with open(path, encoding="utf-8") as lines:
            texts += [json.loads(line)["text"] for line in lines]
    total = sum(len(t) for t in texts)
    shares: list[list[str]] = [[] for _ in range(workers)]
    done = 0
    for text in texts:
        shares[min(workers - 1, done * workers // max(total, 1))].append(text)
        done += len(text)
    return shares


def _encode_share(texts: list[str], tokenizer: Any, barrier: Any) -> tuple[float, float]:
    tokenizer.encode_batch_to_numpy(texts[:10], num_threads=1, disallowed_special=())  # warm
    barrier.wait()
    start = time.time()
    for i in range(0, len(texts), 4096):
        tokenizer.encode_batch_to_numpy(texts[i : i + 4096], num_threads=1, disallowed_special=())
    return start, time.time()


# ----- lmio -------------------------------------------------------------------------------


def _lmio(files: list[str], workers: int, out: Path, **options: Any) -> tuple[float, Any]:
    from lmio.prepare import prepare

    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    report = prepare(
        files,
        tokenizer=WORK / "tokenizer.json",
        out=out,
        workers=workers,
        show_progress=False,
        **options,
    )
    return time.perf_counter() - started, report


def _spark(files: list[str], workers: int) -> tuple[float, bool] | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        print("lmio spark: skipped (pip install 'lmio[spark]' and Java 17+)", file=sys.stderr)
        return None
    seconds, _ = _lmio(
        files, workers, WORK / "spark", engine="spark", spark_master=f"local[{workers}]"
    )
    return seconds, _tree(WORK / "spark") == _tree(WORK / "lmio")


def _tree(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# ----- HF datasets: the pipeline a user would otherwise write -----------------------------


def _hf_datasets(files: list[str], tokenizer: Any, workers: int, out: Path) -> float:
    import datasets
    from tokenizers import Tokenizer as HFTokenizer

    hf_path = WORK / "hf-tokenizer.json"
    if not hf_path.exists():
        tokenizer.save_hf(hf_path)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    datasets.disable_progress_bars()
    started = time.perf_counter()
    # The files carry different extra fields: load each, keep the text, concatenate.
    dataset = datasets.concatenate_datasets(
        [
            datasets.load_dataset(
                "json", data_files=f, split="train", cache_dir=str(out / "cache")
            ).select_columns(["text"])
            for f in files
        ]
    )
    hf_tokenizer = HFTokenizer.from_file(str(hf_path))
    eos = hf_tokenizer.token_to_id(EOS)
    dataset = dataset.map(
        _hf_encode,
        batched=True,
        num_proc=workers,
        fn_kwargs={"tokenizer": hf_tokenizer, "eos": eos},
        remove_columns=dataset.column_names,
    )
    dataset.to_parquet(str(out / "tokens.parquet"))
    return time.perf_counter() - started


def _hf_encode(batch: dict[str, list[Any]], tokenizer: Any, eos: int) -> dict[str, list[Any]]:
    encodings = tokenizer.encode_batch(batch["text"], add_special_tokens=False)
    return {"input_ids": [[*e.ids, eos] for e in encodings]}


if __name__ == "__main__":
    main()
