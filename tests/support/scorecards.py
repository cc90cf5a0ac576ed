"""Scorecards as the API serves them: the GraphQL selection of every field and a comparison
with the expected JSON of the example folders."""

from __future__ import annotations

import pytest

SCORECARD = """
  partnerId month attained bestTrack score
  paths { track total qualifies
          metrics { metric points maxPoints value option options { option value points } } }
"""


def assert_close(got, want, path: str = "") -> None:
    """Same shape and values; floats within 1e-6."""
    if isinstance(want, float) or isinstance(got, float):
        assert isinstance(got, (int, float)) and not isinstance(got, bool), path
        assert got == pytest.approx(want, abs=1e-6), path
    elif isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), (path, set(got) ^ set(want))
        for k in want:
            assert_close(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), path
        for i, (a, b) in enumerate(zip(got, want)):
            assert_close(a, b, f"{path}[{i}]")
    else:
        assert got == want, path


def assert_fields_close(got, want, path: str = "") -> None:
    """Every field of ``want`` is in ``got`` with the same value (floats within 1e-6); ``got`` may
    hold more fields (the scoring's scorecard dicts carry a few the expected JSON does not)."""
    if isinstance(want, float) or isinstance(got, float):
        assert got == pytest.approx(want, abs=1e-6), path
    elif isinstance(want, dict):
        assert set(got) >= set(want), path
        for k in want:
            assert_fields_close(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert len(got) == len(want), path
        for i, (a, b) in enumerate(zip(got, want)):
            assert_fields_close(a, b, f"{path}[{i}]")
    else:
        assert got == want, path
