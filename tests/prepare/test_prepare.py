"""`prepare`: round trip, determinism, the output format and its readers, resume, refusals."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from lmio.errors import DataError, InvalidArgumentError
from lmio.prepare import Documents, prepare
from lmio.store import open_dataset
from lmio.text import CleanOptions, clean
from lmio.tokenizer import Tokenizer

from ._helpers import tree

SMALL = {"shard_size": "40kB", "row_group_tokens": 4000, "split": "paragraph"}


def _inputs(corpus: Path) -> list[str]:
    return [str(corpus)]


def _expected_documents(corpus: Path, texts: list[str]) -> list[str]:
    """The corpus's documents in global order, cleaned, first occurrences only."""
    b = "\n\n".join([*texts[40:60], texts[5]])
    paragraphs = [p for p in b.split("\n\n") if p.strip()]
    raw = [*texts[:40], texts[0], *paragraphs, *texts[60:]]
    seen: set[str] = set()
    out = []
    for text in raw:
        cleaned = clean(text)
        if cleaned and cleaned not in seen:
            seen.add(cleaned)
            out.append(cleaned)
    return out


@pytest.fixture(scope="module")
def one_worker(
    corpus: Path, tokenizer_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("one") / "ds"
    prepare(_inputs(corpus), tokenizer=tokenizer_file, out=out, workers=1, **SMALL)  # type: ignore[arg-type]
    return out


def test_decoding_the_dataset_gives_back_the_cleaned_documents(
    one_worker: Path, corpus: Path, texts: list[str], tokenizer: Tokenizer
) -> None:
    dataset = open_dataset(one_worker)
    decoded = []
    for tokens in dataset.iter_documents():
        assert tokens[-1] == tokenizer.eos_id
        decoded.append(tokenizer.decode(tokens[:-1]))
    assert decoded == _expected_documents(corpus, texts)
    assert dataset.num_documents == len(decoded)


def test_any_worker_count_writes_the_same_bytes(
    one_worker: Path, corpus: Path, tokenizer_file: Path, tmp_path: Path
) -> None:
    # Small units, so the JSON-lines file is read in byte ranges by both workers.
    report = prepare(
        _inputs(corpus),
        tokenizer=tokenizer_file,
        out=tmp_path / "ds",
        workers=2,
        unit_size="48kB",
        **SMALL,  # type: ignore[arg-type]
    )
    assert report.units > 4
    assert tree(tmp_path / "ds") == tree(one_worker)


def test_the_manifest_describes_every_shard(one_worker: Path, tokenizer: Tokenizer) -> None:
    manifest = json.loads((one_worker / "manifest.json").read_bytes())
    assert manifest["format"] == "lmio.dataset" and manifest["version"] == 1
    assert manifest["tokenizer"]["checksum"] == tokenizer.checksum
    assert Tokenizer.load(one_worker / "tokenizer.json").checksum == tokenizer.checksum
    assert manifest["token_type"] == "uint16"
    assert manifest["writer"]["options"]["compression"] == "zstd"
    assert manifest["settings"]["clean"]["normalization"] == "NFC"
    shards = manifest["shards"]
    assert len(shards) > 3
    for shard in shards:
        path = one_worker / shard["path"]
        assert not Path(shard["path"]).is_absolute()
        assert "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest() == shard["checksum"]
        assert path.stat().st_size == shard["bytes"]
        parquet = pq.ParquetFile(path)
        assert parquet.metadata.num_rows == shard["rows"]
        assert [
            parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups)
        ] == shard["row_group_rows"]
        assert sum(shard["row_group_tokens"]) == shard["tokens"]
    totals = manifest["totals"]
    assert totals["tokens"] == sum(s["tokens"] for s in shards)
    assert totals["shards"] == len(shards)
    counts = manifest["report"]
    dropped = counts["clean"]["too_short"] + counts["clean"]["duplicates"]
    assert counts["read"]["documents"] - dropped == totals["documents"]
    assert counts["clean"]["duplicates"] >= 2  # one across files, one inside a file, and more
    assert not (one_worker / ".lmio-work").exists()


