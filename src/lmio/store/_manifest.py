"""`manifest.json`: the index of a tokenized dataset, written last.

Its presence means the dataset is complete. It names the format and its version, the
tokenizer (a copy sits beside the shards) and its checksum, every shard with its rows,
documents, tokens, bytes, sha256 and per-row-group counts, the totals, the settings that made
it and what preparing it counted. Paths in it are relative to the dataset's folder.

A shard entry may also hold `ranges`: where each row group's bytes and the footer's lie,
with their sha256 (lmio.store._ranges), for reading a row group without the whole shard.
Readers that do not know it ignore it, so it needs no new version; those that use it check
it as they read it (ShardRanges.from_dict).
"""

from __future__ import annotations

import json
from typing import Any

from lmio._version import __version__
from lmio.errors import FormatError
from lmio.store._paths import check_relative

__all__ = [
    "FORMAT",
    "MANIFEST_NAME",
    "TOKENIZER_NAME",
    "VERSION",
    "dump_manifest",
    "parse_manifest",
    "shard_path",
]

FORMAT = "lmio.dataset"
VERSION = 1
MANIFEST_NAME = "manifest.json"
TOKENIZER_NAME = "tokenizer.json"
DATA_DIR = "data"

_SHARD_KEYS = (
    "path",
    "rows",
    "documents",
    "tokens",
    "bytes",
    "checksum",
    "row_group_rows",
    "row_group_tokens",
)


def shard_path(index: int) -> str:
    """The relative path of shard `index`: `data/shard-00000.parquet`."""
    return f"{DATA_DIR}/shard-{index:05d}.parquet"


def dump_manifest(
    *,
    tokenizer: dict[str, Any],
    token_type: str,
    writer: dict[str, Any],
    shards: list[dict[str, Any]],
    settings: dict[str, Any],
    inputs: list[dict[str, Any]],
    report: dict[str, Any],
) -> bytes:
    """The manifest's bytes: the same dataset always gives the same bytes."""
    totals = {
        "shards": len(shards),
        "documents": sum(int(s["documents"]) for s in shards),
        "rows": sum(int(s["rows"]) for s in shards),
        "tokens": sum(int(s["tokens"]) for s in shards),
        "bytes": sum(int(s["bytes"]) for s in shards),
    }
    body = {
        "format": FORMAT,
        "version": VERSION,
        "created_by": f"lmio {__version__}",
        "tokenizer": tokenizer,
        "token_type": token_type,
        "columns": {
            "tokens": f"list<{token_type}>",
            "doc_id": "uint64",
            "source": "string",
            "n_tokens": "uint32",
        },
        "writer": writer,
        "totals": totals,
        "shards": shards,
        "settings": settings,
        "inputs": inputs,
        "report": report,
    }
    return (json.dumps(body, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def parse_manifest(data: bytes, url: str) -> dict[str, Any]:
    """The manifest as a dict, after checking its format, version, paths and shard entries."""
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{url} is not valid JSON ({exc}); the dataset is damaged") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        found = body.get("format") if isinstance(body, dict) else type(body).__name__
        raise FormatError(
            f"{url} is not an lmio dataset manifest (format {found!r}, expected {FORMAT!r})"
        )
    version = body.get("version")
    if version != VERSION:
        raise FormatError(
            f"{url} is an lmio dataset of format version {version!r}; this lmio ({__version__}) "
            f"reads version {VERSION} only: open it with the lmio that wrote it "
            f"({body.get('created_by', 'unknown')}) or a newer one"
        )
    for key in ("tokenizer", "token_type", "shards", "totals"):
        if key not in body:
            raise FormatError(f"{url} has no {key!r} entry; the manifest is damaged")
    if body["token_type"] not in ("uint16", "uint32"):
        raise FormatError(f"{url} names an unknown token type {body['token_type']!r}")
    check_relative(body["tokenizer"].get("path"), source=url)
    for shard in body["shards"]:
        missing = [key for key in _SHARD_KEYS if key not in shard]
        if missing:
            raise FormatError(f"{url} has a shard entry without {', '.join(missing)}: {shard}")
        check_relative(shard["path"], source=url)
    return body
