"""A small tokenizer and corpus for the prepare tests (Python's own documentation)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmio.tokenizer import Tokenizer


def pydoc_texts() -> list[str]:
    from pydoc_data.topics import topics

    return [text for _, text in sorted(topics.items())]


@pytest.fixture(scope="session")
def texts() -> list[str]:
    return pydoc_texts()


@pytest.fixture(scope="session")
def tokenizer(texts: list[str]) -> Tokenizer:
    return Tokenizer.train(texts, vocab_size=1000, special_tokens=["<|endoftext|>"])


@pytest.fixture(scope="session")
def tokenizer_file(tokenizer: Tokenizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tokenizer") / "tok.json"
    tokenizer.save(path)
    return path


@pytest.fixture(scope="session")
def corpus(texts: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three files in three formats, with a duplicate across files and one inside a file."""
    root = tmp_path_factory.mktemp("corpus")
    first = [*texts[:40], texts[0]]
    (root / "a.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in first))
    (root / "b.txt").write_text("\n\n".join([*texts[40:60], texts[5]]))
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": texts[60:]}), root / "c.parquet")
    return root
