"""`prepare`: a corpus to tokenized Parquet shards, deterministic and resumable.

Phase 1 runs each unit (a file, or a byte range of a large one) on the executor: read,
clean, hash, tokenize, write the unit's files. Phase 2 plans in global order (drop duplicates
across units, pack rows into shards) here, then writes each shard on the executor. The
manifest comes last; then the work folder goes. An interrupted run leaves finished units and
shards behind, and the same command continues from them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Literal

from lmio._cpus import usable_cpus
from lmio._progress import Progress
from lmio._units import parse_size
from lmio._version import __version__
from lmio.errors import DataError, InvalidArgumentError
from lmio.prepare._inputs import (
    Documents,
    InputFile,
    Unit,
    list_inputs,
    plan_units,
    spool_documents,
)
from lmio.prepare._layout import Layout
from lmio.prepare._local import LocalExecutor, ThreadExecutor
from lmio.prepare._output import (
    claim_output,
    job_identity,
    publish,
    read_complete,
    remove_owned,
)
from lmio.prepare._packing import RowGroupPlan, ShardPlan, ShardPlanner, plan_shards
from lmio.prepare._report import PrepareReport
from lmio.prepare._settings import MIN_UNIT_BYTES, JobContext, PrepareSettings
from lmio.prepare._shard_task import ShardStream, finished_shard, write_planned_shard
from lmio.prepare._tokenizers import TokenizerSource
from lmio.prepare._unit import native_options, process_unit
from lmio.prepare._unit_files import UnitRecord, load_unit_record, read_unit_index
from lmio.store._files import exists, is_local, list_names, write_bytes_atomic
from lmio.store._manifest import TOKENIZER_NAME, dump_manifest, shard_path
from lmio.store._shards import WRITER_SETTINGS, ShardRecord, token_type_for
from lmio.text._clean import CleanOptions
from lmio.text._sources import OnInvalid, SplitMode
from lmio.tokenizer import Tokenizer

__all__ = ["prepare"]

logger = logging.getLogger(__name__)

Engine = Literal["local", "spark"]
Inputs = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | Documents

# Default unit size: the input in about this many pieces, within these bounds, so that small
# corpora still spread over the workers and large ones do not make a crowd of files.
_UNITS_PER_INPUT = 32
_UNIT_BYTES_RANGE = (4_000_000, 64_000_000)


def prepare(
    inputs: Inputs,
    *,
    tokenizer: Tokenizer | str | os.PathLike[str],
    out: str | os.PathLike[str],
    workers: int | None = None,
    engine: Engine = "local",
    spark_master: str | None = None,
    shard_size: int | str = "128MB",
    row_group_tokens: int = 1 << 20,
    text_field: str = "text",
    split: SplitMode = "file",
    on_invalid: OnInvalid = "replace",
    strict: bool = False,
    clean: CleanOptions | None = None,
    append_eos: bool = True,
    max_document_chars: int = 1 << 22,
    unit_size: int | str | None = None,
    overwrite: bool = False,
    show_progress: bool | None = None,
    storage_options: dict[str, Any] | None = None,
) -> PrepareReport:
    """Clean and tokenize `inputs` into Parquet shards under `out`, with a manifest; a report.

    `inputs`: files, directories, globs and URLs (.txt, .jsonl / .json / .ndjson, .parquet,
    optionally .gz / .bz2 / .zst), or `Documents(texts)` for an in-memory corpus. Text files
    give one document per file, or per line / blank-line separated block with `split`;
    JSON lines and Parquet one per record, from `text_field`. `tokenizer`: a `Tokenizer` or
    an lmio tokenizer file; it is copied beside the shards, and its `<|endoftext|>` is
    appended to every document unless `append_eos=False`. `clean`: the cleaning steps
    (default `CleanOptions()`: NFC, control characters, whitespace, exact dedup).

    `shard_size` is the token bytes per shard before compression; `row_group_tokens` the
    tokens per row group. Documents longer than `max_document_chars` are read and written
    in parts of that size (consecutive rows with the same `doc_id`), so memory stays
    bounded. `unit_size` is how much of a large uncompressed file one task reads (default:
    a 32nd of the input, from 4 MB to 64 MB).

    `workers` (default: one per core) and `engine` ("local" processes, or "spark" with
    `spark_master`, default local mode) change the speed, never the bytes written; JSON
    lines and line-split text with the default-style cleaning take a native path (a C pass,
    GIL-free), whose local workers are threads. Rerunning
    the same call after an interruption continues it; a folder holding a different dataset
    is refused unless `overwrite=True`. Bad input is counted in the report and skipped, or
    with `strict=True` (and `on_invalid="error"` for invalid UTF-8) stops with a message
    naming the file.
    """
    started = time.perf_counter()
    settings = PrepareSettings(
        text_field=text_field,
        split=split,
        on_invalid=on_invalid,
        strict=strict,
        clean=clean if clean is not None else CleanOptions(),
        append_eos=append_eos,
        shard_bytes=parse_size(shard_size, what="shard size"),
        row_group_tokens=row_group_tokens,
        max_document_chars=max_document_chars,
    )
    if engine not in ("local", "spark"):
        raise InvalidArgumentError(f"engine must be 'local' or 'spark', got {engine!r}")
    if workers is not None and workers < 1:
        raise InvalidArgumentError(f"workers must be at least 1, got {workers}")
    source = TokenizerSource.open(tokenizer)  # a file loads in the background
    if append_eos and source.eos_id is None:
        source.get()  # what is wrong with a damaged file comes first
        raise InvalidArgumentError(
            "the tokenizer has no <|endoftext|> token to append after each document; "
            "train it with special_tokens=['<|endoftext|>'] or pass append_eos=False (--no-eos)"
        )
    with _input_files(inputs, storage_options) as (files, spool):
        threads = source.native and all(
            native_options(settings, file.url) is not None for file in files
        )
        with _executor(engine, workers, spark_master, threads=threads) as executor:
            executor.start(source)
            run = _Run(
                layout=Layout(os.fspath(out)),
                context=JobContext(
                    out=os.fspath(out),
                    settings=settings,
                    tokenizer_checksum=source.checksum,
                    token_type=token_type_for(source.vocab_size),
                    eos_id=source.eos_id if append_eos else None,
                    storage_options=storage_options,
                ),
                tokenizer=source,
                files=files,
                executor=executor,
                show_progress=show_progress,
            )
            unit_bytes = _unit_bytes(unit_size, files)
            if run.claim(unit_bytes=unit_bytes, overwrite=overwrite) == "complete":
                source.get()
                return run.already_complete()
            try:
                run.store_tokenizer(source.data)
                if spool is not None:
                    run.place_spool(spool)
                source.remember()
                report = run.execute(unit_bytes, started=started)
            except BaseException:
                source.wait()
                if source.failed:  # a damaged tokenizer file: leave a new folder as it was
                    executor.close(wait=True)
                    run.discard()
                raise
    report.seconds = time.perf_counter() - started
    logger.info(
        "prepared %s: %d documents, %d tokens in %d shard%s",
        os.fspath(out),
        report.documents,
        report.tokens,
        report.shards,
        "" if report.shards == 1 else "s",
    )
    return report


class _Run:
    """One prepare run over a claimed output folder: its stages, in order."""

    def __init__(
        self,
        *,
        layout: Layout,
        context: JobContext,
        tokenizer: TokenizerSource,
        files: list[InputFile],
        executor: Any,
        show_progress: bool | None,
    ) -> None:
        self.layout = layout
        self.context = context
        self.tokenizer = tokenizer
        self.files = files
        self.executor = executor
        self.show_progress = show_progress
        self.options = context.storage_options
        self.report = PrepareReport(out=layout.out, files=len(files))
        self.report.input_bytes = sum(file.bytes for file in files)

    def claim(self, *, unit_bytes: int, overwrite: bool) -> str:
        identity = job_identity(
            settings=self.context.settings.to_dict(),
            inputs=[file.to_dict() for file in self.files],
            tokenizer_checksum=self.context.tokenizer_checksum,
        )
        self.state = claim_output(
            self.layout,
            identity,
            unit_bytes=unit_bytes,
            overwrite=overwrite,
            storage_options=self.options,
        )
        return self.state

    def discard(self) -> None:
        """Remove what this run wrote, if it started the folder (a new claim)."""
        if self.state == "new":
            remove_owned(self.layout, self.options)

    def already_complete(self) -> PrepareReport:
        body = read_complete(self.layout, self.options)
        report = PrepareReport.from_counts(self.layout.out, body.get("report", {}), body["totals"])
        report.token_bytes = report.tokens * (2 if body["token_type"] == "uint16" else 4)
        logger.info("%s is already complete: nothing to do", self.layout.out)
        return report

    def store_tokenizer(self, data: bytes | None) -> None:
        """A copy of the tokenizer beside the shards: the file as given, or the object saved."""
        url = self.layout.tokenizer
        if self.state == "resume" and exists(url, storage_options=self.options):
            return
        if data is None:
            self.tokenizer.get().save(url, storage_options=self.options)
        else:
            write_bytes_atomic(url, data, storage_options=self.options)

    def place_spool(self, spool: str) -> None:
        """Move spooled documents into the work folder, where every worker can read them."""
        target = self.layout.documents
        if is_local(target):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.move(spool, target)
        else:
            with open(spool, "rb") as data:
                write_bytes_atomic(target, data.read(), storage_options=self.options)
        self.files = [replace(self.files[0], url=target)]

    def execute(self, unit_bytes: int, *, started: float) -> PrepareReport:
        report = self.report
        report.engine = self.executor.description
        units = plan_units(self.files, split=self.context.settings.split, unit_bytes=unit_bytes)
        clock = time.perf_counter()
        report.stage_seconds["setup"] = clock - started
        warming = None
        if "pyarrow" not in sys.modules:  # a thread's start waits for the GIL: only if need be
            warming = threading.Thread(target=_warm_pyarrow, name="lmio-warm-pyarrow", daemon=True)
            warming.start()
        if self._can_stream():
            return self._execute_streaming(units, unit_bytes, clock)
        records = self._units(units, unit_bytes)
        if warming is not None:
            warming.join()
        self._count_reading(units, records)
        report.stage_seconds["tokenize"] = time.perf_counter() - clock
        clock = time.perf_counter()
        plans, duplicates = plan_shards(self.context, units)
        report.clean.duplicates += duplicates
        if not plans:
            raise DataError(self._nothing_to_write())
        report.stage_seconds["plan"] = time.perf_counter() - clock
        clock = time.perf_counter()
        shards = self._shards(plans)
        self._publish(plans, shards)
        report.stage_seconds["write"] = time.perf_counter() - clock
        return report

    def _can_stream(self) -> bool:
        """Whether shards are planned and written while the units run: on a local executor,
        unless an earlier run began writing shards (then the plan is checked against them)."""
        return hasattr(self.executor, "submit") and not list_names(
            self.layout.shards, storage_options=self.options
        )

    def _execute_streaming(self, units: list[Unit], unit_bytes: int, clock: float) -> PrepareReport:
        """Phase 1 with phase 2 alongside: each unit that completes the run of finished units
        from the start is planned at once, and the row groups it completes are written."""
        report = self.report
        planner = ShardPlanner(self.context)
        writer = _ShardWriter(self.context, self.executor)
        planned = 0

        def plan(records: dict[int, UnitRecord]) -> None:
            nonlocal planned
            while planned < len(units) and units[planned].index in records:
                unit = units[planned]
                writer.take(
                    planner.add(unit, read_unit_index(self.context, unit.index, self.options))
                )
                planned += 1

        try:
            records = self._units(units, unit_bytes, on_record=plan)
            self._count_reading(units, records)
            report.stage_seconds["tokenize"] = time.perf_counter() - clock
            clock = time.perf_counter()
            writer.take(planner.finish())
            report.clean.duplicates += planner.duplicates
            plans = writer.plans
            if not plans:
                raise DataError(self._nothing_to_write())
            report.stage_seconds["plan"] = time.perf_counter() - clock
            clock = time.perf_counter()
            with Progress(
                desc="writing shards", total=len(plans), unit="shard", show=self.show_progress
            ) as bar:
                shards = writer.finish(bar.update)
        except BaseException:
            writer.abort()
            raise
        self._publish(plans, shards)
        report.stage_seconds["write"] = time.perf_counter() - clock
        return report

    def _units(
        self,
        units: list[Unit],
        unit_bytes: int,
        *,
        on_record: Callable[[dict[int, UnitRecord]], None] | None = None,
    ) -> dict[int, UnitRecord]:
        """Phase 1: the units' records (run, or found done). `on_record` is called with the
        records so far, once at the start and after each unit."""
        records: dict[int, UnitRecord] = {}
        todo: list[Unit] = []
        for unit in units:
            record = load_unit_record(self.context, unit.index)
            if record is None:
                todo.append(unit)
            else:
                records[unit.index] = record
        self.report.units = len(units)
        self.report.units_resumed = len(records)
        if records:
            logger.info("resuming: %d of %d units were done before", len(records), len(units))
        if on_record is not None:
            on_record(records)
        total = sum(unit.bytes for unit in units)
        with Progress(
            desc="tokenizing", total=total, unit="B", unit_scale=True, show=self.show_progress
        ) as bar:
            bar.update(total - sum(unit.bytes for unit in todo))
            for unit, record in self.executor.map_unordered(
                process_unit, self.context, _schedule(todo, unit_bytes)
            ):
                records[unit.index] = record
                bar.update(unit.bytes)
                if on_record is not None:
                    on_record(records)
        return records

    def _count_reading(self, units: list[Unit], records: dict[int, UnitRecord]) -> None:
        report = self.report
        documents: dict[str, int] = {file.url: 0 for file in self.files}
        skipped: set[str] = set()
        for unit in units:
            record = records[unit.index]
            report.read.add(record.read)
            report.clean.add(record.clean)
            documents[unit.url] += record.documents
            if record.read.binary_files or record.read.unreadable_files:
                skipped.add(unit.url)
        report.read.files = len(self.files)
        report.read.empty_files = sum(
            1 for url, count in documents.items() if count == 0 and url not in skipped
        )

    def _shards(self, plans: list[ShardPlan]) -> dict[int, ShardRecord]:
        shards: dict[int, ShardRecord] = {}
        todo: list[ShardPlan] = []
        for plan in plans:
            record = finished_shard(self.context, plan)
            if record is None:
                todo.append(plan)
            else:
                shards[plan.index] = record
        self.report.shards_resumed = len(shards)
        with Progress(
            desc="writing shards", total=len(plans), unit="shard", show=self.show_progress
        ) as bar:
            bar.update(len(shards))
            for plan, record in self.executor.map_unordered(
                write_planned_shard, self.context, todo
            ):
                shards[plan.index] = record
                bar.update(1)
        return shards

    def _publish(self, plans: list[ShardPlan], shards: dict[int, ShardRecord]) -> None:
        self.tokenizer.get()  # loaded and checked, even when no unit needed it
        context, report = self.context, self.report
        entries = [
            {"path": shard_path(p.index), "documents": p.documents, **shards[p.index].to_dict()}
            for p in plans
        ]
        manifest = dump_manifest(
            tokenizer={
                "path": TOKENIZER_NAME,
                "checksum": context.tokenizer_checksum,
                "vocab_size": self.tokenizer.vocab_size,
                "eos_id": context.eos_id,
            },
            token_type=context.token_type,
            writer={"library": f"lmio {__version__}", "options": WRITER_SETTINGS},
            shards=entries,
            settings=context.settings.to_dict(),
            inputs=[file.to_dict() for file in self.files],
            report=report.counts(),
        )
        names = {shard_path(plan.index).rsplit("/", 1)[-1] for plan in plans}
        publish(self.layout, manifest=manifest, shard_names=names, storage_options=self.options)
        report.shards = len(plans)
        report.documents = sum(plan.documents for plan in plans)
        report.rows = sum(record.rows for record in shards.values())
        report.tokens = sum(record.tokens for record in shards.values())
        report.output_bytes = sum(record.bytes for record in shards.values())
        report.token_bytes = report.tokens * (2 if context.token_type == "uint16" else 4)

    def _nothing_to_write(self) -> str:
        read, clean = self.report.read, self.report.clean
        return (
            f"no documents to write: read {self.report.files} files and {read.documents} "
            f"documents; dropped {clean.too_short} too short, {clean.too_long} too long and "
            f"{clean.duplicates} duplicates; skipped {read.malformed_records} malformed records, "
            f"{read.missing_text} without the field {self.context.settings.text_field!r} and "
            f"{read.binary_files} binary files; check the inputs, text_field (--text-field) "
            "and the cleaning filters"
        )


def _warm_pyarrow() -> None:
    """Import what phase 2 uses (pyarrow's zstd codec; lmio writes the pages itself) while
    phase 1 keeps the workers busy."""
    import pyarrow  # noqa: F401


def _schedule(units: list[Unit], unit_bytes: int) -> list[Unit]:
    """The order units are handed out: in order, so that shards can be written as the run
    of finished units grows; files much larger than a unit (compressed ones, read whole)
    first, largest first, so that they do not start last."""
    big = sorted(
        (unit for unit in units if unit.bytes > 2 * unit_bytes), key=lambda u: (-u.bytes, u.index)
    )
    return big + [unit for unit in units if unit.bytes <= 2 * unit_bytes]


class _ShardWriter:
    """Writes shards as the planner completes them. The lowest shard not yet written streams
    on a thread of this process, row group by row group as they are planned; a shard that
    closes while that thread is busy goes to the executor whole."""

    def __init__(self, context: JobContext, executor: Any) -> None:
        self._context = context
        self._executor = executor
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="lmio-shard-writer")
        self._stream: ShardStream | None = None
        self._groups: dict[int, list[RowGroupPlan]] = {}  # of shards not yet handed out
        self._closed: dict[int, ShardPlan] = {}
        self._next = 0  # the lowest shard not yet handed out
        self._pooled: dict[int, Future[ShardRecord]] = {}
        self.plans: list[ShardPlan] = []
        self.records: dict[int, ShardRecord] = {}

    def take(self, events: list[RowGroupPlan | ShardPlan]) -> None:
        for event in events:
            if isinstance(event, ShardPlan):
                self.plans.append(event)
                index = event.index
            else:
                index = event.shard
            if self._stream is not None and self._stream.index == index:
                self._stream.put(event)
            elif isinstance(event, ShardPlan):
                self._closed[index] = event
            else:
                self._groups.setdefault(index, []).append(event)
        self._hand_out()

    def _hand_out(self) -> None:
        stream = self._stream
        if stream is not None and stream.future.done():
            self.records[stream.index] = stream.future.result()
            self._stream = stream = None
        while True:
            index = self._next
            if stream is None and (index in self._groups or index in self._closed):
                stream = self._stream = ShardStream(self._context, index, self._thread)
                for group in self._groups.pop(index, []):
                    stream.put(group)
                if index in self._closed:
                    stream.put(self._closed.pop(index))
            elif stream is not None and index in self._closed:
                self._groups.pop(index, None)
                plan = self._closed.pop(index)
                self._pooled[index] = self._executor.submit(
                    write_planned_shard, self._context, plan
                )
            else:
                return
            self._next += 1

    def finish(self, progress: Callable[[int], object]) -> dict[int, ShardRecord]:
        """After the planner's last shard: wait for every shard to be written."""
        self._hand_out()
        progress(len(self.records))
        if self._stream is not None:
            self.records[self._stream.index] = self._stream.future.result()
            self._stream = None
            progress(1)
        for index, future in self._pooled.items():
            self.records[index] = self._executor.result(future)
            progress(1)
        self._thread.shutdown()
        return self.records

    def abort(self) -> None:
        """The run stopped: drop the shard being streamed (its temporary file goes)."""
        if self._stream is not None:
            self._stream.abort()
        for future in self._pooled.values():
            future.cancel()
        self._thread.shutdown()


@contextlib.contextmanager
def _input_files(
    inputs: Inputs, storage_options: dict[str, Any] | None
) -> Iterator[tuple[list[InputFile], str | None]]:
    """The files to read, and the local spool of in-memory documents (removed at the end)."""
    if not isinstance(inputs, Documents):
        yield list_inputs(inputs, storage_options=storage_options), None
        return
    spool, spooled = spool_documents(inputs)
    try:
        yield [spooled], spool
    finally:
        if os.path.exists(spool):
            os.unlink(spool)


def _unit_bytes(unit_size: int | str | None, files: list[InputFile]) -> int:
    if unit_size is not None:
        chosen = parse_size(unit_size, what="unit size")
        if chosen < MIN_UNIT_BYTES:
            raise InvalidArgumentError(
                f"unit size {chosen} bytes is too small; use at least {MIN_UNIT_BYTES}"
            )
        return chosen
    low, high = _UNIT_BYTES_RANGE
    return min(max(sum(file.bytes for file in files) // _UNITS_PER_INPUT, low), high)


def _executor(
    engine: Engine, workers: int | None, spark_master: str | None, *, threads: bool
) -> Any:
    """Spark, or local worker processes, or local threads when every unit takes the native
    path (see lmio.prepare._unit)."""
    if engine == "spark":
        from lmio.prepare._spark import SparkExecutor

        return SparkExecutor(master=spark_master, workers=workers)
    if spark_master is not None:
        raise InvalidArgumentError(
            "spark_master (--spark-master) needs engine='spark' (--engine spark)"
        )
    count = workers if workers is not None else usable_cpus()
    return ThreadExecutor(count) if threads else LocalExecutor(count)
