"""Shared tokenizers and texts for the tokenizer tests (trained once per session)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmio.tokenizer import Tokenizer

ENGINES = ["native", "reference"]

SAMPLES = [
    "",
    "Hello, world! It's 2026; we'll see.\n\n  Indented   text\r\n\ttabs",
    "def f(x):\n    return x ** 2  # square\n",
    "中文文本，标点。日本語のテキスト한국어 텍스트",
    "emoji 👩‍👩‍👧‍👦 and flags 🇫🇷 skin 👍🏽",
    "RTL: مرحبا بالعالم שלום עולם",
    "combining: e\u0301 a\u0308 \u0915\u093f",
    "digits 1234567 ١٢٣ 12.5e-3",
]


def pydoc_texts() -> list[str]:
    from pydoc_data.topics import topics

    return [text for _, text in sorted(topics.items())]


def corpus_texts(shared: Path | None, max_bytes: int = 2_000_000) -> dict[str, list[str]]:
    """Real text by kind: ../shared/corpora when present, else Python's own documentation."""
    if shared is None:
        texts = pydoc_texts()
        return {"pydoc": texts}
    kinds = {
        "english": shared / "english" / "en_eltec_novels.jsonl",
        "chinese": shared / "chinese" / "zh_song_ci.jsonl",
        "code": shared / "code" / "code_python_stdlib.jsonl",
        "multilingual": shared / "multilingual" / "udhr_multilingual.jsonl",
    }
    out: dict[str, list[str]] = {}
    for kind, path in kinds.items():
        texts, size = [], 0
        with path.open(encoding="utf-8") as f:
            for line in f:
                text = json.loads(line)["text"][:200_000]
                texts.append(text)
                size += len(text)
                if size > max_bytes:
                    break
        out[kind] = texts
    return out


@pytest.fixture(scope="session")
def pydoc() -> list[str]:
    return pydoc_texts()


@pytest.fixture(scope="session", params=["gpt2", "gpt4", "o200k", "llama3"])
def trained(request: pytest.FixtureRequest, pydoc: list[str]) -> Tokenizer:
    """A 1,000-token tokenizer per named pattern, with two special tokens."""
    return Tokenizer.train(
        pydoc,
        vocab_size=1002,
        pattern=request.param,
        special_tokens=["<|endoftext|>", "<|pad|>"],
        engine="reference",
    )
