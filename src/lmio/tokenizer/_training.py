"""`Tokenizer.train`: read the corpus, count unique words in parallel, learn the merges.

Reading (JSON parsing, decompression, UTF-8 repair) runs in a background thread while the C
core counts the previous batch with the GIL released. Memory is bounded by the number of
unique words: documents are counted and dropped, and very long documents are cut where the
named patterns cannot match across the cut, so the counts equal those of the whole text.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from lmio._progress import Progress
from lmio.errors import DataError, InvalidArgumentError, NotFoundError
from lmio.text._readers import cut_point
from lmio.text._sources import ReadStats, expand_inputs, iter_record_batches
from lmio.tokenizer._byte_level import BYTE_ORDER
from lmio.tokenizer._patterns import Pattern, resolve_pattern

if TYPE_CHECKING:
    from lmio.tokenizer._tokenizer import EngineName, Tokenizer

__all__ = ["Source", "TrainingReport", "train"]

logger = logging.getLogger(__name__)

Source = str | os.PathLike[str] | Iterable[str] | Iterable[str | os.PathLike[str]]

_BATCH_CHARS = 1 << 20
_BATCH_DOCUMENTS = 8192
_CHUNK_CHARS = 1 << 20
_PATH_SUFFIXES = (
    ".txt", ".text", ".md", ".jsonl", ".json", ".ndjson", ".parquet", ".gz", ".bz2", ".zst",
)  # fmt: skip


@dataclass(frozen=True)
class TrainingReport:
    """What training read and learned."""

    documents: int
    bytes: int
    words: int
    unique_words: int
    merges: int
    vocab_size: int
    invalid_utf8: int
    skipped_records: int
    count_seconds: float
    merge_seconds: float

    def as_rows(self) -> list[tuple[str, object]]:
        return [
            ("documents", self.documents),
            ("text bytes", self.bytes),
            ("words (pre-tokens)", self.words),
            ("unique words", self.unique_words),
            ("merges", self.merges),
            ("vocabulary size", self.vocab_size),
            ("invalid UTF-8 replaced", self.invalid_utf8),
            ("records skipped", self.skipped_records),
            ("counting time (s)", round(self.count_seconds, 2)),
            ("merging time (s)", round(self.merge_seconds, 2)),
        ]


def train(
    source: Source,
    *,
    vocab_size: int,
    pattern: str = "gpt4",
    special_tokens: Sequence[str] = (),
    min_frequency: int = 0,
    num_threads: int | None = None,
    text_field: str = "text",
    on_invalid: Literal["replace", "error"] = "replace",
    show_progress: bool | None = None,
    storage_options: dict[str, Any] | None = None,
    engine: EngineName = "native",
) -> Tokenizer:
    from lmio._cpus import usable_cpus
    from lmio.tokenizer._tokenizer import Tokenizer

    specials = _check_special_tokens(special_tokens)
    if not isinstance(vocab_size, int) or vocab_size < 256 + len(specials):
        raise InvalidArgumentError(
            f"vocab_size={vocab_size!r} is too small: it must hold the 256 byte tokens plus "
            f"{len(specials)} special token(s), so at least {256 + len(specials)}"
        )
    if min_frequency < 0:
        raise InvalidArgumentError(f"min_frequency must be 0 or more, got {min_frequency}")
    threads = usable_cpus() if num_threads is None else num_threads
    if threads < 1:
        raise InvalidArgumentError(f"num_threads must be at least 1, got {threads}")
    resolved = resolve_pattern(pattern)

    stats = ReadStats()
    counter = _make_counter(resolved, specials, engine)
    started = time.perf_counter()
    with Progress(desc="counting words", unit="B", unit_scale=True, show=show_progress) as bar:
        for batch, size in _prefetched(
            _batches(
                source,
                pattern=resolved,
                text_field=text_field,
                on_invalid=on_invalid,
                stats=stats,
                storage_options=storage_options,
            )
        ):
            counter.add(batch, threads)
            bar.update(size)
    count_seconds = time.perf_counter() - started
    if len(counter) == 0:
        raise DataError(
            "the training corpus is empty: no text was found in the source "
            f"({stats.documents} documents read); check the paths and text_field={text_field!r}"
        )

    started = time.perf_counter()
    target = vocab_size - len(specials)
    with Progress(desc="merging", total=target - 256, unit="merge", show=show_progress) as bar:
        done = 0

        def advance(n_merges: int) -> None:
            nonlocal done
            bar.update(n_merges - done)
            done = n_merges

        merges = counter.train(target, min_frequency, advance)
    merge_seconds = time.perf_counter() - started

    tokens = [bytes([b]) for b in BYTE_ORDER]
    first_merges: list[tuple[int, int]] = []
    for left, right, new_id in merges:
        if new_id == len(tokens):
            tokens.append(tokens[left] + tokens[right])
            first_merges.append((left, right))
    if len(tokens) < target:
        logger.warning(
            "the corpus ran out of pairs to merge at %d tokens (asked for %d); the vocabulary "
            "is smaller than vocab_size (more text, or min_frequency=0, gives more merges)",
            len(tokens) + len(specials),
            vocab_size,
        )
    tok = Tokenizer(
        tokens,
        special_tokens={text: len(tokens) + i for i, text in enumerate(specials)},
        pattern=resolved.regex,
        merges=first_merges,
        engine=engine,
    )
    tok._training_report = TrainingReport(  # read by Tokenizer.training_report
        documents=stats.documents,
        bytes=counter.bytes,
        words=counter.total,
        unique_words=len(counter),
        merges=len(merges),
        vocab_size=tok.vocab_size,
        invalid_utf8=stats.invalid_utf8,
        skipped_records=stats.malformed_records + stats.missing_text + stats.binary_files,
        count_seconds=count_seconds,
        merge_seconds=merge_seconds,
    )
    if stats.invalid_utf8:
        logger.warning("replaced %d invalid UTF-8 sequences with U+FFFD", stats.invalid_utf8)
    return tok


def _check_special_tokens(special_tokens: Sequence[str]) -> list[str]:
    if isinstance(special_tokens, str):
        raise InvalidArgumentError(
            f"special_tokens must be a list of strings, got the string {special_tokens!r}; "
            f"write special_tokens=[{special_tokens!r}]"
        )
    specials = list(special_tokens)
    seen: set[str] = set()
    for text in specials:
        if not isinstance(text, str) or not text:
            raise InvalidArgumentError(f"special token {text!r} must be a non-empty string")
        if text in seen:
            raise InvalidArgumentError(
                f"special token {text!r} is listed twice; list each special token once"
            )
        seen.add(text)
    return specials


class _Counter:
    """Word counts plus the merge loop, in the C core or the pure-Python reference."""

    def __init__(self, pattern: Pattern, specials: list[str], engine: EngineName) -> None:
        self._pattern = pattern
        self._specials = specials
        self._engine = engine
        self.bytes = 0
        if engine == "native":
            from lmio.tokenizer import _native

            native_id = -1 if pattern.native_id is None else pattern.native_id
            self._native = _native.WordCounter(native_id, specials)
        else:
            from collections import Counter

            self._counts: Counter[bytes] = Counter()

    def add(self, texts: list[str], threads: int) -> None:
        self.bytes += sum(len(t.encode("utf-8", "surrogatepass")) for t in texts)
        if self._engine == "reference":
            from lmio.tokenizer._reference import count_words

            self._counts.update(count_words(texts, self._pattern.regex, self._specials))
        elif self._pattern.native_id is None:
            self._native.add_pieces(_custom_pieces(texts, self._pattern.regex, self._specials))
        else:
            self._native.add_texts(texts, threads)

    def __len__(self) -> int:
        return len(self._counts) if self._engine == "reference" else len(self._native)

    @property
    def total(self) -> int:
        return (
            sum(self._counts.values()) if self._engine == "reference" else int(self._native.total)
        )

    def train(self, target: int, min_frequency: int, progress: Any) -> list[tuple[int, int, int]]:
        if self._engine == "reference":
            from lmio.tokenizer._reference import train as reference_train

            merges = reference_train(
                self._counts,
                byte_order=BYTE_ORDER,
                target_tokens=target,
                min_frequency=min_frequency,
            )
            progress(len(merges))
            return merges
        from lmio.tokenizer import _native

        return _native.train_bpe(
            self._native,
            byte_order=BYTE_ORDER,
            target_tokens=target,
            min_frequency=min_frequency,
            progress=progress,
        )


def _make_counter(pattern: Pattern, specials: list[str], engine: EngineName) -> _Counter:
    if engine not in ("native", "reference"):
        raise InvalidArgumentError(f"engine must be 'native' or 'reference', got {engine!r}")
    return _Counter(pattern, specials, engine)


def _custom_pieces(texts: list[str], pattern: str, specials: list[str]) -> list[bytes]:
    from lmio.tokenizer._reference import count_words

    return [word for word, n in count_words(texts, pattern, specials).items() for _ in range(n)]


def _batches(
    source: Source,
    *,
    pattern: Pattern,
    text_field: str,
    on_invalid: Literal["replace", "error"],
    stats: ReadStats,
    storage_options: dict[str, Any] | None,
) -> Iterator[tuple[list[str], int]]:
    """Lists of texts of about `_BATCH_CHARS` characters, with their size for the progress bar."""
    batch: list[str] = []
    size = 0
    limit = _CHUNK_CHARS if pattern.native_id is not None else None
    documents = _documents(
        source,
        text_field=text_field,
        on_invalid=on_invalid,
        stats=stats,
        storage_options=storage_options,
        max_document_chars=limit,
    )
    for document in documents:
        for chunk in _cut(document, pattern):
            batch.append(chunk)
            size += len(chunk)
            if size >= _BATCH_CHARS or len(batch) >= _BATCH_DOCUMENTS:
                yield batch, size
                batch, size = [], 0
    if batch:
        yield batch, size


def _documents(
    source: Source,
    *,
    text_field: str,
    on_invalid: Literal["replace", "error"],
    stats: ReadStats,
    storage_options: dict[str, Any] | None,
    max_document_chars: int | None,
) -> Iterator[str]:
    paths = _as_paths(source)
    if paths is None:
        texts = cast("Iterable[object]", source)
        for text in texts:
            if not isinstance(text, str):
                raise InvalidArgumentError(
                    f"training texts must be str, got {type(text).__name__}; pass paths as "
                    "str or os.PathLike, or texts as an iterable of str"
                )
            stats.documents += 1
            yield text
        return
    for url in expand_inputs(paths, storage_options=storage_options):
        # Long documents (a whole text file is one) come in bounded parts, cut where the
        # named patterns cannot match across: memory stays bounded by unique words.
        stats.files += 1
        for batch in iter_record_batches(
            url,
            text_field=text_field,
            on_invalid=on_invalid,
            stats=stats,
            storage_options=storage_options,
            max_document_chars=max_document_chars,
        ):
            for record in batch:
                yield record.text


def _as_paths(source: Source) -> list[str | os.PathLike[str]] | None:
    """The paths to read, or None when `source` is an iterable of texts.

    A str or path-like is a path. A list or tuple is a list of paths when every item is
    path-like, names an existing file or directory, is a URL, or ends like a data file;
    anything else (a generator, a list of sentences) is text.
    """
    if isinstance(source, (str, os.PathLike)):
        return [source]
    if not isinstance(source, (list, tuple)) or not source:
        return None
    items: list[Any] = list(source)
    if all(_looks_like_path(item) for item in items):
        for item in items:
            text = os.fspath(item)
            if "://" not in text and not os.path.exists(text) and not _has_magic(text):
                raise NotFoundError(f"no such file or directory: {text}")
        return items
    return None


def _looks_like_path(item: object) -> bool:
    if isinstance(item, os.PathLike):
        return True
    if not isinstance(item, str) or "\n" in item or len(item) > 4096:
        return False
    return "://" in item or item.lower().endswith(_PATH_SUFFIXES) or os.path.exists(item)


def _has_magic(text: str) -> bool:
    return any(c in text for c in "*?[")


def _cut(text: str, pattern: Pattern) -> Iterator[str]:
    """Pieces of at most about `_CHUNK_CHARS` whose word counts add up to the whole text's.

    Cuts fall where a letter or digit is followed by a space (`cut_point`): no named pattern
    matches across such a place. Custom patterns are never cut.
    """
    if len(text) <= _CHUNK_CHARS or pattern.native_id is None:
        yield text
        return
    start = 0
    while len(text) - start > _CHUNK_CHARS:
        cut = cut_point(text[start : start + _CHUNK_CHARS + 1], _CHUNK_CHARS)
        if cut is None:
            break
        yield text[start : start + cut]
        start += cut
    yield text[start:]


def _prefetched(batches: Iterator[tuple[list[str], int]]) -> Iterator[tuple[list[str], int]]:
    """Run the reader one batch ahead in a thread, so reading overlaps counting."""
    slots: queue.Queue[tuple[list[str], int] | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(item: tuple[list[str], int] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in batches:
                if not put(item):
                    return
            put(None)
        except BaseException as exc:
            put(exc)

    reader = threading.Thread(target=produce, name="lmio-train-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = slots.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()
