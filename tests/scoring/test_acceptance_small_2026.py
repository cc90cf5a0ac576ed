"""Acceptance across the 2026 revision: the small-2026 example folder scores exactly as its
expected scorecards say (2026-08 under the 2023 rules, 2026-09..2027-07 under version 2026-09)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from scoring.calendar import month_range
from scoring.scorecards import scorecards
from scoring.service import score_months
from tests.support.paths import EXAMPLE_2026
from tests.support.scorecards import assert_fields_close

pytestmark = pytest.mark.skipif(
    not EXAMPLE_2026.exists(), reason="shared/examples/small-2026 is not beside the project"
)


def test_example_2026_scorecards_match_every_field():
    expected = json.loads((EXAMPLE_2026 / "expected-scorecards.json").read_text())
    scored = score_months(month_range(dt.date(2026, 8, 1), dt.date(2027, 7, 1)), directory=EXAMPLE_2026 / "data")
    got = {(c["partnerId"], c["month"]): c for c in scorecards(scored.result)}
    assert len(got) == len(expected) == 360
    wrong = []
    for e in expected:
        try:
            assert_fields_close(got[(e["partnerId"], e["month"])], e, f"{e['partnerId']} {e['month']}")
        except AssertionError as exc:
            wrong.append(str(exc).splitlines()[0])
    assert not wrong, f"{len(wrong)} of 360 scorecards differ, e.g. {wrong[:5]}"
    assert sum(c["attained"] for c in got.values()) == 16
    assert {c["partnerId"] for c in got.values() if c["attained"]} == {
        e["partnerId"] for e in expected if e["attained"]
    }
