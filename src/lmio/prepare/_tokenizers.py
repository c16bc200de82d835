"""The run's tokenizer, and one tokenizer per worker, loaded once and checked.

A tokenizer file is loaded in the background while the first units are read and cleaned
(after the run has set up, which the load would slow down: both hold the GIL): what the run
needs at once (the checksum, the vocabulary size, the EOS id) comes from a quick look at the
file, and a unit waits for the tokenizer itself only when it first encodes. A file in
`Tokenizer.save`'s layout is read a field per line, and the units get a tokenizer built from
its tokens before its merges are read and its checksum is checked; a unit keeps its work
(renames its files into place) only once the check has passed (`check_tokenizer`). The
loaded tokenizer is checked against the quick look too. If loading fails (a damaged file),
the run stops with the loader's error, and a folder it had just claimed is left as it was
found.
"""

from __future__ import annotations

import gc
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from lmio.errors import IntegrityError, InvalidArgumentError
from lmio.prepare._layout import Layout
from lmio.prepare._settings import JobContext
from lmio.store._files import read_bytes
from lmio.tokenizer._formats import from_body, parse, unchecked_tokenizer

if TYPE_CHECKING:
    from lmio.tokenizer import Tokenizer

__all__ = [
    "TokenizerSource",
    "begin_loading",
    "check_tokenizer",
    "remember",
    "tokenizer_for",
]

EOS = "<|endoftext|>"

_LOADED: dict[str, Tokenizer | Future[Tokenizer]] = {}
_CHECKING: dict[str, Future[Tokenizer]] = {}  # loads whose file is still being checked
_WAITING: dict[str, Callable[[], None]] = {}  # loads that begin with this process's units


