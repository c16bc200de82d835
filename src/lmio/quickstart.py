"""The main job, end to end, on the corpus every Python ships: `lmio quickstart`.

Read the embedded corpus and hold out some documents; train a BPE tokenizer on the rest;
clean, tokenize and write both to Parquet shards (`lmio prepare`); train a tiny GPT on batches
from the `TokenLoader`; measure it on the held-out shards before and after; save it, and
sample from it. Each step is a stage: a function that takes the shared `QuickstartState`,
does its work and says what it did. The runner times each stage and turns it into a row of
the summary table, so adding a stage is adding a function to `STAGES`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from lmio._cpus import usable_cpus
from lmio._table import format_table
from lmio._units import format_bytes, format_count, format_duration
from lmio.errors import DataError, InvalidArgumentError
from lmio.model import GPT, EvalResult, TrainResult, evaluate, load_model, save_model, train
from lmio.store import write_bytes_atomic
from lmio.text import embedded_corpus
from lmio.tokenizer import Tokenizer

__all__ = ["STAGES", "QuickstartReport", "QuickstartState", "StageRow", "run_quickstart"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_EVAL_BATCH_SIZE = 32
_VOCAB_SIZE = 4096
_EOS = "<|endoftext|>"
_PROMPT = "def "
_SAMPLE_TOKENS = 200


@dataclass(frozen=True)
class StageRow:
    """One row of the summary: what a stage did, how long it took and how fast it went."""

    stage: str
    did: str
    seconds: float
    throughput: str


@dataclass(frozen=True)
class StageOutcome:
    """What a stage returns: a sentence, and the amount of work behind the throughput."""

    did: str
    amount: float
    unit: str  # "bytes" or "tokens"


@dataclass
class QuickstartState:
    """Everything the stages hand on to each other; each stage fills in its part."""

    work_dir: Path
    steps: int
    max_bytes: int
    batch_size: int
    seq_len: int
    eval_batches: int
    seed: int
    progress: bool | None
    train_docs: list[str] = field(default_factory=list)
    eval_docs: list[str] = field(default_factory=list)
    # Set by the tokenizer stage: the vocabulary and how text maps to ids and back.
    tokenizer: Tokenizer | None = None
    vocab_size: int | None = None
    encode: Callable[[str], np.ndarray] | None = None
    decode: Callable[[Sequence[int]], str] | None = None
    train_data: Path | None = None
    eval_data: Path | None = None
    model: GPT | None = None
    initial: EvalResult | None = None
    training: TrainResult | None = None
    final: EvalResult | None = None
    sample: str = ""


def _need(value: T | None, what: str) -> T:
    """A value an earlier stage should have set; a clear error when a custom stage list
    leaves out or reorders the stage that sets it."""
    if value is None:
        raise InvalidArgumentError(
            f"quickstart stages out of order: {what} is not ready yet; keep the stage that "
            "makes it before the stages that use it"
        )
    return value


Stage = Callable[[QuickstartState], StageOutcome]


def read_corpus(state: QuickstartState) -> StageOutcome:
    """The embedded corpus, with a seeded ~5% of its documents held out for evaluation."""
    documents = embedded_corpus(max_bytes=state.max_bytes)
    if len(documents) < 2:
        raise DataError(
            f"the embedded corpus gave {len(documents)} document(s) for max_bytes "
            f"{state.max_bytes}: at least 2 are needed to hold one out; raise max_bytes"
        )
    order = np.random.default_rng(state.seed).permutation(len(documents))
    held_out = set(order[: max(1, round(len(documents) * 0.05))].tolist())
    state.eval_docs = [d for i, d in enumerate(documents) if i in held_out]
    state.train_docs = [d for i, d in enumerate(documents) if i not in held_out]
    size = sum(len(d.encode("utf-8")) for d in documents)
    return StageOutcome(
        f"{len(documents)} documents, {format_bytes(size)}; {len(held_out)} held out",
        size,
        "bytes",
    )


def train_tokenizer(state: QuickstartState) -> StageOutcome:
    """A byte-level BPE tokenizer learned from the training documents; writes tokenizer.json."""
    tok = Tokenizer.train(
        state.train_docs,
        vocab_size=_VOCAB_SIZE,
        pattern="gpt4",
        special_tokens=[_EOS],
        show_progress=state.progress,
    )
    tok.save(state.work_dir / "tokenizer.json")
    state.tokenizer = tok
    state.vocab_size = tok.vocab_size
    state.encode = lambda text: np.asarray(tok.encode_ordinary(text), dtype=np.int64)
    state.decode = tok.decode
    size = sum(len(d.encode("utf-8")) for d in state.train_docs)
    return StageOutcome(
        f"BPE, {tok.vocab_size} tokens (gpt4 pattern) learned from {format_bytes(size)}",
        size,
        "bytes",
    )


def prepare_shards(state: QuickstartState) -> StageOutcome:
    """Training and held-out documents cleaned, tokenized (EOS per document) and written to
    Parquet shards with a manifest: data/train and data/eval."""
    from lmio.prepare import Documents, prepare

    tok = _need(state.tokenizer, "the tokenizer")
    reports = {}
    for name, docs in (("train", state.train_docs), ("eval", state.eval_docs)):
        reports[name] = prepare(
            Documents(docs, name=f"quickstart-{name}"),
            tokenizer=tok,
            out=state.work_dir / "data" / name,
            workers=1,
            show_progress=state.progress,
        )
    state.train_data = state.work_dir / "data" / "train"
    state.eval_data = state.work_dir / "data" / "eval"
    train, held_out = reports["train"], reports["eval"]
    size = sum(len(d.encode("utf-8")) for d in state.train_docs + state.eval_docs)
    return StageOutcome(
        f"{format_count(train.tokens)} train + {format_count(held_out.tokens)} held-out tokens "
        f"in {train.shards + held_out.shards} Parquet shards, "
        f"{format_bytes(train.output_bytes + held_out.output_bytes)}",
        size,
        "bytes",
    )


def build_model(state: QuickstartState) -> StageOutcome:
    """A seeded tiny GPT, and its loss on the held-out text before any training."""
    torch.manual_seed(state.seed)
    vocab_size = _need(state.vocab_size, "the vocabulary")
    state.model = GPT.from_preset("tiny", vocab_size=vocab_size, block_size=state.seq_len)
    state.initial = _evaluate(state)
    return StageOutcome(
        f"tiny GPT, {format_count(state.model.num_parameters())} parameters; "
        f"untrained held-out loss {state.initial.loss:.2f}",
        state.initial.tokens,
        "tokens",
    )


def train_model(state: QuickstartState) -> StageOutcome:
    """`steps` steps on batches from lmio's TokenLoader over the training shards, epoch
    after epoch (each reshuffled by the seed)."""
    from lmio.loader import TokenLoader

    loader = TokenLoader(
        _need(state.train_data, "the training shards"),
        batch_size=state.batch_size,
        seq_len=state.seq_len,
        seed=state.seed,
        num_threads=2,
    )

    def epochs() -> Iterator[Any]:
        while True:
            yield from loader

    model = _need(state.model, "the model")
    state.training = train(model, epochs(), steps=state.steps, lr=2e-3, progress=state.progress)
    result = state.training
    waited = loader.metrics().wait_fraction
    return StageOutcome(
        f"{result.steps} steps of {state.batch_size}x{state.seq_len} tokens, train loss "
        f"{result.losses[0]:.2f} -> {result.final_loss:.2f}; loader wait {waited:.1%}",
        result.tokens,
        "tokens",
    )


def evaluate_model(state: QuickstartState) -> StageOutcome:
    """Held-out loss and perplexity after training, next to the untrained ones."""
    state.final = _evaluate(state)
    initial = _need(state.initial, "the untrained loss")
    return StageOutcome(
        f"held-out loss {initial.loss:.2f} -> {state.final.loss:.2f}, perplexity "
        f"{initial.perplexity:.1f} -> {state.final.perplexity:.1f}",
        state.final.tokens,
        "tokens",
    )


def save_and_reload(state: QuickstartState) -> StageOutcome:
    """Write model/ (safetensors + config.json) and read it back, checksum checked."""
    model_dir = state.work_dir / "model"
    save_model(_need(state.model, "the model"), model_dir)
    state.model = load_model(model_dir)
    size = sum(p.stat().st_size for p in model_dir.iterdir())
    return StageOutcome(f"model/ written and read back, {format_bytes(size)}", size, "bytes")


def generate_sample(state: QuickstartState) -> StageOutcome:
    """A seeded sample after a fixed prompt, decoded with the encoding stage's decoder."""
    model = _need(state.model, "the model")
    encode = _need(state.encode, "the encoder")
    decode = _need(state.decode, "the decoder")
    prompt = torch.from_numpy(encode(_PROMPT).astype(np.int64)).unsqueeze(0)
    generator = torch.Generator().manual_seed(state.seed)
    ids = model.generate(prompt, _SAMPLE_TOKENS, temperature=0.8, top_k=40, generator=generator)
    state.sample = decode(ids[0].tolist())
    return StageOutcome(
        f"{_SAMPLE_TOKENS} tokens after {_PROMPT!r} (KV cache)", _SAMPLE_TOKENS, "tokens"
    )


