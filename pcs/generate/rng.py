"""Counter-based randomness: every random number is a hash (splitmix64, on UInt64 columns) of
``(seed, stream name, entity key[, month])``, so nothing depends on the order of the draws and
the generator's output is a pure function of its arguments."""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

import polars as pl

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB


def _mix_int(x: int) -> int:
    """splitmix64's finaliser on a Python int."""
    x &= _M64
    x = ((x ^ (x >> 30)) * _C1) & _M64
    x = ((x ^ (x >> 27)) * _C2) & _M64
    return x ^ (x >> 31)


def _u64(v: int) -> pl.Expr:
    return pl.lit(v, dtype=pl.UInt64)


class Rng:
    """Random numbers as pure functions of (seed, stream, key): no state, no draw order."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def _stream(self, stream: str, month: int) -> int:
        s = _mix_int(zlib.crc32(stream.encode()) * _GOLDEN + (month + 1) * _C2)
        return _mix_int(s ^ _mix_int(self.seed * _C1 + 0x632BE59BD9B4E019))

    def bits(self, key: pl.Series, stream: str, month: int = -1) -> pl.Series:
        """64 random bits per key (UInt64)."""
        f = key.cast(pl.UInt64).to_frame("x")
        f = f.select(x=pl.col("x") * _u64(_GOLDEN) + _u64(self._stream(stream, month)))
        f = f.select(x=(pl.col("x") ^ (pl.col("x") // _u64(1 << 30))) * _u64(_C1))
        f = f.select(x=(pl.col("x") ^ (pl.col("x") // _u64(1 << 27))) * _u64(_C2))
        return f.select(x=pl.col("x") ^ (pl.col("x") // _u64(1 << 31))).to_series()

    def uniform(self, key: pl.Series, stream: str, month: int = -1) -> pl.Series:
        """Uniform in [0, 1), Float64."""
        b = self.bits(key, stream, month)
        return (b // (1 << 11)).cast(pl.Float64) * (2.0**-53)

    def uniform2(self, key: pl.Series, stream: str, month: int = -1) -> tuple[pl.Series, pl.Series]:
        """Two independent uniforms in (0, 1) from one hash (32 bits each)."""
        b = self.bits(key, stream, month)
        hi = ((b // (1 << 32)).cast(pl.Float64) + 0.5) * (2.0**-32)
        lo = ((b % (1 << 32)).cast(pl.Float64) + 0.5) * (2.0**-32)
        return hi, lo

    def normal(self, key: pl.Series, stream: str, month: int = -1) -> pl.Series:
        u1, u2 = self.uniform2(key, stream, month)
        return (-2.0 * u1.log()).sqrt() * (2.0 * math.pi * u2).cos()

    def below(self, key: pl.Series, stream: str, n: int | pl.Series, month: int = -1) -> pl.Series:
        """Uniform integer in [0, n) (n may be a per-row Series), Int64."""
        return (self.uniform(key, stream, month) * n).floor().cast(pl.Int64)

    def choice(self, key: pl.Series, stream: str, weights: Sequence[float], month: int = -1) -> pl.Series:
        """Index into ``weights``, drawn with those relative weights (UInt32)."""
        total = float(sum(weights))
        cum, acc = [], 0.0
        for w in weights[:-1]:
            acc += w / total
            cum.append(acc)
        u = self.uniform(key, stream, month)
        return pl.Series(cum, dtype=pl.Float64).search_sorted(u, side="right").cast(pl.UInt32)

    def choice_by(self, key: pl.Series, stream: str, group: pl.Series, table: Sequence[Sequence[float]]) -> pl.Series:
        """Like ``choice``, with the weights ``table[group]`` of each row's group (UInt8)."""
        u = self.uniform(key, stream)
        idx = pl.zeros(len(u), dtype=pl.UInt8, eager=True)
        k = len(table[0])
        cums = []
        for row in table:
            total = float(sum(row))
            acc, cum = 0.0, []
            for w in row[:-1]:
                acc += w / total
                cum.append(acc)
            cums.append(cum)
        for j in range(k - 1):
            thr = pl.Series([c[j] for c in cums], dtype=pl.Float64).gather(group)
            idx = idx + (u >= thr).cast(pl.UInt8)
        return idx
