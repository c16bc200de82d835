"""`open_dataset(url)`: a prepared dataset, read through its manifest."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lmio.errors import FormatError, IntegrityError, NotFoundError
from lmio.store._files import exists, is_local, read_bytes, url_join
from lmio.store._manifest import MANIFEST_NAME, parse_manifest
from lmio.store._ranges import ByteRange, RangeFile, ShardRanges
from lmio.store._shards import ShardReader, list_to_numpy

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from lmio.store._cache import CacheEntry, DiskCache
    from lmio.tokenizer import Tokenizer

__all__ = ["Dataset", "ShardInfo", "open_dataset"]

# From this size on, a cached remote shard is fetched row group by row group by default.
_RANGED_SHARD_BYTES = 64 << 20


@dataclass(frozen=True)
class ShardInfo:
    """One shard as the manifest records it."""

    index: int
    path: str  # relative to the dataset folder
    url: str
    rows: int
    documents: int
    tokens: int
    bytes: int
    checksum: str
    row_group_rows: tuple[int, ...]
    row_group_tokens: tuple[int, ...]
    ranges: ShardRanges | None = None


def open_dataset(
    url: str | os.PathLike[str],
    *,
    storage_options: dict[str, Any] | None = None,
    cache: DiskCache | None = None,
    by_range: bool | None = None,
) -> Dataset:
    """The dataset that `lmio prepare` wrote at `url` (a folder holding `manifest.json`).

    With `cache`, remote shards are read from local copies in that `DiskCache`, downloaded
    on first use and verified against the manifest's checksums on the way. `by_range`: cache
    them row group by row group (each range verified by its own checksum, from the manifest),
    or whole; by default, by range when a shard is 64 MiB or more, where fetching it whole
    would hold up the first batch, and whole when smaller, where one request costs less.
    """
    root = os.fspath(url)
    manifest_url = url_join(root, MANIFEST_NAME)
    if not exists(manifest_url, storage_options=storage_options):
        if exists(url_join(root, ".lmio-work"), storage_options=storage_options):
            raise NotFoundError(
                f"{root} is an unfinished dataset (no {MANIFEST_NAME} yet); rerun the same "
                "`lmio prepare` command to finish it"
            )
        raise NotFoundError(
            f"{root} holds no lmio dataset: {manifest_url} does not exist; "
            "create one with `lmio prepare`"
        )
    body = parse_manifest(read_bytes(manifest_url, storage_options=storage_options), manifest_url)
    return Dataset(root, body, storage_options=storage_options, cache=cache, by_range=by_range)


class Dataset:
    """A tokenized dataset: its manifest, tokenizer and shards.

    Shard `i`'s row group `j` holds `shards[i].row_group_tokens[j]` tokens; a loader can plan
    from these counts alone and read row groups with `read_tokens`.
    """

    def __init__(
        self,
        url: str,
        manifest: dict[str, Any],
        *,
        storage_options: dict[str, Any] | None = None,
        cache: DiskCache | None = None,
        by_range: bool | None = None,
    ) -> None:
        self.url = url
        self._by_range = by_range
        self._manifest = manifest
        self._storage_options = storage_options
        self._cache = cache
        self._prefetching = False
        self._read_order: list[tuple[int, int]] | None = None
        self.shards: tuple[ShardInfo, ...] = tuple(
            ShardInfo(
                index=i,
                path=s["path"],
                url=url_join(url, *s["path"].split("/")),
                rows=int(s["rows"]),
                documents=int(s["documents"]),
                tokens=int(s["tokens"]),
                bytes=int(s["bytes"]),
                checksum=str(s["checksum"]),
                row_group_rows=tuple(int(n) for n in s["row_group_rows"]),
                row_group_tokens=tuple(int(n) for n in s["row_group_tokens"]),
                ranges=ShardRanges.from_dict(
                    s["ranges"],
                    size=int(s["bytes"]),
                    row_groups=len(s["row_group_rows"]),
                    where=f"{url}, shard {s['path']}",
                )
                if "ranges" in s
                else None,
            )
            for i, s in enumerate(manifest["shards"])
        )

    @property
    def manifest(self) -> dict[str, Any]:
        """The parsed manifest (a copy)."""
        import copy

        return copy.deepcopy(self._manifest)

    @property
    def version(self) -> int:
        return int(self._manifest["version"])

    @property
    def token_type(self) -> str:
        """`uint16` or `uint32`: the type of the `tokens` values."""
        return str(self._manifest["token_type"])

    @property
    def tokenizer_checksum(self) -> str:
        return str(self._manifest["tokenizer"]["checksum"])

    @property
    def tokenizer_url(self) -> str:
        return url_join(self.url, *self._manifest["tokenizer"]["path"].split("/"))

    @property
    def eos_id(self) -> int | None:
        """The id appended after each document, or None when none was."""
        value = self._manifest["tokenizer"].get("eos_id")
        return None if value is None else int(value)

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self._manifest.get("settings", {}))

    @property
    def num_documents(self) -> int:
        return sum(s.documents for s in self.shards)

    @property
    def num_rows(self) -> int:
        return sum(s.rows for s in self.shards)

    @property
    def num_tokens(self) -> int:
        return sum(s.tokens for s in self.shards)

    @property
    def num_bytes(self) -> int:
        """Bytes of the shard files."""
        return sum(s.bytes for s in self.shards)

    def tokenizer(self) -> Tokenizer:
        """The tokenizer stored beside the shards, checked against the manifest's checksum."""
        from lmio.tokenizer import Tokenizer

        tok = Tokenizer.load(self.tokenizer_url, storage_options=self._storage_options)
        if tok.checksum != self.tokenizer_checksum:
            raise IntegrityError(
                f"{self.tokenizer_url} has checksum {tok.checksum} but the manifest records "
                f"{self.tokenizer_checksum}; the dataset's tokenizer was replaced or damaged"
            )
        return tok

    def verify(self) -> None:
        """Check every shard's sha256 against the manifest (with a disk cache and recorded
        ranges, every range's); raises `IntegrityError` on the first mismatch."""
        for shard in self.shards:
            if self._ranged(shard):
                assert shard.ranges is not None
                for byte_range in (*shard.ranges.row_groups, shard.ranges.footer):
                    self._cached_range(shard, byte_range).release()
            else:
                self.open_shard(shard.index, verify=True).close()

    def open_shard(
        self, index: int, *, verify: bool = False, check_pages: bool = True
    ) -> ShardReader:
        """Shard `index` open for reading row groups (verified against its checksum first with
        `verify=True`; `check_pages=False` skips the pages' CRC-32s, for a shard verified)."""
        shard = self.shards[index]
        if self._cache is not None and not is_local(shard.url):
            if not self._prefetching:
                self._prefetch_from(index)
            if self._ranged(shard):  # every range is verified when it is downloaded
                return self._open_ranges(shard, check_pages=check_pages)
            # A local copy, pinned until the reader closes; verified when it was downloaded.
            entry = self._cache.open(
                shard.url,
                checksum=shard.checksum,
                size=shard.bytes,
                storage_options=self._storage_options,
            )
            return ShardReader(
                str(entry.path),
                check_pages=check_pages,
                on_close=entry.release,
                trusted_counts=True,
            )
        if not exists(shard.url, storage_options=self._storage_options):
            raise NotFoundError(
                f"shard {shard.path} of {self.url} is missing; the dataset is incomplete "
                "(restore the file or prepare the dataset again)"
            )
        return ShardReader(
            shard.url,
            expected_checksum=shard.checksum,
            verify=verify,
            check_pages=check_pages,
            storage_options=self._storage_options,
            trusted_counts=True,
        )

    def plan_reads(self, row_groups: Sequence[tuple[int, int]]) -> None:
        """The order in which row groups (shard, row group) will be read (a loader's
        shuffled order): with a disk cache, the background downloads follow it instead of
        the manifest's order (row group by row group for shards read by range)."""
        self._read_order = [(int(s), int(g)) for s, g in row_groups]

    def _prefetch_from(self, index: int) -> None:
        """Reading has begun: download everything in the background into the cache's free
        room, in the planned read order from shard `index`'s first read on (so reading
        overlaps the downloads to come): whole shards, or a shard's footer and then its row
        groups' ranges."""
        assert self._cache is not None
        self._prefetching = True
        order = self._read_order or []
        first = next((k for k, (s, _) in enumerate(order) if s == index), 0)
        planned = order[first:] + order[:first]
        planned += [
            (shard.index, group)
            for shard in self.shards
            for group in range(len(shard.row_group_rows))
        ]  # the unplanned after the planned (what is planned again is skipped)
        started: set[int] = set()
        fetched: set[tuple[int, int]] = set()
        for shard_index, group in planned:
            shard = self.shards[shard_index]
            ranged = self._ranged(shard)
            if shard_index not in started:
                started.add(shard_index)
                self._prefetch(shard, shard.ranges.footer if ranged and shard.ranges else None)
            if ranged and shard.ranges is not None and (shard_index, group) not in fetched:
                fetched.add((shard_index, group))
                self._prefetch(shard, shard.ranges.row_groups[group])

    def _prefetch(self, shard: ShardInfo, byte_range: ByteRange | None) -> None:
        """Download a shard (or one of its ranges) into the cache's free room, in the
        background."""
        assert self._cache is not None
        if byte_range is None:
            self._cache.prefetch(
                shard.url,
                checksum=shard.checksum,
                size=shard.bytes,
                storage_options=self._storage_options,
            )
            return
        self._cache.prefetch(
            shard.url,
            checksum=byte_range.checksum,
            size=byte_range.length,
            offset=byte_range.offset,
            storage_options=self._storage_options,
        )

    def _ranged(self, shard: ShardInfo) -> bool:
        """Whether `shard` is read range by range: remote, cached, its ranges recorded, and
        `by_range` (by default: large)."""
        if self._cache is None or shard.ranges is None or is_local(shard.url):
            return False
        return shard.bytes >= _RANGED_SHARD_BYTES if self._by_range is None else self._by_range

    def _cached_range(self, shard: ShardInfo, byte_range: ByteRange) -> CacheEntry:
        """One range of a remote shard, pinned in the disk cache (downloaded and verified
        against its own sha256 first, if need be)."""
        assert self._cache is not None
        return self._cache.open(
            shard.url,
            checksum=byte_range.checksum,
            size=byte_range.length,
            offset=byte_range.offset,
            storage_options=self._storage_options,
        )

    def _open_ranges(self, shard: ShardInfo, *, check_pages: bool) -> ShardReader:
        """A remote shard read range by range through the disk cache: the footer now, each
        row group's bytes when a read first needs them."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        ranges = shard.ranges
        assert ranges is not None
        with self._cached_range(shard, ranges.footer) as footer:
            data = footer.path.read_bytes()
        try:  # the footer alone, after a leading magic, reads as a Parquet file's metadata
            metadata = pq.read_metadata(pa.BufferReader(b"PAR1" + data))
        except (pa.ArrowException, OSError) as exc:
            raise FormatError(f"{shard.url} has an unreadable footer: {exc}") from None

        def open_range(group: int) -> tuple[Any, Callable[[], None]]:
            entry = self._cached_range(shard, ranges.row_groups[group])
            return entry.path.open("rb"), entry.release

        source = RangeFile(shard.bytes, ranges, open_range, name=shard.url)
        return ShardReader(
            shard.url,
            source=source,
            metadata=metadata,
            check_pages=check_pages,
            on_close=source.close,
            trusted_counts=True,
        )

    def read_tokens(
        self, shard: int, row_group: int
    ) -> tuple[npt.NDArray[np.unsignedinteger[Any]], npt.NDArray[np.int64]]:
        """One row group's tokens: (flat values, offsets), the values not copied from Arrow."""
        with self.open_shard(shard) as reader:
            return reader.read_tokens(row_group)

    def iter_documents(self) -> Iterator[npt.NDArray[np.unsignedinteger[Any]]]:
        """Every document's tokens in dataset order (EOS included when one was appended).

        A document longer than the preparing run's `max_document_chars` spans consecutive
        rows with the same `doc_id`; this joins them back.
        """
        import numpy as np

        pending: list[npt.NDArray[np.unsignedinteger[Any]]] = []
        pending_id: int | None = None
        for shard in self.shards:
            with self.open_shard(shard.index) as reader:
                for group in range(reader.num_row_groups):
                    table = reader.read_row_group(group, columns=("tokens", "doc_id"))
                    values, offsets = list_to_numpy(table.column("tokens"))
                    doc_ids = table.column("doc_id").to_numpy()
                    for row in range(table.num_rows):
                        doc_id = int(doc_ids[row])
                        if pending and doc_id != pending_id:
                            yield np.concatenate(pending)
                            pending = []
                        pending.append(values[offsets[row] : offsets[row + 1]])
                        pending_id = doc_id
        if pending:
            yield np.concatenate(pending)

    def document_lengths(self) -> npt.NDArray[np.int64]:
        """Tokens per document (EOS included), in dataset order, from the small columns only."""
        import numpy as np

        counts: list[npt.NDArray[np.int64]] = []
        ids: list[npt.NDArray[np.uint64]] = []
        for shard in self.shards:
            with self.open_shard(shard.index) as reader:
                for group in range(reader.num_row_groups):
                    table = reader.read_row_group(group, columns=("n_tokens", "doc_id"))
                    counts.append(table.column("n_tokens").to_numpy().astype(np.int64))
                    ids.append(table.column("doc_id").to_numpy())
        if not counts:
            return np.zeros(0, dtype=np.int64)
        n_tokens, doc_ids = np.concatenate(counts), np.concatenate(ids)
        starts = np.flatnonzero(np.concatenate([[True], doc_ids[1:] != doc_ids[:-1]]))
        return np.add.reduceat(n_tokens, starts)

    def __repr__(self) -> str:
        return (
            f"Dataset({self.url!r}, shards={len(self.shards)}, documents={self.num_documents}, "
            f"tokens={self.num_tokens})"
        )
