"""The schema: the exported SDL is current, and every name and type interfaces.md fixes is there."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from graphql import GraphQLEnumType, GraphQLObjectType, GraphQLScalarType, build_schema

from graphql_api.errors import UserError
from graphql_api.schema import SDL_PATH, sdl
from graphql_api.types.scalars import parse_month, serialize_month
from tests.support.paths import SPEC

INTERFACES = SPEC / "interfaces.md"


# interfaces.md names the connections "Relay-style" without spelling them out: the Relay shape
RELAY = """
type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
type PartnerConnection { edges: [PartnerEdge!]! pageInfo: PageInfo! }
type PartnerEdge { cursor: String! node: Partner! }
type ScorecardConnection { edges: [ScorecardEdge!]! pageInfo: PageInfo! }
type ScorecardEdge { cursor: String! node: Scorecard! }
"""


def test_exported_sdl_is_current():
    assert SDL_PATH.exists(), "run: uv run python -m graphql_api.schema"
    assert SDL_PATH.read_text(encoding="utf-8") == sdl(), (
        "graphql_api/schema.graphql is out of date: run `uv run python -m graphql_api.schema`"
    )


@pytest.mark.skipif(not INTERFACES.exists(), reason="shared/spec/interfaces.md is not beside the project")
def test_schema_has_everything_interfaces_md_fixes():
    block = re.search(r"```graphql\n(.*?)```", INTERFACES.read_text(encoding="utf-8"), re.DOTALL)
    assert block, "no graphql block in interfaces.md"
    spec = build_schema(block.group(1) + RELAY)
    ours = build_schema(sdl())  # our schema, as graphql-core types
    checked = 0
    for name, want in spec.type_map.items():
        if name.startswith("__") or name in ("String", "Boolean", "Int", "Float", "ID"):
            continue
        got = ours.type_map.get(name)
        assert got is not None, f"type {name} is missing"
        assert type(got) is type(want), name
        if isinstance(want, GraphQLEnumType):
            assert list(got.values) == list(want.values), f"enum {name}: values or their order differ"
        elif isinstance(want, GraphQLObjectType):
            for fname, wfield in want.fields.items():
                gfield = got.fields.get(fname)
                assert gfield is not None, f"{name}.{fname} is missing"
                assert str(gfield.type) == str(wfield.type), f"{name}.{fname}: {gfield.type} != {wfield.type}"
                for aname, warg in wfield.args.items():
                    garg = gfield.args.get(aname)
                    assert garg is not None, f"{name}.{fname}({aname}) is missing"
                    assert str(garg.type) == str(warg.type), f"{name}.{fname}({aname})"
                    assert garg.default_value == warg.default_value, f"{name}.{fname}({aname}) default"
                extra_required = [
                    a for a, g in gfield.args.items() if a not in wfield.args and str(g.type).endswith("!")
                ]
                assert not extra_required, f"{name}.{fname}: new required arguments {extra_required}"
                checked += 1
        else:
            assert isinstance(want, GraphQLScalarType)
    assert checked >= 25


@pytest.mark.parametrize(
    ("text", "month"),
    [("2024-06", dt.date(2024, 6, 1)), ("1999-12", dt.date(1999, 12, 1)), ("9998-12", dt.date(9998, 12, 1))],
)
def test_month_parses_and_serializes(text, month):
    assert parse_month(text) == month
    assert serialize_month(month) == text


@pytest.mark.parametrize(
    "value",
    [
        "2024-13",
        "2024-00",
        "0001-01",
        "9999-12",
        "2024-6",
        "2024-06-01",
        "0000-01",
        "2024-06\n",
        "２０２４-０６",
        202406,
        None,
        ["2024-06"],
    ],
)
def test_month_rejects_everything_else_with_a_readable_message(value):
    with pytest.raises(
        UserError, match=r'^Month must be a string "YYYY-MM" with a month 01-12 \(e\.g\. "2024-06"\), not '
    ):
        parse_month(value)


def test_month_error_does_not_echo_huge_values():
    with pytest.raises(UserError) as info:
        parse_month("x" * 10_000)
    assert len(str(info.value)) < 150
