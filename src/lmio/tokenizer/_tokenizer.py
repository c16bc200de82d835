"""`Tokenizer`: byte-level BPE with tiktoken's encoding semantics over lmio's C core."""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, Literal, Protocol

from lmio._cpus import usable_cpus
from lmio.errors import InvalidArgumentError, SpecialTokenError
from lmio.tokenizer._padding import Side, pad_batch
from lmio.tokenizer._patterns import Pattern, resolve_pattern

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import tiktoken

    from lmio.tokenizer._training import Source, TrainingReport

__all__ = ["AllowedSpecial", "Tokenizer"]

AllowedSpecial = Literal["all"] | Collection[str]
EngineName = Literal["native", "reference"]

# Above this many special tokens, one compiled regex finds them faster than `in` per token.
_SPECIAL_SCAN_LIMIT = 16


class _Engine(Protocol):
    """What the C core's `Encoder` offers; the pure-Python reference offers the same."""

    @property
    def n_vocab(self) -> int: ...

    def encode_ordinary(self, text: str) -> list[int]: ...
    def encode(self, text: str, allowed_special: Collection[str]) -> list[int]: ...
    def encode_batch(
        self, texts: Sequence[str], allowed_special: Collection[str], num_threads: int
    ) -> tuple[bytearray, bytearray]: ...
    def encode_pieces(self, pieces: Sequence[bytes]) -> list[int]: ...
    def decode_bytes(self, ids: Any) -> bytes: ...
    def pretokenize(self, text: str) -> list[str]: ...


