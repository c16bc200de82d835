"""Pure-Python reference of lmio's tokenizer: the specification the C core is tested against.

Slow and obvious on purpose. Encoding follows tiktoken: a piece found whole in the vocabulary is
one token; otherwise adjacent parts are merged, lowest merged-token rank first (leftmost on
ties), and rank == id. Training follows HF tokenizers' `BpeTrainer` step for step, quirks
included, so that both learn the same merges from the same words.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence

import regex

__all__ = [
    "bpe_piece",
    "count_words",
    "decode_bytes",
    "encode",
    "encode_ordinary",
    "pretokenize",
    "train",
]

Pair = tuple[int, int]


def pretokenize(text: str, pattern: str) -> list[str]:
    """The pieces the pattern finds, in order; text between matches is dropped (as tiktoken does)."""
    return [match.group(0) for match in regex.finditer(pattern, text)]


def bpe_piece(piece: bytes, ranks: Mapping[bytes, int]) -> list[int]:
    """tiktoken's byte-pair encoding of one piece."""
    whole = ranks.get(piece)
    if whole is not None:
        return [whole]
    parts = [piece[i : i + 1] for i in range(len(piece))]
    while len(parts) > 1:
        best_rank: int | None = None
        best_index = 0
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and (best_rank is None or rank < best_rank):
                best_rank, best_index = rank, i
        if best_rank is None:
            break
        parts[best_index : best_index + 2] = [parts[best_index] + parts[best_index + 1]]
    return [ranks[part] for part in parts]


def encode_ordinary(text: str, ranks: Mapping[bytes, int], pattern: str) -> list[int]:
    ids: list[int] = []
    for piece in pretokenize(text, pattern):
        ids.extend(bpe_piece(piece.encode("utf-8"), ranks))
    return ids


def encode(
    text: str,
    ranks: Mapping[bytes, int],
    pattern: str,
    special_tokens: Mapping[str, int],
    allowed_special: Collection[str],
) -> list[int]:
    """Ordinary encoding between occurrences of allowed special tokens, which become their ids.

    The next special is the leftmost occurrence; at the same start the longest wins.
    """
    allowed = sorted(
        (token for token in special_tokens if token in allowed_special),
        key=lambda token: (-len(token), token),
    )
    if not allowed:
        return encode_ordinary(text, ranks, pattern)
    finder = regex.compile("|".join(regex.escape(token) for token in allowed))
    ids: list[int] = []
    start = 0
    for match in finder.finditer(text):
        ids.extend(encode_ordinary(text[start : match.start()], ranks, pattern))
        ids.append(special_tokens[match.group(0)])
        start = match.end()
    ids.extend(encode_ordinary(text[start:], ranks, pattern))
    return ids


def decode_bytes(
    ids: Iterable[int], tokens: Sequence[bytes], special_by_id: Mapping[int, str]
) -> bytes:
    out = bytearray()
    for token_id in ids:
        if 0 <= token_id < len(tokens):
            out += tokens[token_id]
        elif token_id in special_by_id:
            out += special_by_id[token_id].encode("utf-8")
        else:
            raise ValueError(f"unknown token id {token_id}")
    return bytes(out)


def count_words(
    texts: Iterable[str], pattern: str, special_tokens: Collection[str] = ()
) -> Counter[bytes]:
    """Training step 1: the pieces of every text with their counts; special-token text is cut out."""
    splitter = (
        regex.compile("|".join(regex.escape(token) for token in special_tokens))
        if special_tokens
        else None
    )
    counts: Counter[bytes] = Counter()
    for text in texts:
        segments = splitter.split(text) if splitter is not None else [text]
        for segment in segments:
            counts.update(piece.encode("utf-8") for piece in pretokenize(segment, pattern))
    return counts