STAGES: tuple[tuple[str, Stage], ...] = (
    ("corpus", read_corpus),
    ("tokenizer", train_tokenizer),
    ("prepare", prepare_shards),
    ("model", build_model),
    ("train", train_model),
    ("evaluate", evaluate_model),
    ("save", save_and_reload),
    ("generate", generate_sample),
)


@dataclass(frozen=True)
class QuickstartReport:
    """What `run_quickstart` did: one row per stage, the losses, and the sample."""

    rows: tuple[StageRow, ...]
    initial_loss: float
    final_loss: float
    final_perplexity: float
    train_losses: tuple[float, ...]
    sample: str
    seconds: float
    settings: dict[str, int]
    out_dir: Path | None

    def table(self) -> str:
        return format_table(
            ["stage", "what it did", "time", "throughput"],
            [(r.stage, r.did, format_duration(r.seconds), r.throughput) for r in self.rows],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "stages": [dataclasses.asdict(row) for row in self.rows],
            "initial_loss": self.initial_loss,
            "final_loss": self.final_loss,
            "final_perplexity": self.final_perplexity,
            "train_losses": list(self.train_losses),
            "sample": self.sample,
            "seconds": self.seconds,
        }


def run_quickstart(
    *,
    out_dir: str | os.PathLike[str] | None = None,
    steps: int = 400,
    max_bytes: int = 3_000_000,
    batch_size: int = 16,
    seq_len: int = 128,
    eval_batches: int = 16,
    seed: int = 0,
    threads: int | None = None,
    stages: Sequence[tuple[str, Stage]] = STAGES,
    progress: bool | None = None,
) -> QuickstartReport:
    """Run `stages` in order and report. `out_dir` keeps the artefacts (tokenizer.json,
    data/train and data/eval datasets, model/, summary.json); without it they go to a temporary directory that is removed.

    `threads` defaults to the CPUs this process may run on (torch's own default can count
    CPUs the process is not allowed to use); torch's setting is restored afterwards.
    """
    for name, value in (
        ("steps", steps),
        ("max_bytes", max_bytes),
        ("batch_size", batch_size),
        ("seq_len", seq_len),
        ("eval_batches", eval_batches),
    ):
        if value < 1:
            raise InvalidArgumentError(f"{name} must be >= 1, got {value}")
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads or min(previous_threads, usable_cpus()))
    try:
        with tempfile.TemporaryDirectory(prefix="lmio-quickstart-") as scratch:
            work_dir = Path(out_dir) if out_dir is not None else Path(scratch)
            work_dir.mkdir(parents=True, exist_ok=True)
            state = QuickstartState(
                work_dir=work_dir,
                steps=steps,
                max_bytes=max_bytes,
                batch_size=batch_size,
                seq_len=seq_len,
                eval_batches=eval_batches,
                seed=seed,
                progress=progress,
            )
            report = _run(state, stages, keep=out_dir is not None)
            if out_dir is not None:
                text = json.dumps(report.to_dict(), indent=2) + "\n"
                write_bytes_atomic(work_dir / "summary.json", text.encode("utf-8"))
            return report
    finally:
        torch.set_num_threads(previous_threads)


