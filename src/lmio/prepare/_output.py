"""The output folder: is it new, an unfinished run of this job, this job done, or something else?

A job is identified by its settings, its inputs (names and sizes) and the tokenizer's
checksum. The same job continues or is found complete; a different one is refused, never
written over, unless the caller asks to overwrite an lmio dataset. A folder holding anything
lmio did not write is refused even then.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from lmio.errors import DataError
from lmio.prepare._layout import OWNED, Layout
from lmio.store._files import exists, list_names, read_bytes, remove, url_join, write_bytes_atomic
from lmio.store._manifest import DATA_DIR, parse_manifest

__all__ = [
    "JOB_FORMAT",
    "OutputState",
    "claim_output",
    "job_identity",
    "publish",
    "read_complete",
    "remove_owned",
]

JOB_FORMAT = "lmio.prepare-job"
OutputState = Literal["new", "resume", "complete"]


def job_identity(
    *, settings: dict[str, Any], inputs: list[dict[str, Any]], tokenizer_checksum: str
) -> dict[str, Any]:
    """What decides a dataset's bytes; equal identities make equal datasets."""
    return {"tokenizer": tokenizer_checksum, "settings": settings, "inputs": inputs}


def claim_output(
    layout: Layout,
    identity: dict[str, Any],
    *,
    unit_bytes: int,
    overwrite: bool,
    storage_options: dict[str, Any] | None,
) -> OutputState:
    """Decide what to do with the output folder, and record the job in it when it is new.

    An unfinished run made with another `unit_bytes` has its work cut differently: that work
    is dropped and the run starts over in the same folder.
    """
    names = list_names(layout.out, storage_options=storage_options)
    foreign = [name for name in names if name not in OWNED]
    if foreign:
        raise DataError(
            f"the output folder {layout.out} holds files lmio did not write "
            f"({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''}); "
            "choose a new or empty folder for the dataset"
        )
    state: OutputState = "new"
    if names:
        existing = _existing_identity(layout, storage_options)
        if overwrite:
            remove_owned(layout, storage_options)
        elif existing is None:
            raise DataError(
                f"{layout.out} holds an unfinished lmio dataset whose job record is missing; "
                "delete the folder, or pass overwrite=True (--overwrite)"
            )
        elif existing != identity:
            raise DataError(
                f"{layout.out} holds a different dataset ({_difference(existing, identity)}); "
                "choose a new output folder, delete this one, or pass overwrite=True "
                "(--overwrite) to replace it"
            )
        elif exists(layout.manifest, storage_options=storage_options):
            state = "complete"
        elif _job_unit_bytes(layout, storage_options) == unit_bytes:
            state = "resume"
        else:
            remove_owned(layout, storage_options)
    if state == "new":
        body = {"format": JOB_FORMAT, "version": 1, **identity, "unit_bytes": unit_bytes}
        write_bytes_atomic(
            layout.job, json.dumps(body, indent=1).encode(), storage_options=storage_options
        )
    return state


def remove_owned(layout: Layout, storage_options: dict[str, Any] | None) -> None:
    """Delete what a prepare run writes in the folder (and nothing else)."""
    for name in sorted(OWNED):
        remove(url_join(layout.out, name), recursive=True, storage_options=storage_options)


def _job_unit_bytes(layout: Layout, storage_options: dict[str, Any] | None) -> int | None:
    body = json.loads(read_bytes(layout.job, storage_options=storage_options))
    value = body.get("unit_bytes")
    return int(value) if value is not None else None


def _existing_identity(
    layout: Layout, storage_options: dict[str, Any] | None
) -> dict[str, Any] | None:
    if exists(layout.manifest, storage_options=storage_options):
        body = parse_manifest(
            read_bytes(layout.manifest, storage_options=storage_options), layout.manifest
        )
        return job_identity(
            settings=body.get("settings", {}),
            inputs=body.get("inputs", []),
            tokenizer_checksum=body["tokenizer"]["checksum"],
        )
    if not exists(layout.job, storage_options=storage_options):
        return None
    try:
        body = json.loads(read_bytes(layout.job, storage_options=storage_options))
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("format") != JOB_FORMAT:
        return None
    return job_identity(
        settings=body.get("settings", {}),
        inputs=body.get("inputs", []),
        tokenizer_checksum=body.get("tokenizer", ""),
    )


def _difference(existing: dict[str, Any], wanted: dict[str, Any]) -> str:
    if existing["tokenizer"] != wanted["tokenizer"]:
        return f"made with tokenizer {existing['tokenizer']}, not {wanted['tokenizer']}"
    old_settings, new_settings = existing["settings"], wanted["settings"]
    changed = sorted(
        key
        for key in set(old_settings) | set(new_settings)
        if old_settings.get(key) != new_settings.get(key)
    )
    if changed:
        key = changed[0]
        return f"{key} was {old_settings.get(key)!r}, now {new_settings.get(key)!r}"
    old_inputs, new_inputs = existing["inputs"], wanted["inputs"]
    if len(old_inputs) != len(new_inputs):
        return f"made from {len(old_inputs)} input files, now {len(new_inputs)}"
    for old, new in zip(old_inputs, new_inputs, strict=True):
        if old != new:
            return f"made from input {old}, now {new}"
    return "its job record differs"  # pragma: no cover - identities differ somewhere above


def publish(
    layout: Layout,
    *,
    manifest: bytes,
    shard_names: set[str],
    storage_options: dict[str, Any] | None,
) -> None:
    """Make the dataset complete: drop leftovers of killed shard writes, write the manifest
    (last, atomically), then remove the work folder."""
    data_dir = url_join(layout.out, DATA_DIR)
    for name in list_names(data_dir, storage_options=storage_options):
        if name not in shard_names:
            remove(url_join(data_dir, name), storage_options=storage_options)
    write_bytes_atomic(layout.manifest, manifest, storage_options=storage_options)
    remove(layout.work, recursive=True, storage_options=storage_options)


def read_complete(layout: Layout, storage_options: dict[str, Any] | None) -> dict[str, Any]:
    """The manifest of a complete dataset, after removing a work folder left behind."""
    body = parse_manifest(
        read_bytes(layout.manifest, storage_options=storage_options), layout.manifest
    )
    remove(layout.work, recursive=True, storage_options=storage_options)
    return body
