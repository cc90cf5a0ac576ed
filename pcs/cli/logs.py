"""Progress lines of the command line: Python ``logging`` under the ``pcs`` logger (the pipeline
logs to ``pcs.pipeline``, the commands to ``pcs.cli.*``), one handler per command, each line
prefixed with the seconds since the command started: ``[   1.2s] read months/2024-06 ...``."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import TextIO

ROOT = "pcs"
FORMAT = "[%(elapsed)6.1fs] %(message)s"


class ElapsedFormatter(logging.Formatter):
    """``FORMAT``: ``%(elapsed)`` is the seconds from the formatter's creation to the record."""

    def __init__(self) -> None:
        super().__init__(FORMAT)
        self.start = time.time()

    def format(self, record: logging.LogRecord) -> str:
        record.elapsed = record.created - self.start
        return super().format(record)


class _ProgressHandler(logging.StreamHandler):
    pass


@contextlib.contextmanager
def progress(stream: TextIO) -> Iterator[None]:
    """INFO lines of the ``pcs`` loggers to ``stream`` for the block. Nested blocks (the demo runs
    ``pcs backfill``) keep the outer handler, so each line is written once."""
    logger = logging.getLogger(ROOT)
    if any(isinstance(h, _ProgressHandler) for h in logger.handlers):
        yield
        return
    handler = _ProgressHandler(stream)
    handler.setFormatter(ElapsedFormatter())
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
