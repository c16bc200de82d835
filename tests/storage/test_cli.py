"""`--storage-option` on the command line, and the tokenizer trained from and saved to S3."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lmio.store import get_default_storage_options, write_bytes_atomic
from lmio.tokenizer import Tokenizer

from ._faults import FaultPlan, FaultProxy


def corpus() -> list[str]:
    from pydoc_data.topics import topics

    return [text for _, text in sorted(topics.items())[:40]]


def test_a_malformed_storage_option_is_a_one_line_error(cli: Callable[..., Any]) -> None:
    result = cli("--storage-option", "endpoint_url", "tokenizer", "info", "x.json")
    assert result.status == 1
    assert result.err.startswith("error: cannot read storage option 'endpoint_url'")


def test_storage_options_reach_the_library_for_the_command_only(
    cli: Callable[..., Any], bucket: str
) -> None:
    write_bytes_atomic(f"{bucket}/corpus/a.txt", b"some text")
    result = cli(
        "--storage-option", "retries=0", "tokenizer", "train", f"{bucket}/corpus/a.txt",
        "--vocab-size", "300", "-o", f"{bucket}/tok.json",
    )  # fmt: skip
    assert result.status == 1
    assert "retries must be at least 1" in result.err
    assert get_default_storage_options() == {}


def test_tokenizer_trains_from_s3_through_faults_and_saves_to_s3(
    cli: Callable[..., Any], bucket: str, fault_proxy: FaultProxy
) -> None:
    texts = corpus()
    for i, text in enumerate(texts):
        write_bytes_atomic(f"{bucket}/corpus/{i:03d}.txt", text.encode())
    fault_proxy.plan = FaultPlan(rate=0.2, kinds=["reset", "reset_mid", "slowdown"], seed=3)
    options = [
        f"endpoint_url={fault_proxy.endpoint}", "retry_base_delay=0.01", "retry_max_delay=0.1",
    ]  # fmt: skip
    result = cli(
        *[arg for option in options for arg in ("--storage-option", option)],
        "tokenizer", "train", f"{bucket}/corpus/*.txt", "--vocab-size", "400",
        "--threads", "1", "-o", f"{bucket}/tok.json",
    )  # fmt: skip
    assert result.status == 0, result.err
    assert fault_proxy.plan.total >= 5
    trained = Tokenizer.load(f"{bucket}/tok.json")
    local = Tokenizer.train(texts, vocab_size=400, num_threads=1)
    assert trained.checksum == local.checksum
