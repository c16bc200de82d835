"""Saving and loading a GPT: `model.safetensors` plus `config.json`, each written atomically.

The weights are written first and `config.json` last: it records the weights' SHA-256, so a
directory with a config.json is complete, and a crash mid-save leaves at worst weights that
no config vouches for (and loading refuses them). Nothing here unpickles. The directory may be
a local path or any URL `lmio.store` reaches.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import torch

from lmio._version import __version__
from lmio.errors import FormatError, IntegrityError, InvalidArgumentError, NotFoundError
from lmio.model._config import GPTConfig
from lmio.model._gpt import GPT
from lmio.store import read_bytes, url_join, write_bytes_atomic

__all__ = ["CONFIG_FILE", "FORMAT", "FORMAT_VERSION", "WEIGHTS_FILE", "load_model", "save_model"]

FORMAT = "lmio.gpt"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
# The output head shares the token embedding's tensor: stored once, under the embedding's name.
_TIED = "head.weight"


def save_model(
    model: GPT,
    directory: str | os.PathLike[str],
    *,
    storage_options: dict[str, Any] | None = None,
) -> str:
    """Write `model` to `directory` (created if needed; a URL takes `storage_options`, as
    every lmio.store call does); returns the directory."""
    from safetensors.torch import save

    if not isinstance(model, GPT):
        raise InvalidArgumentError(f"save_model saves a lmio GPT, got {type(model).__name__}")
    state = {
        name: tensor.detach().to("cpu").contiguous()
        for name, tensor in model.state_dict().items()
        if name != _TIED
    }
    weights = save(state, metadata={"format": FORMAT})
    write_bytes_atomic(url_join(directory, WEIGHTS_FILE), weights, storage_options=storage_options)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "written_by": f"lmio {__version__}",
        "config": model.config.to_dict(),
        "weights": {
            "file": WEIGHTS_FILE,
            "bytes": len(weights),
            "sha256": hashlib.sha256(weights).hexdigest(),
        },
    }
    text = json.dumps(meta, indent=2) + "\n"
    write_bytes_atomic(
        url_join(directory, CONFIG_FILE), text.encode("utf-8"), storage_options=storage_options
    )
    return os.fspath(directory)


def load_model(
    directory: str | os.PathLike[str],
    *,
    device: str | torch.device = "cpu",
    storage_options: dict[str, Any] | None = None,
) -> GPT:
    """Read a model written by `save_model`, checking the weights against their checksum."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    config_url = url_join(directory, CONFIG_FILE)
    try:
        meta = _parse_meta(read_bytes(config_url, storage_options=storage_options), config_url)
    except NotFoundError:
        raise NotFoundError(
            f"no lmio model at {os.fspath(directory)} ({CONFIG_FILE} not found): pass a "
            "directory written by `lmio train --out DIR` or lmio.model.save_model"
        ) from None
    try:
        config = GPTConfig.from_dict(meta["config"])
    except (InvalidArgumentError, TypeError) as exc:
        raise FormatError(f"{config_url} holds an invalid model config: {exc}") from exc
    weights_url = url_join(directory, WEIGHTS_FILE)
    weights = read_bytes(weights_url, storage_options=storage_options)
    expected, actual = meta["weights"].get("sha256"), hashlib.sha256(weights).hexdigest()
    if actual != expected:  # damaged on the way, perhaps: read it once more
        weights = read_bytes(weights_url, storage_options=storage_options)
        actual = hashlib.sha256(weights).hexdigest()
    if actual != expected:
        raise IntegrityError(
            f"{weights_url} does not match the checksum in {CONFIG_FILE} (sha256 {actual}, "
            f"expected {expected}): the file is damaged or was replaced; save the model again"
        )
    model = GPT(config)
    try:
        missing, unexpected = model.load_state_dict(load(weights), strict=False)
    except (RuntimeError, SafetensorError) as exc:
        raise FormatError(f"{weights_url} does not fit the config in {config_url}: {exc}") from exc
    if missing != [_TIED] or unexpected:
        raise FormatError(
            f"{weights_url} does not fit the config in {config_url}: missing "
            f"{[m for m in missing if m != _TIED]}, unexpected {unexpected}"
        )
    return model.to(device)


def _parse_meta(data: bytes, config_url: str) -> dict[str, Any]:
    try:
        meta = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{config_url} is not valid JSON ({exc}): save the model again") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise FormatError(f'{config_url} is not a lmio model config (no "format": "{FORMAT}")')
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise FormatError(
            f"{config_url} has format_version {version!r}, but lmio {__version__} reads "
            f"version {FORMAT_VERSION} only: load it with the lmio that wrote it "
            f"({meta.get('written_by', 'unknown')}) or a newer one"
        )
    if not isinstance(meta.get("config"), dict) or not isinstance(meta.get("weights"), dict):
        raise FormatError(f"{config_url} lacks its 'config' or 'weights' section")
    return meta