class TokenizerSource:
    """The tokenizer a run was given: an object, or a file being loaded in the background."""

    def __init__(
        self,
        *,
        checksum: str,
        vocab_size: int,
        eos_id: int | None,
        native: bool,
        data: bytes | None,
        tokenizer: Tokenizer | None = None,
        load: Callable[[Callable[[Tokenizer], None]], Tokenizer] | None = None,
    ) -> None:
        self.checksum = checksum
        self.vocab_size = vocab_size
        self.eos_id = eos_id
        self.native = native  # a named pattern: the C scanners encode it
        self.data = data  # the file's exact bytes, when given as one
        self._tokenizer = tokenizer
        self._load = load
        self._loading: Future[Tokenizer] | None = None  # checked
        self._encoding: Future[Tokenizer] | None = None  # usable to encode, maybe not checked
        self._go = threading.Event()  # the background load may begin

    @classmethod
    def open(cls, tokenizer: Tokenizer | str | os.PathLike[str]) -> TokenizerSource:
        """The checksum of a file is read from it (loading verifies it), not computed again."""
        from lmio.tokenizer import Tokenizer

        if isinstance(tokenizer, Tokenizer):
            return cls._of(tokenizer, tokenizer.checksum, None)
        if not isinstance(tokenizer, (str, os.PathLike)):
            raise InvalidArgumentError(
                "tokenizer must be a Tokenizer or the path of an lmio tokenizer file, "
                f"got {type(tokenizer).__name__}"
            )
        data = read_bytes(tokenizer)
        try:
            fields = _line_fields(data)
            look = _quick_look(data, fields)
            checksum = str(look["checksum"])
            specials = {str(k): int(v) for k, v in look["special_tokens"].items()}
            vocab_size = max(look["n_tokens"] - 1, *specials.values(), -1) + 1
            native = look["pattern"]["name"] is not None
        except (ValueError, KeyError, TypeError, AttributeError):  # loading says what is wrong
            loaded = Tokenizer.load(tokenizer)
            return cls._of(loaded, str(json.loads(data)["checksum"]), data)
        path = os.fspath(tokenizer)
        eos_id = specials.get(EOS)

        def load(early: Callable[[Tokenizer], None]) -> Tokenizer:
            # Loading builds ~100k small containers and no cycles: the cyclic collector
            # would only walk the heap over and over (a quarter of the time).
            collecting = gc.isenabled()
            gc.disable()
            try:
                loaded = _load(data, fields, path, early)
            finally:
                if collecting:
                    gc.enable()
            _check(loaded, vocab_size, eos_id, checksum)
            return loaded

        return cls(
            checksum=checksum,
            vocab_size=vocab_size,
            eos_id=eos_id,
            native=native,
            data=data,
            load=load,
        )

    @classmethod
    def _of(cls, tokenizer: Tokenizer, checksum: str, data: bytes | None) -> TokenizerSource:
        return cls(
            checksum=checksum,
            vocab_size=tokenizer.vocab_size,
            eos_id=tokenizer.eos_id,
            native=tokenizer.pattern_name is not None,
            data=data,
            tokenizer=tokenizer,
        )

    def start(self, *, now: bool = True) -> None:
        """Start loading the file in the background (once; a given object is ready). With
        `now=False` the loading thread waits for `go()` (or `get()`) first: loading holds the
        GIL for tens of milliseconds, which would slow the run's own setup."""
        if now:
            self.go()
        load = self._load
        if load is None or self._loading is not None:
            return
        loading: Future[Tokenizer] = Future()
        encoding: Future[Tokenizer] = Future()
        self._loading, self._encoding = loading, encoding

        def early(tokenizer: Tokenizer) -> None:
            encoding.set_result(tokenizer)

        def run() -> None:
            self._go.wait()
            try:
                loaded = load(early)
            except BaseException as exc:
                if not encoding.done():
                    encoding.set_exception(exc)
                loading.set_exception(exc)
            else:
                if not encoding.done():
                    encoding.set_result(loaded)
                loading.set_result(loaded)

        threading.Thread(target=run, name="lmio-load-tokenizer", daemon=True).start()

    def go(self) -> None:
        """Let a background load that waits begin."""
        self._go.set()

    def get(self) -> Tokenizer:
        """The tokenizer (loading it, or waiting for it to load); loading errors come here."""
        if self._tokenizer is None:
            self.start()
        self.go()
        if self._tokenizer is None and self._loading is not None:
            self._tokenizer = self._loading.result()
        if self._tokenizer is None:  # pragma: no cover - open() sets one or the other
            raise InvalidArgumentError("no tokenizer was given")
        return self._tokenizer

    @property
    def failed(self) -> bool:
        """Whether loading the file failed (then `get` raises why)."""
        loading = self._loading
        return loading is not None and loading.done() and loading.exception() is not None

    def remember(self) -> None:
        """Let `tokenizer_for` in this process use this tokenizer (once loaded). The load
        begins when a unit starts reading (`begin_loading`), so that it holds the GIL while
        the units read and clean without it, not while the run sets up and starts them. Units
        may encode with it before its file is checked; `check_tokenizer` waits for the check."""
        self.start(now=False)
        _WAITING[self.checksum] = self.go
        if self._tokenizer is not None:
            remember(self._tokenizer, self.checksum)
        elif self._loading is not None and self._encoding is not None:
            _LOADED[self.checksum] = self._encoding
            _CHECKING[self.checksum] = self._loading

    def wait(self) -> None:
        """Until the background load is over, however it ends."""
        self.go()
        if self._loading is not None:
            self._loading.exception()


def _quick_look(data: bytes, fields: dict[str, bytes] | None) -> dict[str, Any]:
    """The fields of a tokenizer file, with its number of tokens as "n_tokens"; the long lists
    are skipped when the file has `Tokenizer.save`'s layout, whose `fields` (`_line_fields`)
    are given (the run starts sooner; loading parses and checks everything, and `_check`
    compares)."""
    if fields is None:
        body = json.loads(data)
        return {**body, "n_tokens": len(body["tokens"])}
    look = {name: json.loads(value) for name, value in fields.items() if name not in _LISTS}
    tokens = fields.get("tokens", b"[]")  # base64 holds no quotes: n strings, 2n quotes
    look["n_tokens"] = tokens.count(b'","') + 1 if tokens != b"[]" else 0
    if tokens.count(b'"') != 2 * look["n_tokens"]:
        raise ValueError("the tokens are not a compact list of strings")
    return look