def test_row_groups_and_shards_follow_the_size_targets(one_worker: Path) -> None:
    dataset = open_dataset(one_worker)
    for shard in dataset.shards[:-1]:
        # A shard closes at the first row that brings it to 40 kB of tokens.
        assert shard.tokens * 2 >= 40_000
        assert all(t >= 4000 for t in shard.row_group_tokens[:-1])


def test_doc_ids_come_from_source_and_byte_offset(
    one_worker: Path, corpus: Path, texts: list[str]
) -> None:
    table = pq.read_table(one_worker / "data" / "shard-00000.parquet")
    source = str(corpus / "a.jsonl")
    assert table.column("source")[0].as_py() == source
    assert table.column("doc_id")[0].as_py() == _splitmix64(_h(source) + 0)
    key = table.column("doc_id")[1].as_py()
    offset = len(json.dumps({"text": texts[0]})) + 1
    assert key == _splitmix64(_h(source) + offset)


def _h(source: str) -> int:
    return int.from_bytes(hashlib.blake2b(source.encode(), digest_size=8).digest(), "little")


def _splitmix64(x: int) -> int:
    mask = (1 << 64) - 1
    z = (x + 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)
    assert (
        len(set(pq.read_table(one_worker / "data").column("doc_id").to_pylist()))
        == open_dataset(one_worker).num_rows
    )


def test_pyarrow_pandas_duckdb_and_hf_datasets_read_the_shards(
    one_worker: Path, tmp_path: Path
) -> None:
    import duckdb
    import pandas as pd

    expected = open_dataset(one_worker).num_tokens
    data = str(one_worker / "data")
    assert sum(len(t) for t in pq.read_table(data).column("tokens").to_pylist()) == expected
    frame = pd.read_parquet(data)
    assert int(frame["n_tokens"].sum()) == expected
    query = f"select sum(len(tokens)) from '{data}/*.parquet'"
    assert duckdb.sql(query).fetchall() == [(expected,)]
    datasets = pytest.importorskip("datasets")
    hf = datasets.load_dataset(
        "parquet", data_dir=data, split="train", cache_dir=str(tmp_path / "hf")
    )
    assert sum(hf["n_tokens"]) == expected


def test_a_rerun_finds_the_dataset_complete(
    one_worker: Path, corpus: Path, tokenizer_file: Path
) -> None:
    before = tree(one_worker)
    report = prepare(_inputs(corpus), tokenizer=tokenizer_file, out=one_worker, workers=1, **SMALL)  # type: ignore[arg-type]
    assert report.already_complete and report.documents == open_dataset(one_worker).num_documents
    assert tree(one_worker) == before