class Tokenizer:
    """A byte-level BPE tokenizer: train it, encode and decode, save it, share it with HF and tiktoken.

    `tokens[i]` holds the bytes of token `i`; every single byte must be among them. A token's
    id is also its merge priority, as in tiktoken, so encoding needs no separate merge list.
    Special tokens (`special_tokens`, text -> id) are only recognised where a call allows them.

    >>> tok = Tokenizer.train(["low lower lowest newer wider"] * 10, vocab_size=260)
    >>> tok.decode(tok.encode("lowest"))
    'lowest'
    """

    def __init__(
        self,
        tokens: Sequence[bytes],
        *,
        special_tokens: Mapping[str, int] | None = None,
        pattern: str = "gpt4",
        merges: Sequence[tuple[int, int]] | None = None,
        name: str = "lmio",
        engine: EngineName = "native",
    ) -> None:
        self._tokens: tuple[bytes, ...] = tuple(map(bytes, tokens))
        self._special_tokens: dict[str, int] = dict(special_tokens or {})
        self._pattern: Pattern = resolve_pattern(pattern)
        self._merges: tuple[tuple[int, int], ...] | None = (
            merge_pairs(merges) if merges is not None else None
        )
        self.name = name
        if engine != "native":  # the C core checks the tokens itself (see _build_engine)
            _validate_tokens(self._tokens)
        _validate_special_tokens(self._special_tokens, len(self._tokens))
        self._special_set = frozenset(self._special_tokens)
        self._engine_name: EngineName = engine
        self._engine: _Engine = self._build_engine(engine)
        self._training_report: TrainingReport | None = None

    def _add_checked_merges(self, merges: tuple[tuple[int, int], ...] | None) -> None:
        """The merges of a tokenizer built before its file was checked (see
        lmio.tokenizer._formats.unchecked_tokenizer); only once, on one built without."""
        if self._merges is not None:
            raise InvalidArgumentError("this tokenizer has its merges already")
        self._merges = merges
        self.__dict__.pop("checksum", None)  # a checksum taken before covered no merges

    def _build_engine(self, engine: EngineName) -> _Engine:
        if engine == "reference":
            from lmio.tokenizer._reference import ReferenceEncoder

            return ReferenceEncoder(self._tokens, self._special_tokens, self._pattern.regex)
        if engine != "native":
            raise InvalidArgumentError(f"engine must be 'native' or 'reference', got {engine!r}")
        from lmio.tokenizer import _native

        native_id = -1 if self._pattern.native_id is None else self._pattern.native_id
        try:
            encoder: _Engine = _native.Encoder(self._tokens, self._special_tokens, native_id)
        except ValueError:
            _validate_tokens(self._tokens)  # the same checks, said the way the reference says them
            raise
        return encoder

    # ------------------------------------------------------------------ construction

    @classmethod
    def train(
        cls,
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
        """Learn a vocabulary of `vocab_size` tokens (256 bytes + merges + special tokens).

        `source` is a path or URL, a list of them (.txt, .jsonl / .json with `text_field`,
        .parquet with a `text_field` column, optionally .gz / .bz2 / .zst), or an iterable of
        str. Merges follow HF tokenizers' BpeTrainer exactly (with 64-bit counts); special
        tokens are cut out of the training text and get the last ids. Invalid UTF-8 in files
        is replaced with U+FFFD and counted (`tok.training_report`), or with
        `on_invalid="error"` stops with the file and byte offset. `engine="reference"` runs
        the pure-Python specification instead of the C core (slow; for tests).
        """
        from lmio.tokenizer._training import train

        return train(
            source,
            vocab_size=vocab_size,
            pattern=pattern,
            special_tokens=special_tokens,
            min_frequency=min_frequency,
            num_threads=num_threads,
            text_field=text_field,
            on_invalid=on_invalid,
            show_progress=show_progress,
            storage_options=storage_options,
            engine=engine,
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str], **storage: Any) -> Tokenizer:
        """Read lmio's tokenizer JSON, verifying its format version and checksum."""
        from lmio.tokenizer._formats import load

        return load(path, storage_options=storage.get("storage_options"))

    def save(self, path: str | os.PathLike[str], **storage: Any) -> None:
        """Write lmio's versioned, checksummed tokenizer JSON atomically."""
        from lmio.tokenizer._formats import save

        save(self, path, storage_options=storage.get("storage_options"))

    @classmethod
    def from_hf(cls, path: str | os.PathLike[str]) -> Tokenizer:
        """Read a byte-level BPE `tokenizer.json` (GPT-2 style, with or without `ignore_merges`)."""
        from lmio.tokenizer._hf import from_hf

        return from_hf(path)

    def save_hf(self, path: str | os.PathLike[str]) -> None:
        """Write a `tokenizer.json` that HF tokenizers and transformers load and encode identically."""
        from lmio.tokenizer._hf import save_hf

        save_hf(self, path)

    @classmethod
    def from_tiktoken(cls, encoding: tiktoken.Encoding) -> Tokenizer:
        """The same ranks, special tokens and pattern as a `tiktoken.Encoding`."""
        from lmio.tokenizer._tiktoken import from_tiktoken

        return from_tiktoken(encoding)

    def to_tiktoken(self) -> tiktoken.Encoding:
        """A `tiktoken.Encoding` with the same ranks, special tokens and pattern."""
        from lmio.tokenizer._tiktoken import to_tiktoken

        return to_tiktoken(self)

    # ------------------------------------------------------------------ encoding

    def encode(
        self,
        text: str,
        *,
        allowed_special: AllowedSpecial = frozenset(),
        disallowed_special: AllowedSpecial = "all",
    ) -> list[int]:
        """Token ids of `text`.

        As in tiktoken, special-token text is an error unless it is in `allowed_special` (then
        it becomes the special id) or left out of `disallowed_special` (then it is ordinary text).
        """
        allowed = self._allowed_special((_checked(text),), allowed_special, disallowed_special)
        try:
            return self._encode_one(text, allowed)
        except UnicodeEncodeError:
            return self._encode_one(_without_surrogates(text), allowed)

    def encode_ordinary(self, text: str) -> list[int]:
        """Token ids of `text`, treating special-token text as ordinary text."""
        try:
            return self._encode_one(_checked(text), frozenset())
        except UnicodeEncodeError:
            return self._encode_one(_without_surrogates(text), frozenset())

    def _encode_one(self, text: str, allowed: frozenset[str]) -> list[int]:
        if self._pattern.native_id is None:
            return self._encode_custom(text, allowed)
        if not allowed:
            return self._engine.encode_ordinary(text)
        return self._engine.encode(text, allowed)

    def encode_batch(
        self,
        texts: Sequence[str],
        *,
        num_threads: int | None = None,
        allowed_special: AllowedSpecial = frozenset(),
        disallowed_special: AllowedSpecial = "all",
    ) -> list[list[int]]:
        """`encode` of each text, in native threads with the GIL released."""
        flat, offsets = self.encode_batch_to_numpy(
            texts,
            num_threads=num_threads,
            allowed_special=allowed_special,
            disallowed_special=disallowed_special,
        )
        ids = flat.tolist()
        bounds = offsets.tolist()
        return [ids[bounds[i] : bounds[i + 1]] for i in range(len(texts))]

    def encode_batch_to_numpy(
        self,
        texts: Sequence[str],
        *,
        num_threads: int | None = None,
        allowed_special: AllowedSpecial = frozenset(),
        disallowed_special: AllowedSpecial = "all",
    ) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
        """All texts' tokens as one flat uint32 array, plus int64 offsets (len(texts) + 1).

        Text `i` is `tokens[offsets[i]:offsets[i + 1]]`; no per-text Python lists are made.
        """
        import numpy as np

        texts = [_checked(text) for text in texts]
        allowed = self._allowed_special(texts, allowed_special, disallowed_special)
        threads = usable_cpus() if num_threads is None else num_threads
        if threads < 1:
            raise InvalidArgumentError(f"num_threads must be at least 1, got {threads}")
        if self._pattern.native_id is None:
            encoded = [self._encode_custom(_without_surrogates(t), allowed) for t in texts]
            offsets = np.cumsum([0, *map(len, encoded)], dtype=np.int64)
            flat = np.fromiter((i for ids in encoded for i in ids), dtype=np.uint32)
            return flat, offsets
        try:
            flat_buffer, offset_buffer = self._engine.encode_batch(texts, allowed, threads)
        except UnicodeEncodeError:
            texts = [_without_surrogates(text) for text in texts]
            flat_buffer, offset_buffer = self._engine.encode_batch(texts, allowed, threads)
        return (
            np.frombuffer(flat_buffer, dtype=np.uint32),
            np.frombuffer(offset_buffer, dtype=np.int64),
        )

    def encode_utf8_batch_to_numpy(
        self,
        buffer: bytes | bytearray | memoryview,
        offsets: Any,
        *,
        num_threads: int | None = None,
        append_id: int | None = None,
        append: Any = None,
        dtype: Literal["uint16", "uint32"] = "uint32",
    ) -> tuple[npt.NDArray[np.unsignedinteger[Any]], npt.NDArray[np.int64]]:
        """`encode_batch_to_numpy(texts, disallowed_special=())` of the texts whose UTF-8 is
        `buffer[offsets[i]:offsets[i + 1]]` (`offsets`: int64, len(texts) + 1, non-decreasing),
        without making str objects: special-token text is ordinary text. The buffer must be
        valid UTF-8.

        `append_id`, if given, is added after every text, or after those where the bool array
        `append` is true (an EOS, say), and counts in the offsets; `dtype="uint16"` stores the
        ids in 16 bits (InvalidArgumentError for an id that does not fit).
        """
        import numpy as np

        threads = usable_cpus() if num_threads is None else num_threads
        if threads < 1:
            raise InvalidArgumentError(f"num_threads must be at least 1, got {threads}")
        if dtype not in ("uint16", "uint32"):
            raise InvalidArgumentError(f"dtype must be 'uint16' or 'uint32', got {dtype!r}")
        bounds = np.ascontiguousarray(offsets, dtype=np.int64)
        n = max(len(bounds) - 1, 0)
        flags = None
        if append_id is not None:
            flags = np.ones(n, dtype=np.uint8) if append is None else np.asarray(append, np.uint8)
            if flags.shape != (n,):
                raise InvalidArgumentError(f"append must hold one flag per text ({n})")
        if self._engine_name != "native" or self._pattern.native_id is None:
            data = bytes(buffer)
            edges = bounds.tolist()
            texts = [data[a:b].decode("utf-8") for a, b in itertools.pairwise(edges)]
            flat, cuts = self.encode_batch_to_numpy(
                texts, num_threads=threads, disallowed_special=()
            )
            if flags is not None and append_id is not None:
                chosen = flags.astype(bool)
                flat = np.insert(flat, cuts[1:][chosen], np.uint32(append_id))
                cuts = cuts + np.concatenate([[0], np.cumsum(chosen)])
            if dtype == "uint16" and flat.size and int(flat.max()) > 0xFFFF:
                raise InvalidArgumentError("token ids above 65535 do not fit in uint16")
            return flat.astype(dtype), cuts
        from lmio.tokenizer import _native

        encoder = self._engine
        if not isinstance(encoder, _native.Encoder):  # pragma: no cover - native engines are
            raise InvalidArgumentError("this tokenizer has no native encoder")
        try:
            flat_buffer, offset_buffer = encoder.encode_utf8_batch(
                buffer,
                bounds.data,
                threads,
                append=None if flags is None else flags.data,
                token=0 if append_id is None else append_id,
                itemsize=2 if dtype == "uint16" else 4,
            )
        except (ValueError, OverflowError) as exc:
            raise InvalidArgumentError(f"cannot encode: {exc}") from None
        return (
            np.frombuffer(flat_buffer, dtype=np.uint16 if dtype == "uint16" else np.uint32),
            np.frombuffer(offset_buffer, dtype=np.int64),
        )

    def pad(
        self,
        batch: Sequence[Sequence[int]],
        *,
        length: int,
        pad_id: int | None = None,
        side: Side = "right",
        truncation: Side = "right",
    ) -> dict[str, npt.NDArray[np.int64]]:
        """Pad or truncate token lists to `length`: `input_ids` and `attention_mask` arrays.

        `pad_id` defaults to the `<|pad|>` special token, else `<|endoftext|>`, else 0; the
        mask is what tells padding apart.
        """
        return pad_batch(
            batch,
            length=length,
            pad_id=self.default_pad_id if pad_id is None else pad_id,
            side=side,
            truncation=truncation,
        )

    def _encode_custom(self, text: str, allowed: Collection[str]) -> list[int]:
        """Custom patterns: the `regex` module splits, the C core merges."""
        if not allowed:
            return self._engine.encode_pieces(self._split_custom(text))
        finder = _special_finder(frozenset(allowed))
        ids: list[int] = []
        start = 0
        for match in finder.finditer(text):
            ids.extend(self._engine.encode_pieces(self._split_custom(text[start : match.start()])))
            ids.append(self._special_tokens[match.group(0)])
            start = match.end()
        ids.extend(self._engine.encode_pieces(self._split_custom(text[start:])))
        return ids

    def _split_custom(self, text: str) -> list[bytes]:
        return [m.group(0).encode("utf-8") for m in self._custom_regex.finditer(text)]

    @cached_property
    def _custom_regex(self) -> Any:
        import regex

        return regex.compile(self._pattern.regex)

    def _allowed_special(
        self,
        texts: Iterable[str],
        allowed_special: AllowedSpecial,
        disallowed_special: AllowedSpecial,
    ) -> frozenset[str]:
        """The special tokens to recognise; raises if a text holds a disallowed one."""
        if not self._special_tokens:
            return frozenset()
        allowed = (
            self._special_set
            if allowed_special == "all"
            else self._special_set.intersection(allowed_special)
        )
        disallowed = (
            self._special_set - allowed
            if disallowed_special == "all"
            else frozenset(disallowed_special)
        )
        if disallowed:
            for text in texts:
                found = _find_special(text, disallowed)
                if found is not None:
                    raise SpecialTokenError(
                        f"the text contains the special token {found!r}, which this call does "
                        f"not allow; pass allowed_special={{{found!r}}} to encode it as the "
                        "special token, or disallowed_special=() (or encode_ordinary) to encode "
                        "it as plain text"
                    )
        return allowed

    # ------------------------------------------------------------------ decoding

    def decode_bytes(self, ids: Iterable[int] | npt.NDArray[Any]) -> bytes:
        """The bytes of the tokens, concatenated (any sequence, even one splitting a character)."""
        try:
            return self._engine.decode_bytes(_as_id_sequence(ids))
        except (ValueError, OverflowError, TypeError) as exc:
            raise InvalidArgumentError(
                f"cannot decode: {exc}; token ids must be in 0..{self.vocab_size - 1}"
            ) from None

    def decode(self, ids: Iterable[int] | npt.NDArray[Any], *, errors: str = "replace") -> str:
        """Text of the tokens; bytes that are not valid UTF-8 become U+FFFD unless `errors` says otherwise."""
        return self.decode_bytes(ids).decode("utf-8", errors=errors)

    # ------------------------------------------------------------------ vocabulary

    @property
    def vocab_size(self) -> int:
        """One more than the largest id (ordinary or special)."""
        return self._engine.n_vocab

    @property
    def n_mergeable(self) -> int:
        """Number of ordinary (non-special) tokens: ids 0..n_mergeable-1."""
        return len(self._tokens)

    @property
    def pattern(self) -> str:
        """The pre-tokenization regex."""
        return self._pattern.regex

    @property
    def pattern_name(self) -> str | None:
        """`gpt2`, `gpt4`, `o200k`, `llama3`, or None for a custom regex."""
        return self._pattern.name

    @property
    def special_tokens(self) -> dict[str, int]:
        return dict(self._special_tokens)

    @property
    def merges(self) -> tuple[tuple[int, int], ...] | None:
        """The merges in training order (id pairs), when known."""
        return self._merges

    @property
    def mergeable_ranks(self) -> dict[bytes, int]:
        """Token bytes -> id for the ordinary tokens (tiktoken's `mergeable_ranks`)."""
        return dict(self._ranks)

    @cached_property
    def _ranks(self) -> dict[bytes, int]:
        return {token: i for i, token in enumerate(self._tokens)}

    @property
    def eos_id(self) -> int | None:
        """Id of `<|endoftext|>`, if this tokenizer has it."""
        return self._special_tokens.get("<|endoftext|>")

    @property
    def default_pad_id(self) -> int:
        for name in ("<|pad|>", "<|endoftext|>"):
            if name in self._special_tokens:
                return self._special_tokens[name]
        return 0

    def token_to_id(self, token: str | bytes) -> int | None:
        """Id of a token given as bytes, or as text (special tokens first); None if absent."""
        if isinstance(token, str):
            special = self._special_tokens.get(token)
            if special is not None:
                return special
            token = token.encode("utf-8")
        return self._ranks.get(bytes(token))

    def id_to_token(self, token_id: int) -> bytes:
        """Bytes of a token (a special token's text as UTF-8)."""
        if 0 <= token_id < len(self._tokens):
            return self._tokens[token_id]
        for text, special_id in self._special_tokens.items():
            if special_id == token_id:
                return text.encode("utf-8")
        raise InvalidArgumentError(
            f"no token has id {token_id}; ids run from 0 to {self.vocab_size - 1}"
        )

    @property
    def tokens(self) -> tuple[bytes, ...]:
        """The ordinary tokens' bytes, by id."""
        return self._tokens

    def pretokenize(self, text: str) -> list[str]:
        """The pieces the pattern splits `text` into before byte-pair merging."""
        text = _without_surrogates(_checked(text))
        if self._pattern.native_id is None:
            return [m.group(0) for m in self._custom_regex.finditer(text)]
        return self._engine.pretokenize(text)

    @cached_property
    def checksum(self) -> str:
        """`sha256:` of the canonical content: the same vocabulary gives the same checksum."""
        from lmio.tokenizer._formats import canonical_body

        return "sha256:" + hashlib.sha256(canonical_body(self)).hexdigest()

    # ------------------------------------------------------------------ Python protocols

    @property
    def training_report(self) -> TrainingReport | None:
        """What `Tokenizer.train` read and learned; None for tokenizers built otherwise."""
        return self._training_report

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tokenizer):
            return NotImplemented
        return (
            self._tokens == other._tokens
            and self._special_tokens == other._special_tokens
            and self._pattern.regex == other._pattern.regex
        )

    def __hash__(self) -> int:
        return hash(self.checksum)

    def __repr__(self) -> str:
        return (
            f"Tokenizer(name={self.name!r}, vocab_size={self.vocab_size}, "
            f"pattern={self._pattern.name or 'custom'!r}, special_tokens={len(self._special_tokens)})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Worker processes get a tokenizer by value: rebuild it rather than copy the C object.
        return (
            _restore,
            (self._tokens, self._special_tokens, self._pattern.regex, self._merges, self.name),
        )


def _restore(
    tokens: tuple[bytes, ...],
    special_tokens: dict[str, int],
    pattern: str,
    merges: tuple[tuple[int, int], ...] | None,
    name: str,
) -> Tokenizer:
    return Tokenizer(
        tokens, special_tokens=special_tokens, pattern=pattern, merges=merges, name=name
    )


def merge_pairs(merges: Iterable[Sequence[int]]) -> tuple[tuple[int, int], ...]:
    """`merges` as a tuple of (int, int); pairs of exact ints, as parsed from a file, are
    kept as they are."""
    pairs = tuple(map(tuple, merges))
    if all(len(pair) == 2 and type(pair[0]) is int and type(pair[1]) is int for pair in pairs):
        return pairs  # type: ignore[return-value]
    return tuple((int(a), int(b)) for a, b in pairs)


def _validate_tokens(tokens: Sequence[bytes]) -> None:
    seen: dict[bytes, int] = {}
    for i, token in enumerate(tokens):
        if not token:
            raise InvalidArgumentError(f"token {i} is empty; every token needs at least one byte")
        first = seen.setdefault(token, i)
        if first != i:
            raise InvalidArgumentError(
                f"tokens {first} and {i} are both {token!r}; each byte string may appear once"
            )
    missing = [b for b in range(256) if bytes([b]) not in seen]
    if missing:
        raise InvalidArgumentError(
            f"{len(missing)} single bytes are not tokens (first: {missing[0]:#04x}); a byte-level "
            "BPE vocabulary must hold all 256 so that any text can be encoded"
        )


def _validate_special_tokens(special_tokens: Mapping[str, int], n_tokens: int) -> None:
    ids: dict[int, str] = {}
    for text, token_id in special_tokens.items():
        if not isinstance(text, str) or not text:
            raise InvalidArgumentError(f"special token {text!r} must be a non-empty string")
        if not isinstance(token_id, int) or token_id < 0 or token_id >= 2**32:
            raise InvalidArgumentError(f"special token {text!r} has an invalid id {token_id!r}")
        if token_id < n_tokens:
            raise InvalidArgumentError(
                f"special token {text!r} has id {token_id}, which ordinary token {token_id} "
                f"already uses; give special tokens ids from {n_tokens} up"
            )
        if token_id in ids:
            raise InvalidArgumentError(
                f"special tokens {ids[token_id]!r} and {text!r} share id {token_id}"
            )
        ids[token_id] = text


def _checked(text: str) -> str:
    if not isinstance(text, str):
        raise InvalidArgumentError(f"expected text (str), got {type(text).__name__}")
    return text


def _without_surrogates(text: str) -> str:
    """Lone surrogates cannot be UTF-8: replace them with U+FFFD, as tiktoken does.

    Called only after encoding failed, so valid text is never copied.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _find_special(text: str, candidates: frozenset[str]) -> str | None:
    if len(candidates) <= _SPECIAL_SCAN_LIMIT:
        hits = [(text.find(token), token) for token in candidates if token in text]
        return min(hits)[1] if hits else None
    match = _special_finder(candidates).search(text)
    return match.group(0) if match else None


@lru_cache(maxsize=64)
def _special_finder(tokens: frozenset[str]) -> Any:
    import regex

    # Longest first, so that a special token that extends another one wins at the same start.
    return regex.compile(
        "|".join(regex.escape(t) for t in sorted(tokens, key=lambda t: (-len(t), t)))
    )


def _as_id_sequence(ids: Iterable[int] | npt.NDArray[Any]) -> Any:
    if isinstance(ids, (list, tuple)):
        return ids
    if hasattr(ids, "dtype"):
        import numpy as np

        array = np.asarray(ids)
        if array.dtype != np.uint32:
            if array.size and (array.min() < 0 or array.max() >= 2**32):
                raise InvalidArgumentError("token ids must be in 0..2**32-1")
            array = array.astype(np.uint32)
        return np.ascontiguousarray(array)
    return list(ids)