def train(
    word_counts: Mapping[bytes, int],
    *,
    byte_order: bytes,
    target_tokens: int,
    min_frequency: int = 0,
) -> list[tuple[int, int, int]]:
    """HF `BpeTrainer`'s merge loop; returns (left id, right id, new id) in training order.

    `byte_order[i]` is the byte of initial token i. HF's quirks are kept because they decide
    which merges come out: each heap entry carries its own word positions; a popped entry whose
    count is stale is refreshed and pushed back; the merged pair's own count is never lowered;
    pairs that gain occurrences get a new entry holding only this step's positions; a merge
    whose bytes already form a token reuses that token's id.
    """
    tokens = [bytes([b]) for b in byte_order]
    token_ids = {token: i for i, token in enumerate(tokens)}
    words = [[token_ids[bytes([b])] for b in word] for word in word_counts]
    counts = list(word_counts.values())

    pair_counts: dict[Pair, int] = defaultdict(int)
    positions: dict[Pair, set[int]] = defaultdict(set)
    for index, word in enumerate(words):
        for pair in itertools.pairwise(word):
            pair_counts[pair] += counts[index]
            positions[pair].add(index)

    # Max-heap on count, then smallest pair; the sequence number only keeps tuples comparable.
    sequence = itertools.count()
    heap: list[tuple[int, int, int, int, set[int]]] = []

    def push(pair: Pair, count: int, where: set[int]) -> None:
        heapq.heappush(heap, (-count, pair[0], pair[1], next(sequence), where))

    for pair, where in positions.items():
        if pair_counts[pair] > 0:
            push(pair, pair_counts[pair], where)

    merges: list[tuple[int, int, int]] = []
    while len(tokens) < target_tokens and heap:
        negative_count, left, right, _, where = heapq.heappop(heap)
        pair = (left, right)
        if -negative_count != pair_counts[pair]:
            push(pair, pair_counts[pair], where)
            continue
        count = -negative_count
        if count < 1 or count < min_frequency:
            break
        merged = tokens[left] + tokens[right]
        new_id = token_ids.get(merged)
        if new_id is None:
            new_id = len(tokens)
            tokens.append(merged)
            token_ids[merged] = new_id
        merges.append((left, right, new_id))

        gained: dict[Pair, set[int]] = defaultdict(set)
        for index in where:
            for changed, delta in _merge_word(words[index], left, right, new_id):
                pair_counts[changed] += delta * counts[index]
                if delta > 0:
                    gained[changed].add(index)
        for changed, gained_where in gained.items():
            if pair_counts[changed] > 0:
                push(changed, pair_counts[changed], gained_where)
    return merges


def _merge_word(symbols: list[int], left: int, right: int, new_id: int) -> list[tuple[Pair, int]]:
    """HF `Word::merge`: left-to-right, non-overlapping, in place; returns the pair-count deltas."""
    changes: list[tuple[Pair, int]] = []
    i = 0
    while i < len(symbols):
        if symbols[i] == left and i + 1 < len(symbols) and symbols[i + 1] == right:
            if i > 0:
                changes.append(((symbols[i - 1], left), -1))
                changes.append(((symbols[i - 1], new_id), 1))
            symbols[i : i + 2] = [new_id]
            if i < len(symbols) - 1:
                changes.append(((right, symbols[i + 1]), -1))
                changes.append(((new_id, symbols[i + 1]), 1))
        i += 1
    return changes


class ReferenceEncoder:
    """The reference behind the same interface as the C core's `Encoder`, for differential tests."""

    def __init__(
        self, ranks: Sequence[bytes], special_tokens: Mapping[str, int], pattern: str
    ) -> None:
        self._tokens = list(ranks)
        self._ranks = {token: i for i, token in enumerate(self._tokens)}
        self._special_tokens = dict(special_tokens)
        self._special_by_id = {i: token for token, i in self._special_tokens.items()}
        self._pattern = pattern
        self.n_vocab = max([len(self._tokens) - 1, *self._special_by_id]) + 1

    def encode_ordinary(self, text: str) -> list[int]:
        return encode_ordinary(text, self._ranks, self._pattern)

    def encode(self, text: str, allowed_special: Collection[str]) -> list[int]:
        return encode(text, self._ranks, self._pattern, self._special_tokens, allowed_special)

    def encode_batch(
        self, texts: Sequence[str], allowed_special: Collection[str], num_threads: int
    ) -> tuple[bytearray, bytearray]:
        import numpy as np

        del num_threads
        encoded = [self.encode(text, allowed_special) for text in texts]
        offsets = np.cumsum([0, *map(len, encoded)], dtype=np.int64)
        flat = np.fromiter(itertools.chain.from_iterable(encoded), dtype=np.uint32)
        return bytearray(flat.tobytes()), bytearray(offsets.tobytes())

    def encode_pieces(self, pieces: Sequence[bytes]) -> list[int]:
        return [i for piece in pieces for i in bpe_piece(piece, self._ranks)]

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        return decode_bytes(ids, self._tokens, self._special_by_id)

    def pretokenize(self, text: str) -> list[str]:
        return pretokenize(text, self._pattern)