def test_a_rerun_continues_from_finished_units_and_shards(
    one_worker: Path, corpus: Path, tokenizer_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ds"
    options = {**SMALL, "unit_size": "48kB"}
    prepare(_inputs(corpus), tokenizer=tokenizer_file, out=out, workers=1, **options)  # type: ignore[arg-type]
    # Make it look interrupted: no manifest, the work records of a finished run are back,
    # one shard is gone and another is damaged.
    (out / "manifest.json").unlink()
    work = tmp_path / "work"
    _rebuild_work(corpus, tokenizer_file, work, options)
    (work / ".lmio-work").rename(out / ".lmio-work")
    (out / "data" / "shard-00001.parquet").unlink()
    damaged = out / "data" / "shard-00002.parquet"
    damaged.write_bytes(damaged.read_bytes()[:-10] + b"0123456789")
    report = prepare(_inputs(corpus), tokenizer=tokenizer_file, out=out, workers=1, **options)  # type: ignore[arg-type]
    assert report.units_resumed == report.units
    assert report.shards_resumed == report.shards - 2
    assert tree(out) == tree(one_worker)


def _rebuild_work(
    corpus: Path, tokenizer_file: Path, root: Path, options: dict[str, object]
) -> None:
    """A run's work folder as it is just before the manifest: run it, stop before publishing."""

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("lmio.prepare._pipeline.publish", interrupted)
        with pytest.raises(KeyboardInterrupt):
            prepare(_inputs(corpus), tokenizer=tokenizer_file, out=root, workers=1, **options)  # type: ignore[arg-type]


def test_a_folder_with_a_different_dataset_is_refused(
    one_worker: Path, corpus: Path, tokenizer_file: Path
) -> None:
    before = tree(one_worker)
    with pytest.raises(
        DataError, match=r"holds a different dataset \(shard_bytes was 40000, now 50000\)"
    ):
        prepare(
            _inputs(corpus),
            tokenizer=tokenizer_file,
            out=one_worker,
            **{**SMALL, "shard_size": "50kB"},
        )  # type: ignore[arg-type]
    with pytest.raises(DataError, match="made from 3 input files, now 1"):
        prepare([str(corpus / "a.jsonl")], tokenizer=tokenizer_file, out=one_worker, **SMALL)  # type: ignore[arg-type]
    assert tree(one_worker) == before


def test_overwrite_replaces_an_lmio_dataset_but_never_foreign_files(
    corpus: Path, tokenizer_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ds"
    prepare([str(corpus / "a.jsonl")], tokenizer=tokenizer_file, out=out, workers=1)
    report = prepare(
        [str(corpus / "c.parquet")], tokenizer=tokenizer_file, out=out, workers=1, overwrite=True
    )
    assert open_dataset(out).num_documents == report.documents
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match=r"holds files lmio did not write \(notes\.txt\)"):
        prepare(
            [str(corpus / "a.jsonl")],
            tokenizer=tokenizer_file,
            out=tmp_path / "mine",
            overwrite=True,
        )
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_long_documents_are_written_in_rows_that_encode_like_the_whole(
    tokenizer: Tokenizer, tmp_path: Path, texts: list[str]
) -> None:
    long_text = "  ".join(texts[:30])
    report = prepare(
        Documents([long_text, "short one"]),
        tokenizer=tokenizer,
        out=tmp_path / "ds",
        workers=1,
        max_document_chars=5000,
    )
    assert report.read.split_documents == 1
    dataset = open_dataset(tmp_path / "ds")
    assert dataset.num_rows > 20 and dataset.num_documents == 2
    first, second = dataset.iter_documents()
    expected = tokenizer.encode_ordinary(clean(long_text))
    assert first[:-1].tolist() == expected
    assert tokenizer.decode(second[:-1]) == "short one"


def test_in_memory_documents_and_a_tokenizer_object(tokenizer: Tokenizer, tmp_path: Path) -> None:
    docs = ["one", "two <|endoftext|> is plain text here", "", "one"]
    report = prepare(
        Documents(docs, name="quickstart"), tokenizer=tokenizer, out=tmp_path / "ds", workers=1
    )
    assert (report.documents, report.clean.too_short, report.clean.duplicates) == (2, 1, 1)
    table = pq.read_table(tmp_path / "ds" / "data")
    assert set(table.column("source").to_pylist()) == {"quickstart"}
    second = table.column("tokens")[1].as_py()
    assert second.count(tokenizer.eos_id) == 1  # the text's special token is ordinary text
    again = prepare(
        Documents(iter(docs), name="quickstart"), tokenizer=tokenizer, out=tmp_path / "ds"
    )
    assert again.already_complete


@pytest.mark.parametrize("layout", ["saved", "compact", "indented", "no tokens"])
def test_the_runs_quick_look_at_a_tokenizer_file_reads_what_parsing_reads(
    tokenizer: Tokenizer, tmp_path: Path, layout: str
) -> None:
    """The run reads a saved file's short fields line by line and counts its tokens; any
    other layout is parsed whole. Either way the same fields and count."""
    from lmio.prepare._tokenizers import _line_fields, _quick_look

    path = tmp_path / "tok.json"
    tokenizer.save(path)
    data = path.read_bytes()
    body = json.loads(data)
    if layout == "compact":
        data = json.dumps(body).encode()
    elif layout == "indented":
        data = json.dumps(body, indent=2).encode() + b"\n"
    elif layout == "no tokens":
        body["tokens"] = []
        data = data.replace(
            data[data.index(b'"tokens": [') : data.index(b'"merges"')], b'"tokens": [],\n  '
        )
        assert json.loads(data) == body
    look = _quick_look(data, _line_fields(data))
    assert (_line_fields(data) is not None) == (layout in ("saved", "no tokens"))
    assert look["n_tokens"] == len(body["tokens"])
    for field in ("checksum", "special_tokens", "pattern", "name", "version", "format"):
        assert look[field] == body[field]


@pytest.mark.parametrize("layout", ["saved", "compact"])
def test_a_saved_tokenizer_encodes_before_its_file_is_checked(
    tokenizer: Tokenizer, tmp_path: Path, layout: str
) -> None:
    """In save's layout the run gets a tokenizer from the tokens line first (its merges not
    yet read, nothing checked); the checked tokenizer is that same object, merges and all.
    Other layouts are checked before anything is handed out."""
    from lmio.prepare._tokenizers import _line_fields, _load

    path = tmp_path / "tok.json"
    tokenizer.save(path)
    data = path.read_bytes()
    if layout == "compact":
        data = json.dumps(json.loads(data)).encode()
    early: list[tuple[Tokenizer, object]] = []

    def take(tok: Tokenizer) -> None:
        early.append((tok, tok.merges))
        assert tok.checksum != tokenizer.checksum  # no merges yet: another content

    loaded = _load(data, _line_fields(data), str(path), take)
    assert loaded == tokenizer and loaded.merges == tokenizer.merges
    assert loaded.checksum == tokenizer.checksum
    if layout == "saved":
        assert len(early) == 1 and early[0] == (loaded, None)
    else:
        assert early == []


def test_a_large_vocabulary_gets_uint32_tokens(tmp_path: Path) -> None:
    tok = Tokenizer([bytes([b]) for b in range(256)], special_tokens={"<|endoftext|>": 70_000})
    prepare(Documents(["abc"]), tokenizer=tok, out=tmp_path / "ds", workers=1)
    tokens = pq.read_table(tmp_path / "ds" / "data").column("tokens")
    assert str(tokens.type.value_type) == "uint32"
    assert tokens.to_pylist() == [[97, 98, 99, 70_000]]


def test_cleaning_options_and_no_eos(tokenizer: Tokenizer, tmp_path: Path) -> None:
    options = CleanOptions(lowercase=True, dedup=False, min_chars=4)
    report = prepare(
        Documents(["Hello  World \x07", "hello world", "Hi"]),
        tokenizer=tokenizer,
        out=tmp_path / "ds",
        clean=options,
        append_eos=False,
        workers=1,
    )
    assert (report.documents, report.clean.too_short, report.clean.lowercased) == (2, 1, 2)
    assert report.clean.control_chars == 1
    docs = [tokenizer.decode(d) for d in open_dataset(tmp_path / "ds").iter_documents()]
    assert docs == ["hello  world", "hello world"]


def test_nothing_left_to_write_is_an_error(tokenizer: Tokenizer, tmp_path: Path) -> None:
    with pytest.raises(
        DataError, match=r"no documents to write: read 1 files and 2 documents; dropped 2 too short"
    ):
        prepare(Documents(["", "  \n "]), tokenizer=tokenizer, out=tmp_path / "ds")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"workers": 0}, "workers must be at least 1"),
        ({"engine": "ray"}, "engine must be 'local' or 'spark'"),
        ({"shard_size": "1"}, "shard size 1 bytes is too small"),
        ({"shard_size": "lots"}, "cannot read shard size 'lots'"),
        ({"split": "word"}, "split must be"),
        ({"spark_master": "local[2]"}, "needs engine='spark'"),
        ({"tokenizer": 3}, "tokenizer must be a Tokenizer or the path"),
    ],
)
def test_bad_options_are_refused(
    options: dict[str, object], message: str, tokenizer: Tokenizer, tmp_path: Path
) -> None:
    arguments: dict[str, object] = {"tokenizer": tokenizer, "out": tmp_path / "ds", **options}
    with pytest.raises(InvalidArgumentError, match=message):
        prepare(Documents(["text"]), **arguments)  # type: ignore[arg-type]


def test_a_tokenizer_without_eos_needs_append_eos_off(tmp_path: Path) -> None:
    tok = Tokenizer([bytes([b]) for b in range(256)])
    with pytest.raises(InvalidArgumentError, match=r"no <\|endoftext\|> token"):
        prepare(Documents(["a"]), tokenizer=tok, out=tmp_path / "ds")
    prepare(Documents(["a"]), tokenizer=tok, out=tmp_path / "ds", append_eos=False)
    assert np.array_equal(next(open_dataset(tmp_path / "ds").iter_documents()), [97])
