"""Saving and loading: safetensors weights plus a versioned, checksummed config.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from lmio.errors import FormatError, IntegrityError, NotFoundError
from lmio.model import GPT, load_model, save_model


def test_round_trip_gives_identical_logits(tiny: GPT, tmp_path: Path) -> None:
    save_model(tiny, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded.config == tiny.config
    idx = torch.randint(0, 256, (2, 32))
    with torch.no_grad():
        assert torch.equal(loaded(idx), tiny(idx))
    assert loaded.head.weight is loaded.tok_emb.weight


def test_directory_holds_exactly_the_two_files(tiny: GPT, tmp_path: Path) -> None:
    save_model(tiny, tmp_path)
    save_model(tiny, tmp_path)  # overwriting leaves no temporary files behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]
    meta = json.loads((tmp_path / "config.json").read_text())
    assert meta["format"] == "lmio.gpt"
    assert meta["format_version"] == 1
    assert meta["config"]["vocab_size"] == 256
    assert meta["weights"]["bytes"] == (tmp_path / "model.safetensors").stat().st_size


def test_unknown_format_version_is_refused(tiny: GPT, tmp_path: Path) -> None:
    save_model(tiny, tmp_path)
    meta = json.loads((tmp_path / "config.json").read_text())
    meta["format_version"] = 99
    (tmp_path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(FormatError, match=r"format_version 99, but lmio .* reads version 1 only"):
        load_model(tmp_path)


def test_damaged_weights_are_detected(tiny: GPT, tmp_path: Path) -> None:
    save_model(tiny, tmp_path)
    weights = tmp_path / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"does not match the checksum"):
        load_model(tmp_path)


def test_config_that_does_not_fit_the_weights_is_a_format_error(tiny: GPT, tmp_path: Path) -> None:
    save_model(tiny, tmp_path)
    meta = json.loads((tmp_path / "config.json").read_text())
    meta["config"]["n_layer"] = 3
    (tmp_path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(FormatError, match=r"does not fit the config"):
        load_model(tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"format": "something-else"}', "is not a lmio model config"),
        (
            '{"format": "lmio.gpt", "format_version": 1, "config": {"n_embd": 3}, "weights": {}}',
            "invalid model config: unknown GPTConfig option",
        ),
    ],
)
def test_bad_config_files_are_refused(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "config.json").write_text(content)
    with pytest.raises(FormatError, match=message):
        load_model(tmp_path)


def test_missing_directory_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"no lmio model at .*nowhere .*lmio train --out DIR"):
        load_model(tmp_path / "nowhere")
    with pytest.raises(NotFoundError, match=r"config.json not found"):
        load_model(tmp_path)
