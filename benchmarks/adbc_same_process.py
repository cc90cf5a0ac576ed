"""Why ``write_results`` does not write SQLite through ADBC in the process that also holds the
engine's ``sqlite3`` connections: the driver links its own copy of SQLite, and two copies in one
process do not see each other's POSIX locks. Prints what happens on a fresh WAL file.

Needs ``adbc-driver-sqlite`` (not a project dependency):
``uv pip install adbc-driver-sqlite==1.13.0`` then ``.venv/bin/python benchmarks/adbc_same_process.py``
(``uv run --frozen`` would remove the driver again).
"""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import tempfile
from pathlib import Path


def adbc_write(path: str, value: int, out) -> None:
    """In its own connection: BEGIN IMMEDIATE (1 s busy timeout), insert, commit; reports how."""
    import adbc_driver_sqlite.dbapi as lite

    conn = lite.connect(path, autocommit=True)
    cur = conn.cursor()
    try:
        cur.execute("PRAGMA busy_timeout=1000")
        cur.fetchall()
        cur.execute("BEGIN IMMEDIATE")
        cur.execute(f"INSERT INTO t VALUES ({value})")
        cur.execute("COMMIT")
        out.put("got the write lock")
    except Exception as exc:
        out.put(f"refused: {type(exc).__name__}: {str(exc).splitlines()[0][:70]}")
    finally:
        cur.close()
        conn.close()


class Here:  # a queue for the same-process case
    def put(self, msg: str) -> None:
        self.msg = msg


def run(tmp: Path, other_process: bool) -> None:
    path = tmp / ("child.sqlite" if other_process else "same.sqlite")
    files = lambda: sorted(p.name for p in tmp.iterdir() if p.name.startswith(path.name))  # noqa: E731
    a = sqlite3.connect(path, isolation_level=None)
    a.execute("PRAGMA journal_mode=WAL")
    a.execute("CREATE TABLE t (x)")
    a.execute("INSERT INTO t VALUES (1)")
    a.execute("BEGIN IMMEDIATE")  # sqlite3 holds the write lock, row 3 not committed yet
    a.execute("INSERT INTO t VALUES (3)")
    if other_process:
        q = mp.get_context("spawn").Queue()
        p = mp.get_context("spawn").Process(target=adbc_write, args=(str(path), 4, q))
        p.start()
        p.join()
        msg = q.get()
    else:
        here = Here()
        adbc_write(str(path), 4, here)
        msg = here.msg
    print(f"  ADBC BEGIN IMMEDIATE while sqlite3 holds the write lock: {msg}")
    print(f"  files after ADBC closed: {files()}")
    a.execute("COMMIT")  # sqlite3 commits row 3
    a.close()
    fresh = sqlite3.connect(path)
    rows = [r[0] for r in fresh.execute("SELECT x FROM t ORDER BY x")]
    print(f"  rows committed: 1, 3 by sqlite3, 4 by ADBC if it got the lock; rows in the file: {rows}")
    fresh.close()


def main() -> None:
    import adbc_driver_sqlite

    print(f"python sqlite3 {sqlite3.sqlite_version}; adbc-driver-sqlite {adbc_driver_sqlite.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        print("ADBC in the same process:")
        run(Path(tmp), other_process=False)
        print("ADBC in another process:")
        run(Path(tmp), other_process=True)


if __name__ == "__main__":
    main()
