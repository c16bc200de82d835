"""lmio == tiktoken == HF tokenizers: the same ids from the same vocabulary, both directions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tiktoken
from hypothesis import HealthCheck, given, settings
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from lmio.errors import FormatError
from lmio.tokenizer import Tokenizer

from .conftest import SAMPLES, corpus_texts
from .strategies import TRICKY_TEXT

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def hf_files(trained: Tokenizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hf") / trained.pattern_name
    trained.save_hf(folder)
    return folder


def texts(shared: Path | None) -> list[str]:
    return [t for kind in corpus_texts(shared, max_bytes=300_000).values() for t in kind][:300]


@pytest.fixture(scope="module")
def real_text(request: pytest.FixtureRequest) -> list[str]:
    shared = Path(__file__).resolve().parents[3] / "shared" / "corpora"
    return texts(shared if shared.is_dir() else None) + SAMPLES


def test_to_tiktoken_encodes_identically(trained: Tokenizer, real_text: list[str]) -> None:
    enc = trained.to_tiktoken()
    assert enc.n_vocab == trained.vocab_size
    for text in real_text:
        assert trained.encode(text, allowed_special="all") == enc.encode(
            text, allowed_special="all"
        )


@FUZZ
@given(text=TRICKY_TEXT)
def test_tricky_unicode_matches_tiktoken(trained: Tokenizer, text: str) -> None:
    enc = trained.to_tiktoken()
    assert trained.encode_ordinary(text) == enc.encode_ordinary(text)


def test_from_tiktoken_round_trip(trained: Tokenizer) -> None:
    back = Tokenizer.from_tiktoken(trained.to_tiktoken())
    assert back == trained


def test_from_tiktoken_accepts_gaps_before_special_ids(trained: Tokenizer) -> None:
    # cl100k-style: special ids far above the ordinary ones.
    enc = tiktoken.Encoding(
        "gappy",
        pat_str=trained.pattern,
        mergeable_ranks=trained.mergeable_ranks,
        special_tokens={"<|endoftext|>": 5000},
    )
    tok = Tokenizer.from_tiktoken(enc)
    assert tok.vocab_size == 5001
    assert tok.encode("a<|endoftext|>", allowed_special="all") == enc.encode(
        "a<|endoftext|>", allowed_special="all"
    )


def test_save_hf_encodes_identically(
    trained: Tokenizer, hf_files: Path, real_text: list[str]
) -> None:
    hf = HFTokenizer.from_file(str(hf_files / "tokenizer.json"))
    fast = PreTrainedTokenizerFast(tokenizer_file=str(hf_files / "tokenizer.json"))
    for text in real_text:
        ids = trained.encode(text, allowed_special="all")
        assert hf.encode(text, add_special_tokens=False).ids == ids
        assert fast.encode(text, add_special_tokens=False) == ids
        assert hf.decode(ids, skip_special_tokens=False) == trained.decode(ids)


@FUZZ
@given(text=TRICKY_TEXT)
def test_tricky_unicode_matches_hf(trained: Tokenizer, hf_files: Path, text: str) -> None:
    hf = HFTokenizer.from_file(str(hf_files / "tokenizer.json"))
    assert hf.encode(text, add_special_tokens=False).ids == trained.encode(
        text, allowed_special="all"
    )


def test_save_hf_writes_a_transformers_folder(trained: Tokenizer, hf_files: Path) -> None:
    config = json.loads((hf_files / "tokenizer_config.json").read_text())
    assert config["eos_token"] == "<|endoftext|>"


def _hf_byte_level(texts: list[str], vocab_size: int) -> HFTokenizer:
    hf = HFTokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = __import__("tokenizers").decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
        show_progress=False,
    )
    hf.train_from_iterator(texts, trainer)
    hf.add_special_tokens(["<|endoftext|>"])
    return hf


def test_from_hf_reads_gpt2_style_files(
    pydoc: list[str], real_text: list[str], tmp_path: Path
) -> None:
    hf = _hf_byte_level(pydoc, 800)
    path = tmp_path / "tokenizer.json"
    hf.save(str(path))
    tok = Tokenizer.from_hf(path)
    assert tok.pattern_name == "gpt2"
    assert tok.special_tokens == {"<|endoftext|>": 800}
    for text in real_text:
        assert tok.encode(text, allowed_special="all") == hf.encode(text).ids


def test_from_hf_round_trips_save_hf(trained: Tokenizer, hf_files: Path) -> None:
    assert Tokenizer.from_hf(hf_files) == trained


def test_from_hf_refuses_other_models(tmp_path: Path) -> None:
    hf = HFTokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]"))
    path = tmp_path / "tokenizer.json"
    hf.save(str(path))
    with pytest.raises(FormatError, match="holds a WordLevel model; lmio reads byte-level BPE"):
        Tokenizer.from_hf(path)


def _hf_pieces(hf: HFTokenizer, text: str) -> list[str]:
    from lmio.tokenizer._byte_level import decode_byte_level

    pieces = [decode_byte_level(piece) for piece, _ in hf.pre_tokenizer.pre_tokenize_str(text)]
    return [piece.decode("utf-8", "replace") for piece in pieces]


def test_save_hf_pre_tokenizes_identically(
    trained: Tokenizer, hf_files: Path, real_text: list[str]
) -> None:
    # Compared piece by piece, independent of the vocabulary: a small vocabulary can hide a
    # split that differs (digits 1851 as 185|1 or 1851 both encode to four byte tokens).
    hf = HFTokenizer.from_file(str(hf_files / "tokenizer.json"))
    for text in [*real_text, "in 1851, 1234567 and 12.5e-3", "x0010 = 0x1F; ٣٤٥٦"]:
        assert _hf_pieces(hf, text) == trained.pretokenize(text)


@FUZZ
@given(text=TRICKY_TEXT)
def test_tricky_unicode_pre_tokenizes_like_hf(
    trained: Tokenizer, hf_files: Path, text: str
) -> None:
    hf = HFTokenizer.from_file(str(hf_files / "tokenizer.json"))
    assert _hf_pieces(hf, text) == trained.pretokenize(text)


def test_possessive_bounded_quantifiers_are_spelled_for_oniguruma() -> None:
    from lmio.errors import InvalidArgumentError
    from lmio.tokenizer._hf import from_oniguruma, to_oniguruma
    from lmio.tokenizer._patterns import GPT4

    spelled = to_oniguruma(GPT4)
    assert r"\p{N}{1,3}|" in spelled and r"{1,3}+" not in spelled
    assert from_oniguruma(spelled, "x") == GPT4
    with pytest.raises(InvalidArgumentError, match="possessive bounded quantifier"):
        to_oniguruma(r"\d{1,3}+|\s+|\D")
    with pytest.raises(FormatError, match="repeats a bounded quantifier"):
        from_oniguruma(r"\d{1,3}+|\s+|\D", "tokenizer.json")
