"""Typed interface of lmio's C core (src/lmio/tokenizer/_native.c over csrc/). Private."""

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Final

from typing_extensions import Buffer

PATTERN_GPT2: Final[int]  # 0: tiktoken r50k/p50k, HF ByteLevel's GPT-2 regex
PATTERN_GPT4: Final[int]  # 1: tiktoken cl100k
PATTERN_O200K: Final[int]  # 2: tiktoken o200k
PATTERN_LLAMA3: Final[int]  # 3: Llama 3

def abi_version() -> int: ...
def _unicode_flags(code_point: int, /) -> int:
    """The scanners' class flags of a code point: L=1 N=2 S=4 U=8 W=16 (csrc/unicode.h)."""

class Encoder:
    """Byte-level BPE with tiktoken's semantics (rank == id == merge priority).

    `ranks[i]` is the bytes of token i; all 256 single bytes must be there and no bytes twice
    (ValueError otherwise). Special token ids must lie outside 0..len(ranks)-1. `pattern` is a
    PATTERN_* id, or -1 for a custom pattern: then only `encode_pieces` and `decode_bytes` work.
    """

    n_vocab: int  # read-only: one more than the largest id, ordinary or special (tiktoken)

    def __init__(
        self, ranks: Sequence[bytes], special_tokens: Mapping[str, int], pattern: int
    ) -> None: ...
    def encode_ordinary(self, text: str) -> list[int]: ...
    def encode(self, text: str, allowed_special: Collection[str]) -> list[int]:
        """Allowed special tokens become their ids: the leftmost occurrence first, the first
        listed in `special_tokens` when two start at one position. No disallowed check."""
    def encode_batch(
        self, texts: Sequence[str], allowed_special: Collection[str], num_threads: int
    ) -> tuple[bytearray, bytearray]:
        """(native-endian uint32 tokens, int64 offsets of len(texts) + 1), encoded on native
        threads without the GIL; num_threads <= 1 runs on the calling thread."""
    def encode_utf8_batch(
        self,
        buffer: Buffer,
        offsets: Buffer,
        num_threads: int,
        *,
        append: Buffer | None = None,
        token: int = 0,
        itemsize: int = 4,
    ) -> tuple[bytearray, bytearray]:
        """encode_batch of the documents buffer[offsets[i]:offsets[i + 1]] (UTF-8; offsets a
        buffer of native int64, non-decreasing, within the buffer): no str objects are made.
        No special tokens are recognised: their text is ordinary text. `token` is appended
        after each document whose byte in `append` is not 0, and the ids are stored in
        `itemsize` bytes (2: ValueError for an id above 65535), native order."""
    def encode_pieces(self, pieces: Sequence[bytes]) -> list[int]:
        """BPE of pieces already split (any bytes): the whole piece if it is a token."""
    def decode_bytes(self, ids: Sequence[int] | Buffer) -> bytes:
        """ids: ints, or a buffer of uint32 (array('I'), numpy uint32, memoryview.cast('I')).
        ValueError names an unknown id."""
    def pretokenize(self, text: str) -> list[str]:
        """The pieces the scanner splits text into (for differential tests)."""

class WordCounter:
    """Unique pre-tokenized words and their counts (training step 1).

    Special token strings are cut out of the text and not counted. Not for concurrent use from
    several Python threads (RuntimeError).
    """

    total: int  # read-only: words counted, with multiplicity

    def __init__(self, pattern: int, special_tokens: Sequence[str]) -> None: ...
    def add_texts(self, texts: Sequence[str], num_threads: int) -> None: ...
    def add_pieces(self, pieces: Sequence[bytes]) -> None: ...
    def __len__(self) -> int: ...
    def items(self) -> list[tuple[bytes, int]]: ...

class Digest:
    """lmio prepare's dedup digest (XXH3-128 of the bytes, canonical 16 bytes), streaming."""

    def __init__(self) -> None: ...
    def update(self, data: Buffer, /) -> None: ...
    def digest(self) -> bytes: ...

class DigestSet:
    """The digests seen so far, for exact dedup (one thread's: the GIL stays held)."""

    def __init__(self) -> None: ...
    def add(self, digests: Buffer, /) -> bytes:
        """For each 16-byte digest, 1 if it is new (not in the set, nor earlier in `digests`),
        else 0; the new ones are added."""
    def __len__(self) -> int: ...

def digest(data: Buffer, /) -> bytes:
    """The dedup digest of the bytes: Digest().update(data), then digest()."""

def prepare_lines(
    block: Buffer,
    mode: int,
    field: Buffer,
    steps: int,
    digest: bool,
    max_line_bytes: int,
    max_chars: int,
    /,
) -> tuple[int, bytes, bytes, bytes, bytes, bytes, bytes, bytes, tuple[int, int, int, int]] | None:
    """lmio prepare's C pass over whole lines (csrc/prepare.h), without the GIL. mode 0: JSON
    lines (the string field `field`, UTF-8), 1: text lines; steps: cleaning bits (1 control,
    2 NFC, 4 whitespace); limits -1 for none. Returns None when the block is not valid UTF-8,
    else (entries, status, line starts, line ends, text ends, chars, digests, text, (documents,
    cleaned, control chars, whitespace)), the arrays as bytes of uint8 / native int64."""

def train_bpe(
    counter: WordCounter,
    *,
    byte_order: bytes,
    target_tokens: int,
    min_frequency: int,
    progress: Callable[[int], object] | None = None,
) -> list[tuple[int, int, int]]:
    """HF BpeTrainer's merges (left id, right id, new id) in training order, repeated merges
    included. Initial token i is byte byte_order[i]; stops at target_tokens distinct tokens.
    progress(n_merges) runs every 256 merges and at the end; its exceptions stop training."""
