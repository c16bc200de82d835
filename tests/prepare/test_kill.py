"""Runs killed mid-way (SIGKILL: a worker, or the parent with its workers) and rerun write
exactly what an uninterrupted run writes: nothing lost, nothing duplicated.

JSON lines take the native path, on worker threads; LMIO_PREPARE_NATIVE=0 sends them down the
Python path, on worker processes, which can be killed one by one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from lmio.prepare import prepare

from ._helpers import tree

OPTIONS = ["--unit-size", "64kB", "--shard-size", "60kB", "--row-group-tokens", "8000"]


@pytest.fixture(scope="module")
def big_corpus(texts: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 3 MB of JSON lines: ~45 units and ~20 shards, a few seconds of work."""
    root = tmp_path_factory.mktemp("big")
    with (root / "corpus.jsonl").open("w") as out:
        for copy in range(6):
            for i, text in enumerate(texts):
                out.write(json.dumps({"text": f"{copy}.{i}\n{text}"}) + "\n")
    return root / "corpus.jsonl"


@pytest.fixture(scope="module")
def uninterrupted(
    big_corpus: Path, tokenizer_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    out = tmp_path_factory.mktemp("whole") / "ds"
    prepare(
        [big_corpus],
        tokenizer=tokenizer_file,
        out=out,
        workers=1,
        unit_size="64kB",
        shard_size="60kB",
        row_group_tokens=8000,
    )
    return tree(out)


PROCESSES = {"LMIO_PREPARE_NATIVE": "0"}


def _start(
    corpus: Path, tokenizer_file: Path, out: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "lmio",
        "-q",
        "prepare",
        str(corpus),
        "-t",
        str(tokenizer_file),
        "-o",
        str(out),
        "--workers",
        "2",
        *OPTIONS,
    ]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )


def _wait_for(folder: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while len(list(folder.glob("*.json"))) < count:
        assert process.poll() is None, (
            f"the run ended before it could be killed: {process.communicate()}"
        )
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.005)


def _rerun(corpus: Path, tokenizer_file: Path, out: Path) -> None:
    process = _start(corpus, tokenizer_file, out)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err


def test_a_killed_worker_stops_the_run_and_a_rerun_finishes_it(
    big_corpus: Path, tokenizer_file: Path, tmp_path: Path, uninterrupted: dict[str, str]
) -> None:
    out = tmp_path / "ds"
    process = _start(big_corpus, tokenizer_file, out, PROCESSES)
    _wait_for(out / ".lmio-work" / "units", 2, process)
    workers = [
        child
        for child in psutil.Process(process.pid).children()
        if "spawn_main" in " ".join(child.cmdline())
        and "resource_tracker" not in " ".join(child.cmdline())
    ]
    os.kill(workers[0].pid, signal.SIGKILL)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "a worker process died" in err and "rerun the same command to continue" in err
    assert not (out / "manifest.json").exists()
    _rerun(big_corpus, tokenizer_file, out)
    assert tree(out) == uninterrupted


@pytest.mark.parametrize(
    "case",
    [("units", None), ("shards", None), ("units", PROCESSES), ("shards", PROCESSES)],
    ids=["units-threads", "shards-threads", "units-processes", "shards-processes"],
)
def test_a_killed_run_with_its_workers_is_continued_by_a_rerun(
    big_corpus: Path,
    tokenizer_file: Path,
    tmp_path: Path,
    uninterrupted: dict[str, str],
    case: tuple[str, dict[str, str] | None],
) -> None:
    phase, env = case
    out = tmp_path / "ds"
    process = _start(big_corpus, tokenizer_file, out, env)
    _wait_for(out / ".lmio-work" / phase, 3, process)
    os.killpg(process.pid, signal.SIGKILL)  # the parent and its workers, at once
    process.communicate(timeout=60)
    assert not (out / "manifest.json").exists()
    _rerun(big_corpus, tokenizer_file, out)
    assert tree(out) == uninterrupted
