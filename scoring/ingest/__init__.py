"""Read and validate the input folder (``docs/input-data.md``) into the frames of ``frames.py``.

``checks`` is the validation framework, ``files`` finds and scans the files, ``tables`` reads
each table; this module streams the months. A bad file raises ``InputError`` naming the file,
column, row and value (see docs/architecture.md, "Scoring").
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from scoring.calendar import month_start
from scoring.frames import ASSOCIATIONS_SCHEMA, USAGE_SCHEMA, MissingSnapshotError, Snapshots
from scoring.ingest.files import (
    ASSOCIATIONS,
    CERTIFICATIONS,
    MONTHS_DIR,
    PARTNERS,
    USAGE,
    MonthFiles,
    list_months,
    month_files,
    month_folder,
)
from scoring.ingest.tables import known_partner_ids, read_certifications, read_partners
from scoring.ingest.tables import read_month_files as _read_month  # a global here, so callers may wrap it
from scoring.rulebook import Rulebooks, load_rulebooks

__all__ = [
    "ASSOCIATIONS",
    "CERTIFICATIONS",
    "MONTHS_DIR",
    "PARTNERS",
    "USAGE",
    "iter_snapshots",
    "known_partner_ids",
    "list_months",
    "read_certifications",
    "read_month",
    "read_partners",
    "read_snapshots",
]


def _association_types(rulebooks: Rulebooks | None) -> tuple[str, ...]:
    """Files are validated whatever version scores them: any version's types are accepted."""
    return (rulebooks or load_rulebooks()).association_types


def _workload_renames(rulebooks: Rulebooks | None) -> dict[str, str]:
    """Every rename applies in every version, so in every file's key checks."""
    return (rulebooks or load_rulebooks()).workload_renames


def read_month(data_dir: str | Path, month: dt.date, *, rulebooks: Rulebooks | None = None) -> Snapshots:
    """One month's snapshot (``months/YYYY-MM``), validated; both files are required."""
    data_dir = Path(data_dir)
    month = month_start(month)
    books = rulebooks or load_rulebooks()
    files = month_files(data_dir, month, _association_types(books), _workload_renames(books))
    return _read_month(data_dir, month, files)


def read_snapshots(
    data_dir: str | Path,
    months: Iterable[dt.date],
    *,
    progress: Callable[[str], None] | None = None,
    needed_by: str = "",
    max_workers: int = 2,
    rulebooks: Rulebooks | None = None,
) -> Snapshots:
    """The snapshots of ``months`` (each read once), stacked in month order.

    See ``iter_snapshots``; this holds every month in memory at once.
    """
    parts = list(
        iter_snapshots(
            data_dir, months, progress=progress, needed_by=needed_by, max_workers=max_workers, rulebooks=rulebooks
        )
    )
    if not parts:
        return Snapshots(frozenset(), pl.DataFrame(schema=USAGE_SCHEMA), pl.DataFrame(schema=ASSOCIATIONS_SCHEMA))
    return Snapshots(
        frozenset(m for p in parts for m in p.months),
        pl.concat([p.usage for p in parts], how="vertical", rechunk=False),
        pl.concat([p.associations for p in parts], how="vertical", rechunk=False),
        [w for p in parts for w in p.warnings],
    )


def iter_snapshots(
    data_dir: str | Path,
    months: Iterable[dt.date],
    *,
    progress: Callable[[str], None] | None = None,
    needed_by: str = "",
    max_workers: int = 2,
    rulebooks: Rulebooks | None = None,
) -> Iterator[Snapshots]:
    """The snapshot of each of ``months``, validated, one at a time in month order.

    Every month folder and file is checked to exist before any file is read: missing month
    folders raise :class:`MissingSnapshotError` (naming all of them and ``needed_by``). A bad
    month raises its ``InputError`` when its turn comes. ``progress`` is called with a short
    line after each month is read. Up to ``max_workers`` months are read at the same time (each
    read is itself multi-threaded by Polars); while the consumer works on a month, at most
    ``max_workers - 1`` more are held, read ahead.
    """
    data_dir = Path(data_dir)
    wanted = sorted({month_start(m) for m in months})
    if not wanted:
        return iter(())
    missing = [m for m in wanted if not (data_dir / month_folder(m)).is_dir()]
    if missing:
        raise MissingSnapshotError(missing, needed_by=needed_by)
    books = rulebooks or load_rulebooks()
    types, renames = _association_types(books), _workload_renames(books)
    files = {m: month_files(data_dir, m, types, renames) for m in wanted}
    return _stream_months(data_dir, files, progress, max_workers)


def _stream_months(
    data_dir: Path,
    files: dict[dt.date, MonthFiles],
    progress: Callable[[str], None] | None,
    max_workers: int,
) -> Iterator[Snapshots]:
    wanted = sorted(files)

    def report(snapshot: Snapshots, i: int) -> Snapshots:
        if progress is not None:
            (m,) = snapshot.months
            progress(
                f"read {month_folder(m)}: {snapshot.usage.height} usage rows, "
                f"{snapshot.associations.height} associations ({i}/{len(wanted)})"
            )
        return snapshot

    workers = max(1, min(max_workers, len(wanted)))
    if workers == 1:
        for i, m in enumerate(wanted, 1):
            yield report(_read_month(data_dir, m, files[m]), i)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pcs-ingest") as pool:
        pending = deque(pool.submit(_read_month, data_dir, m, files[m]) for m in wanted[:workers])
        ahead = iter(wanted[workers:])
        try:
            for i in range(1, len(wanted) + 1):
                if i > 1 and (nxt := next(ahead, None)) is not None:
                    # the next read starts when the consumer asks again, not when it is handed a
                    # month: while it works on a month only one more is held, read ahead
                    pending.append(pool.submit(_read_month, data_dir, nxt, files[nxt]))
                # no local reference: a month the consumer has dropped is freed at once
                yield report(pending.popleft().result(), i)
        finally:  # a failure or an abandoned generator: months not yet started are not read
            for fut in pending:
                fut.cancel()
