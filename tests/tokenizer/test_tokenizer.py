"""The public `Tokenizer`: encoding semantics, special tokens, padding, errors, persistence."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmio.errors import FormatError, IntegrityError, InvalidArgumentError, SpecialTokenError
from lmio.tokenizer import Tokenizer

from .conftest import ENGINES, SAMPLES


@pytest.fixture(params=ENGINES)
def tok(request: pytest.FixtureRequest, trained: Tokenizer) -> Tokenizer:
    return Tokenizer(
        trained.tokens,
        special_tokens=trained.special_tokens,
        pattern=trained.pattern,
        engine=request.param,
    )


@pytest.mark.parametrize("text", SAMPLES)
def test_round_trip(tok: Tokenizer, text: str) -> None:
    assert tok.decode(tok.encode(text)) == text
    assert tok.decode_bytes(tok.encode(text)) == text.encode()


@settings(max_examples=60, deadline=None)
@given(text=st.text())
def test_round_trip_any_text(trained: Tokenizer, text: str) -> None:
    assert trained.decode(trained.encode_ordinary(text)) == text


def test_lone_surrogates_become_replacement_characters(tok: Tokenizer) -> None:
    assert tok.decode(tok.encode("a\ud800b")) == "a\ufffdb"


def test_decode_bytes_of_any_token_sequence(tok: Tokenizer) -> None:
    ids = list(range(tok.n_mergeable))[::37]
    assert tok.decode_bytes(ids) == b"".join(tok.id_to_token(i) for i in ids)
    # A sequence that splits a character is still decodable as bytes, and lossily as text.
    euro = tok.encode("€")
    assert tok.decode_bytes(euro[:1]) in (b"\xe2", b"\xe2\x82", b"\xe2\x82\xac")


def test_special_tokens_follow_tiktoken_semantics(tok: Tokenizer) -> None:
    text = "end<|endoftext|>start"
    with pytest.raises(SpecialTokenError, match=r"special token '<\|endoftext\|>'"):
        tok.encode(text)
    eos = tok.token_to_id("<|endoftext|>")
    allowed = tok.encode(text, allowed_special={"<|endoftext|>"})
    assert eos in allowed
    assert tok.encode(text, allowed_special="all") == allowed
    plain = tok.encode(text, disallowed_special=())
    assert eos not in plain
    assert plain == tok.encode_ordinary(text)
    assert tok.decode(allowed) == tok.decode(plain) == text


def test_disallowing_one_special_while_allowing_another(tok: Tokenizer) -> None:
    with pytest.raises(SpecialTokenError, match=r"<\|pad\|>"):
        tok.encode("a<|pad|>b<|endoftext|>", allowed_special={"<|endoftext|>"})


def test_batch_equals_single(tok: Tokenizer) -> None:
    texts = SAMPLES * 3
    batch = tok.encode_batch(texts, num_threads=2)
    assert batch == [tok.encode(t) for t in texts]
    flat, offsets = tok.encode_batch_to_numpy(texts, num_threads=2)
    assert flat.dtype == np.uint32 and offsets.dtype == np.int64
    assert offsets[0] == 0 and offsets[-1] == len(flat) and len(offsets) == len(texts) + 1
    assert [flat[offsets[i] : offsets[i + 1]].tolist() for i in range(len(texts))] == batch


def test_batch_checks_special_tokens_too(tok: Tokenizer) -> None:
    with pytest.raises(SpecialTokenError):
        tok.encode_batch(["fine", "not <|endoftext|> fine"])
    assert len(tok.encode_batch(["x <|endoftext|>"], allowed_special="all")[0]) >= 2


def test_vocabulary_lookups(tok: Tokenizer) -> None:
    assert tok.vocab_size == 1002
    assert tok.n_mergeable == 1000
    assert tok.token_to_id("<|pad|>") == 1001
    assert tok.id_to_token(1001) == b"<|pad|>"
    assert tok.token_to_id(b"a") is not None
    assert tok.token_to_id("definitely not a token") is None
    with pytest.raises(InvalidArgumentError, match="no token has id 5000"):
        tok.id_to_token(5000)
    with pytest.raises(InvalidArgumentError, match="cannot decode"):
        tok.decode([5000])
    assert tok.eos_id == 1000
    assert tok.default_pad_id == 1001


def test_decode_accepts_numpy_arrays(tok: Tokenizer) -> None:
    ids = tok.encode("numpy arrays decode too")
    for dtype in (np.uint32, np.int64, np.uint16):
        assert tok.decode(np.asarray(ids, dtype=dtype)) == "numpy arrays decode too"


def test_pad_and_truncate_with_attention_mask(tok: Tokenizer) -> None:
    batch = [[1, 2, 3], [4, 5, 6, 7, 8, 9], []]
    out = tok.pad(batch, length=4)
    assert out["input_ids"].tolist() == [[1, 2, 3, 1001], [4, 5, 6, 7], [1001] * 4]
    assert out["attention_mask"].tolist() == [[1, 1, 1, 0], [1, 1, 1, 1], [0, 0, 0, 0]]
    left = tok.pad(batch, length=4, pad_id=0, side="left", truncation="left")
    assert left["input_ids"].tolist() == [[0, 1, 2, 3], [6, 7, 8, 9], [0, 0, 0, 0]]
    assert left["attention_mask"].tolist() == [[0, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0]]
    with pytest.raises(InvalidArgumentError, match="length must be at least 1"):
        tok.pad(batch, length=0)


def test_save_and_load_round_trip(tok: Tokenizer, tmp_path: Path) -> None:
    path = tmp_path / "tok.json"
    tok.save(path)
    loaded = Tokenizer.load(path)
    assert loaded == tok
    assert loaded.checksum == tok.checksum
    assert loaded.encode(SAMPLES[1]) == tok.encode(SAMPLES[1])
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was renamed away


def test_tampered_file_fails_its_checksum(tok: Tokenizer, tmp_path: Path) -> None:
    path = tmp_path / "tok.json"
    tok.save(path)
    body = json.loads(path.read_text())
    body["special_tokens"]["<|pad|>"] = 1000
    body["special_tokens"]["<|endoftext|>"] = 1001
    path.write_text(json.dumps(body))
    with pytest.raises(IntegrityError, match="does not match its checksum"):
        Tokenizer.load(path)


@pytest.mark.parametrize(
    "tokens",
    [["IQ==", "Ig==", "+/9z"], [], ['a"b', "IQ=="], ["\u00e9"], ["IQ==", 7], "IQ=="],
)
def test_canonical_body_spells_what_json_dumps_spells(tokens: object) -> None:
    """Base64 tokens are joined directly; anything else (quotes, non-ASCII, non-strings)
    takes json.dumps itself: the checksum never depends on which."""
    from lmio.tokenizer._formats import _canonical

    body = {"version": 1, "tokens": tokens, "merges": [[1, 2], [3, 4]], "name": "é", "a": None}
    expected = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    assert _canonical(body) == expected.encode()


def test_merges_as_parsed_are_kept_and_others_converted() -> None:
    from lmio.tokenizer._tokenizer import merge_pairs

    parsed = [[256, 257], [1, 2]]
    assert merge_pairs(parsed) == ((256, 257), (1, 2))
    assert merge_pairs([(1.0, "2"), [True, 3]]) == ((1, 2), (1, 3))
    assert all(type(v) is int for pair in merge_pairs([(1.0, 2)]) for v in pair)
    with pytest.raises(ValueError):
        merge_pairs([[1, 2, 3]])


def test_truncated_file_is_a_clear_error(tok: Tokenizer, tmp_path: Path) -> None:
    path = tmp_path / "tok.json"
    tok.save(path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(FormatError, match="is not valid JSON"):
        Tokenizer.load(path)


def test_unknown_version_is_refused(tok: Tokenizer, tmp_path: Path) -> None:
    path = tmp_path / "tok.json"
    tok.save(path)
    body = json.loads(path.read_text())
    body["version"] = 99
    path.write_text(json.dumps(body))
    with pytest.raises(FormatError, match="format version 99, but this lmio reads version 1"):
        Tokenizer.load(path)


def test_other_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tok.json"
    path.write_text('{"model": {"type": "BPE"}}')
    with pytest.raises(FormatError, match=r"use Tokenizer\.from_hf"):
        Tokenizer.load(path)


def test_pickles_by_value(tok: Tokenizer) -> None:
    clone = pickle.loads(pickle.dumps(tok))
    assert clone == tok and clone.encode("pickled") == tok.encode("pickled")


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        ([bytes([b]) for b in range(255)], "single bytes are not tokens"),
        ([bytes([b]) for b in range(256)] + [b"a"], "each byte string may appear once"),
        ([bytes([b]) for b in range(256)] + [b""], "is empty"),
    ],
)
def test_invalid_vocabularies_are_refused(tokens: list[bytes], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        Tokenizer(tokens)


def test_special_ids_must_not_collide() -> None:
    tokens = [bytes([b]) for b in range(256)]
    with pytest.raises(InvalidArgumentError, match="ordinary token 3 already uses"):
        Tokenizer(tokens, special_tokens={"<s>": 3})
    with pytest.raises(InvalidArgumentError, match="share id 300"):
        Tokenizer(tokens, special_tokens={"<s>": 300, "</s>": 300})


def test_custom_pattern(pydoc: list[str]) -> None:
    words = r"\w+|\s+|[^\w\s]+"
    tok = Tokenizer.train(pydoc[:200], vocab_size=400, pattern=words, special_tokens=["<eos>"])
    assert tok.pattern_name is None and tok.pattern == words
    text = "custom patterns, too<eos>"
    assert tok.pretokenize("ab, cd") == ["ab", ",", " ", "cd"]
    assert tok.decode(tok.encode(text, allowed_special="all")) == text
    assert tok.encode(text, allowed_special="all")[-1] == tok.token_to_id("<eos>")
    assert tok.encode_batch([text], disallowed_special=())[0] == tok.encode_ordinary(text)


def test_bad_pattern_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="nor a valid regular expression"):
        Tokenizer([bytes([b]) for b in range(256)], pattern="(unclosed")
    with pytest.raises(InvalidArgumentError, match="matches the empty string"):
        Tokenizer([bytes([b]) for b in range(256)], pattern=r"\w*")