def _load(
    data: bytes, fields: dict[str, bytes] | None, path: str, early: Callable[[Tokenizer], None]
) -> Tokenizer:
    """The tokenizer of a file, checked. A file in save's layout (its `fields` given) gives
    `early` a tokenizer to encode with first, built from the tokens line before the merges
    are read and the checksum is checked; the checked tokenizer is then that same object."""
    try:
        if fields is None:
            raise ValueError("not save's layout")
        body = {name: json.loads(value) for name, value in fields.items() if name != "merges"}
        built = unchecked_tokenizer(body)
        if built is not None:
            early(built)
        if "merges" in fields:
            body["merges"] = json.loads(fields["merges"])
    except ValueError:  # another layout, or a damaged line: `parse` says what is wrong
        return from_body(parse(data, path), path)
    return from_body(body, path, built=built)


_LISTS = ("tokens", "merges")


def _line_fields(data: bytes) -> dict[str, bytes] | None:
    """The top-level fields of a file in save's layout (a field per line, the lists
    compact), each as its JSON text; None for any other layout."""
    lines = data.split(b"\n")
    if lines[:1] != [b"{"] or lines[-2:] != [b"}", b""]:
        return None
    fields: dict[str, bytes] = {}
    for line in lines[1:-2]:
        key, colon, value = line.partition(b": ")
        if not colon or not key.startswith(b'  "'):
            return None
        try:
            name = json.loads(key)
        except ValueError:
            return None
        if not isinstance(name, str):
            return None
        fields[name] = value[:-1] if value.endswith(b",") else value
    return fields


def _check(tokenizer: Tokenizer, vocab_size: int, eos_id: int | None, checksum: str) -> None:
    if tokenizer.vocab_size != vocab_size or tokenizer.eos_id != eos_id:
        raise IntegrityError(
            f"the tokenizer {checksum} loaded with {tokenizer.vocab_size} ids and EOS "
            f"{tokenizer.eos_id}, but its file lists {vocab_size} and {eos_id}; the file was "
            "replaced while the run started: rerun prepare"
        )


def remember(tokenizer: Tokenizer, checksum: str) -> None:
    """Use this object, whose checksum is `checksum`, in this process (the caller's own)."""
    _LOADED[checksum] = tokenizer
    _CHECKING.pop(checksum, None)


def begin_loading(context: JobContext) -> None:
    """A unit starts: let this process's background load of the run's tokenizer begin."""
    go = _WAITING.pop(context.tokenizer_checksum, None)
    if go is not None:
        go()


def check_tokenizer(context: JobContext) -> None:
    """Before a unit keeps what it encoded: wait until the run's tokenizer file has passed
    its checks (raising what they found), if it was still being checked."""
    checking = _CHECKING.get(context.tokenizer_checksum)
    if checking is not None:
        checking.result()


def tokenizer_for(context: JobContext) -> Tokenizer:
    entry = _LOADED.get(context.tokenizer_checksum)
    if isinstance(entry, Future):  # this process's run, loading it in the background
        tokenizer: Tokenizer = entry.result()
        _LOADED[context.tokenizer_checksum] = tokenizer
        return tokenizer
    if entry is None:
        from lmio.tokenizer import Tokenizer

        url = Layout(context.out).tokenizer
        entry = Tokenizer.load(url, storage_options=context.storage_options)
        checksum = entry.checksum
        if checksum != context.tokenizer_checksum:
            raise IntegrityError(
                f"{url} has checksum {checksum}, not the {context.tokenizer_checksum} "
                "this run started with; it was replaced while the run went on: rerun prepare"
            )
        _LOADED[context.tokenizer_checksum] = entry
    return entry