def _run(
    state: QuickstartState, stages: Sequence[tuple[str, Stage]], *, keep: bool
) -> QuickstartReport:
    rows = []
    start = time.perf_counter()
    for name, stage in stages:
        logger.info("quickstart: %s", name)
        began = time.perf_counter()
        outcome = stage(state)
        seconds = time.perf_counter() - began
        rows.append(StageRow(name, outcome.did, seconds, _throughput(outcome, seconds)))
    initial = _need(state.initial, "the untrained loss")
    final = _need(state.final, "the held-out loss")
    training = _need(state.training, "the training result")
    return QuickstartReport(
        rows=tuple(rows),
        initial_loss=initial.loss,
        final_loss=final.loss,
        final_perplexity=final.perplexity,
        train_losses=training.losses,
        sample=state.sample,
        seconds=time.perf_counter() - start,
        settings={
            "steps": state.steps,
            "max_bytes": state.max_bytes,
            "batch_size": state.batch_size,
            "seq_len": state.seq_len,
            "eval_batches": state.eval_batches,
            "seed": state.seed,
        },
        out_dir=state.work_dir if keep else None,
    )


def _throughput(outcome: StageOutcome, seconds: float) -> str:
    rate = outcome.amount / seconds if seconds > 0 else 0.0
    if outcome.unit == "bytes":
        return f"{format_bytes(rate)}/s"
    return f"{format_count(rate)} {outcome.unit}/s"


def _evaluate(state: QuickstartState) -> EvalResult:
    """Held-out loss over the eval shards, in order."""
    from lmio.loader import TokenLoader

    loader = TokenLoader(
        _need(state.eval_data, "the held-out shards"),
        batch_size=_EVAL_BATCH_SIZE,
        seq_len=state.seq_len,
        shuffle=False,
        drop_last=False,
        rank=0,
        world_size=1,
    )
    model = _need(state.model, "the model")
    return evaluate(model, loader, max_batches=state.eval_batches, progress=state.progress)
