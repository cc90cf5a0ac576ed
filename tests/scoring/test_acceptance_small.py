"""Acceptance: the example folder scores exactly as its expected scorecards say."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from scoring.calendar import month_range
from scoring.scorecards import scorecards
from scoring.service import score_months
from tests.support.paths import EXAMPLE
from tests.support.scorecards import assert_fields_close

pytestmark = pytest.mark.skipif(not EXAMPLE.exists(), reason="shared/examples/small is not beside the project")


def test_example_scorecards_match_every_field():
    expected = json.loads((EXAMPLE / "expected-scorecards.json").read_text())
    scored = score_months(month_range(dt.date(2024, 1, 1), dt.date(2024, 12, 1)), directory=EXAMPLE / "data")
    got = {(c["partnerId"], c["month"]): c for c in scorecards(scored.result)}
    assert len(got) == len(expected) == 360
    for e in expected:
        assert_fields_close(got[(e["partnerId"], e["month"])], e, f"{e['partnerId']} {e['month']}")
    assert sum(c["attained"] for c in got.values()) == 8
