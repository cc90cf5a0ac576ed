"""Partner shards: which of ``n`` shards a partner (or a tenant) belongs to.

A key's shard is the first 8 bytes of the BLAKE2b digest of its UTF-8 text (little-endian,
unsigned) modulo ``n``: the same in every process, machine, Python and Polars version (Polars'
own ``hash`` is stable within one version only). Ids are compared exactly (input-data.md), so
the text is hashed as written; a missing or blank key belongs to shard 0. Frozen: every worker of
a run must agree, and a change moves partners between shards (harmless between runs, fatal
within one). Why shards: docs/architecture.md, "Sharded months".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

MAX_SHARDS = 256
"""The most shards a month may be split into (the publish step reads every shard's staged rows
in one statement, and SQLite allows 500 terms in a compound SELECT)."""


@dataclass(frozen=True, order=True)
class Shard:
    """Shard ``index`` of ``count`` (0 <= index < count <= MAX_SHARDS)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_SHARDS:
            raise ValueError(f"shards: {self.count} is not between 1 and {MAX_SHARDS}")
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index} is not between 0 and {self.count - 1}")

    def __str__(self) -> str:
        return f"shard {self.index + 1}/{self.count}"


def shard_of(key: str, n: int) -> int:
    """The shard (0..n-1) of one key, exactly as written."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % n


def shard_series(keys: pl.Series, n: int) -> pl.Series:
    """The shard of every value of ``keys`` (UInt32, same length and order): each distinct value
    hashed once; null and blank values (empty or whitespace only) in shard 0."""
    if n == 1:
        return pl.repeat(0, keys.len(), dtype=pl.UInt32, eager=True).rename(keys.name)
    text = keys.cast(pl.String)
    values = text.drop_nulls().unique()
    shards = pl.Series([0 if not v.strip() else shard_of(v, n) for v in values.to_list()], dtype=pl.UInt32)
    return text.replace_strict(values, shards, default=0, return_dtype=pl.UInt32).rename(keys.name)
