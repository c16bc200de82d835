"""Cleaning and normalisation of documents, each step switchable and counted.

The steps, in order:

1. control characters (C0 and C1, except tab, newline and carriage return) are removed;
2. Unicode normalisation: NFC by default, NFKC as an option, or none;
3. lowercasing (off by default);
4. removal of characters outside chosen Unicode general categories (off by default; tab,
   newline and space always stay);
5. whitespace: line breaks become `\\n`, spaces and tabs at the ends of lines go, runs of
   four or more line breaks become three (two blank lines, as PEP 8 puts between top-level
   definitions, stay), and the document is stripped.

Then `min_chars` / `max_chars` filters and exact deduplication (a 128-bit digest of the
cleaned text; the first occurrence wins) apply to whole documents; `lmio.prepare` runs them.

Every step works on runs of characters that never cross a letter or digit followed by a
space, so a long document cleaned in parts cut at such places (`first` / `last` mark the
ends) gives the same text as cleaned whole. Each step is quick on text that needs no change:
ASCII skips normalisation, and cheap membership tests guard each regular expression.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from lmio.errors import InvalidArgumentError

__all__ = ["CleanOptions", "CleanStats", "Cleaner", "clean"]

Normalization = Literal["NFC", "NFKC"]

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# C0 controls and DEL as bytes: in UTF-8 they never occur inside a multi-byte character, so
# deleting them from the encoded text finds them several times faster than a regex search.
_C0_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_C1_LEAD = b"\xc2"  # U+0080..U+009F encode as C2 80..C2 9F
_C1_BYTES = re.compile(b"\xc2[\x80-\x9f]")
_BLANK_RUNS = re.compile("\n{4,}")
_BATCH_CHECK_CHARS = 4096  # documents longer than this are cleaned one by one
# What the whitespace step changes, besides a document's ends.
_UNTIDY = (b"\r", b" \n", b"\t\n", b"\n\n\n\n")
_ALWAYS_KEPT = frozenset("\t\n ")
_MAJOR_CATEGORIES = {
    "L": "ultmo",
    "M": "nce",
    "N": "dlo",
    "P": "cdseifo",
    "S": "mcko",
    "Z": "slp",
    "C": "cfson",
}
_CATEGORIES = frozenset(_MAJOR_CATEGORIES) | {
    major + minor for major, minors in _MAJOR_CATEGORIES.items() for minor in minors
}
_STEPS = ("nfc", "nfkc", "control", "whitespace", "lowercase", "dedup")


@dataclass(frozen=True)
class CleanOptions:
    """Which cleaning steps run. The defaults are safe for any text, code included.

    `normalization`: "NFC" (default), "NFKC" or None. `remove_control`: drop control
    characters. `whitespace`: normalise line breaks, trailing spaces, blank-line runs and
    the document's ends. `lowercase`: off by default. `keep_categories`: if set, keep only
    characters whose Unicode general category (e.g. "L", "Nd") is listed. `min_chars` /
    `max_chars`: drop cleaned documents shorter / longer than this. `dedup`: drop exact
    duplicates of the cleaned text.
    """

    normalization: Normalization | None = "NFC"
    remove_control: bool = True
    whitespace: bool = True
    lowercase: bool = False
    keep_categories: tuple[str, ...] | None = None
    min_chars: int = 1
    max_chars: int | None = None
    dedup: bool = True

    def __post_init__(self) -> None:
        if self.normalization not in ("NFC", "NFKC", None):
            raise InvalidArgumentError(
                f"normalization must be 'NFC', 'NFKC' or None, got {self.normalization!r}"
            )
        if self.keep_categories is not None:
            unknown = [c for c in self.keep_categories if c not in _CATEGORIES]
            if unknown or not self.keep_categories:
                raise InvalidArgumentError(
                    f"keep_categories holds unknown Unicode categories {unknown}; use general "
                    "categories such as L (letters), N (numbers), P (punctuation), S (symbols), "
                    "Z (separators) or two-letter ones such as Lu, Nd"
                )
            object.__setattr__(self, "keep_categories", tuple(sorted(set(self.keep_categories))))
        if self.min_chars < 0:
            raise InvalidArgumentError(f"min_chars must be 0 or more, got {self.min_chars}")
        if self.max_chars is not None and self.max_chars < max(self.min_chars, 1):
            raise InvalidArgumentError(
                f"max_chars={self.max_chars} is below min_chars={self.min_chars}: "
                "every document would be dropped"
            )

    @classmethod
    def none(cls) -> CleanOptions:
        """No cleaning at all: documents are tokenized as read (empty ones are still dropped)."""
        return cls(normalization=None, remove_control=False, whitespace=False, dedup=False)

    @classmethod
    def from_steps(cls, steps: Sequence[str], **filters: Any) -> CleanOptions:
        """From step names: any of nfc, nfkc, control, whitespace, lowercase, dedup;
        "default" stands for nfc, control, whitespace, dedup and "none" for no step.
        `filters` are the other options (min_chars, max_chars, keep_categories)."""
        chosen: set[str] = set()
        for step in steps:
            name = step.strip().lower()
            if name == "default":
                chosen |= {"nfc", "control", "whitespace", "dedup"}
            elif name in _STEPS:
                chosen.add(name)
            elif name != "none":
                raise InvalidArgumentError(
                    f"unknown cleaning step {step!r}; choose from default, none, "
                    f"{', '.join(_STEPS)}"
                )
        if {"nfc", "nfkc"} <= chosen:
            raise InvalidArgumentError("choose one Unicode normalisation: nfc or nfkc, not both")
        return cls(
            normalization="NFKC" if "nfkc" in chosen else "NFC" if "nfc" in chosen else None,
            remove_control="control" in chosen,
            whitespace="whitespace" in chosen,
            lowercase="lowercase" in chosen,
            dedup="dedup" in chosen,
            **filters,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.keep_categories is not None:
            data["keep_categories"] = list(self.keep_categories)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CleanOptions:
        values = dict(data)
        if values.get("keep_categories") is not None:
            values["keep_categories"] = tuple(values["keep_categories"])
        return cls(**values)


@dataclass
class CleanStats:
    """What cleaning did: documents changed per step, characters removed, documents dropped."""

    documents: int = 0
    control_chars: int = 0
    normalized: int = 0
    lowercased: int = 0
    category_chars: int = 0
    whitespace: int = 0
    too_short: int = 0
    too_long: int = 0
    duplicates: int = 0

    def add(self, other: CleanStats) -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def to_dict(self) -> dict[str, int]:
        return {field.name: getattr(self, field.name) for field in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> CleanStats:
        return cls(**{field.name: int(data.get(field.name, 0)) for field in fields(cls)})


class Cleaner:
    """Applies the text steps of `CleanOptions` and counts what they change in `stats`.

    A document is counted once per step even when cleaned in parts: pass `first` / `last`
    for the parts of a long document.
    """

    def __init__(self, options: CleanOptions | None = None, stats: CleanStats | None = None):
        self.options = options if options is not None else CleanOptions()
        self.stats = stats if stats is not None else CleanStats()
        self._keep: dict[str, bool] = {}
        self._changed: set[str] = set()

    def __call__(self, text: str, *, first: bool = True, last: bool = True) -> str:
        options = self.options
        changed = self._changed
        if first:
            self.stats.documents += 1
        if options.remove_control and _has_control(text):
            text, removed = _CONTROL.subn("", text)
            self.stats.control_chars += removed
        form = options.normalization
        if form is not None and not text.isascii() and not unicodedata.is_normalized(form, text):
            normalized = unicodedata.normalize(form, text)
            if normalized != text:
                changed.add("normalized")
            text = normalized
        if options.lowercase and not text.islower():
            lowered = text.lower()
            if lowered != text:
                changed.add("lowercased")
            text = lowered
        if options.keep_categories is not None:
            text = self._filter_categories(text)
        if options.whitespace:
            tidied = _tidy_whitespace(text, first=first, last=last)
            if tidied is not text and tidied != text:
                changed.add("whitespace")
            text = tidied
        if last:
            for name in changed:
                setattr(self.stats, name, getattr(self.stats, name) + 1)
            changed.clear()
        return text

    def clean_batch(self, texts: Sequence[str]) -> list[str]:
        """Whole documents, cleaned and counted as one call each would. Each step's check runs
        once over all the short documents, encoded together: they cost little more than their
        bytes. (Long ones gain nothing from that, and go one by one.)"""
        long = [i for i, text in enumerate(texts) if len(text) > _BATCH_CHECK_CHARS]
        if not long:
            return self._clean_short(texts)
        out = list(texts)
        for i in long:
            out[i] = self(out[i])
        short = [i for i, text in enumerate(texts) if len(text) <= _BATCH_CHECK_CHARS]
        for i, text in zip(short, self._clean_short([texts[i] for i in short]), strict=True):
            out[i] = text
        return out

    def _clean_short(self, texts: Sequence[str]) -> list[str]:
        options, stats = self.options, self.stats
        out = list(texts)
        stats.documents += len(out)
        # Joined by newlines, which no step removes or composes; a pattern the checks look for
        # that spans two documents is only a false alarm, which costs a closer look.
        data = _utf8("\n".join(out))
        stale = False  # whether `data` still holds the batch as it is now
        if options.remove_control and _has_control_bytes(data):
            for i, text in enumerate(out):
                if _has_control(text):
                    out[i], removed = _CONTROL.subn("", text)
                    stats.control_chars += removed
            stale = True
        form = options.normalization
        if form is not None and (stale or not data.isascii()):
            for i, text in enumerate(out):
                if not text.isascii() and not unicodedata.is_normalized(form, text):
                    out[i] = unicodedata.normalize(form, text)
                    if out[i] != text:
                        stats.normalized += 1
                        stale = True
        if options.lowercase:
            for i, text in enumerate(out):
                if not text.islower():
                    out[i] = text.lower()
                    stats.lowercased += out[i] != text
            stale = True
        if options.keep_categories is not None:
            out = [self._filter_categories(text) for text in out]
            stale = True
        if options.whitespace:
            if stale:
                data = _utf8("\n".join(out))
            untidy = any(pattern in data for pattern in _UNTIDY)
            for i, text in enumerate(out):
                tidied = _tidy_whitespace(text) if untidy else text.strip()
                if tidied is not text and tidied != text:
                    stats.whitespace += 1
                    out[i] = tidied
        return out

    def _filter_categories(self, text: str) -> str:
        keep = self._keep
        allowed = self.options.keep_categories or ()
        drop: dict[int, None] = {}
        for char in set(text):
            kept = keep.get(char)
            if kept is None:
                category = unicodedata.category(char)
                kept = char in _ALWAYS_KEPT or category in allowed or category[0] in allowed
                keep[char] = kept
            if not kept:
                drop[ord(char)] = None
        if not drop:
            return text
        filtered = text.translate(drop)
        self.stats.category_chars += len(text) - len(filtered)
        return filtered


def _tidy_whitespace(text: str, *, first: bool = True, last: bool = True) -> str:
    """Line breaks to `\\n`, no spaces or tabs at line ends, at most two blank lines in a row;
    the document's start (`first`) and end (`last`) stripped."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if " \n" in text or "\t\n" in text:
        text = "\n".join([line.rstrip(" \t") for line in text.split("\n")])
    if "\n\n\n\n" in text:
        text = _BLANK_RUNS.sub("\n\n\n", text)
    if first and last:
        return text.strip()
    if first:
        return text.lstrip()
    return text.rstrip() if last else text


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _has_control(text: str) -> bool:
    return _has_control_bytes(_utf8(text))


def _has_control_bytes(data: bytes) -> bool:
    if len(data.translate(None, _C0_BYTES)) != len(data):
        return True
    return _C1_LEAD in data and _C1_BYTES.search(data) is not None


def clean(text: str, *, options: CleanOptions | None = None) -> str:
    """`text` after the cleaning steps of `options` (default: NFC, control characters, whitespace).

    >>> clean("  Cafe\\u0301\\x07 menu\\r\\n\\n\\n\\n\\nend  ")
    'Café menu\\n\\n\\nend'
    """
    return Cleaner(options)(text)
