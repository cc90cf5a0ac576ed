"""Partner isolation, walked from the schema: queries built from the in-process Strawberry schema
reach every field of every object type (bounded depth, split to fit the server's depth and token
limits), run over HTTP against the real server with a partner token, and nothing of another
partner may appear in any answer. The same walk with the admin token is the control: there the
other partners' data does appear, so the checks can fail.

A field added to the schema later is walked automatically (arguments are filled by name, else by
type), and ``test_the_walk_selects_every_field_of_the_schema`` fails if it cannot be reached.

What belongs to whom is read from the example input folder, not from the API: partner ids and
names (``partners.csv``, ``associations.csv``, ``certifications.csv``), certified persons, and
tenants (a tenant the partner never held is foreign to it).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import csv
import dataclasses
import json
import re
import time
from collections import deque
from collections.abc import Iterator
from functools import cache

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Lexer,
    Source,
    TokenKind,
    build_client_schema,
    get_named_type,
    is_leaf_type,
)

from graphql_api.config import ApiSettings
from graphql_api.schema import schema as api_schema
from storage.engines import get_engine
from storage.tokens import create_token
from tests.support.api_server import EXAMPLE_MONTHS, GraphQLClient
from tests.support.paths import EXAMPLE_DATA

OWN = "P000003"  # attains in 2024-04 and 2024-09: customers at risk, expiring certifications, ...
MONTH = "2024-04"  # the month of every `month` argument (OWN attains; a certification expires within 90 days)
FROM, TO = "2024-01", "2024-12"
CONTROL = "P000000"  # another partner, read by the admin control
CONTROL_MONTH = "2024-01"  # nobody attains: the admin walk over every partner skips the costly at-risk search
UNKNOWN = "P999999"
# ids that are not OWN but look like it: must be null like any other partner
LOOKALIKES = ("p000003", " P000003", "P000003 ", "P0000030", "P00000", "P000003\t", "%", "P00000_", "*")

SETTINGS = ApiSettings(database_url="", admin_token=None, data_dir=EXAMPLE_DATA)
MAX_DEPTH = SETTINGS.max_depth  # a field at level L (root fields: 0) is allowed while L <= MAX_DEPTH
TOKEN_BUDGET = SETTINGS.max_tokens - 100  # per document, with room to spare
PROFILES = ("explicit", "defaults")  # every optional argument given a value from the data / omitted

# -------------------------------------------------------------------------------------------------
# the schema, in-process (introspection of the Strawberry schema object)


@cache
def gql_schema() -> GraphQLSchema:
    return build_client_schema(api_schema.introspect())


def object_types() -> dict[str, GraphQLObjectType]:
    return {
        name: t
        for name, t in gql_schema().type_map.items()
        if isinstance(t, GraphQLObjectType) and not name.startswith("__")
    }


# Fields the 2024 example cannot answer: counts-through dates exist from rulebook version 2026-09
# only. tests/graphql_api/test_api_2026.py reads them with a partner token over the 2026 example.
ONLY_ACROSS_2026 = {
    ("RetiringCertification", f) for f in ("personId", "certification", "level", "countsThrough", "daysLeft")
}


def under_admin_only() -> set[tuple[str, str]]:
    """The fields of object types reached only below a field documented as admin only (the
    program overview): a partner token gets null above them, so they are never answered there;
    the admin control walk answers them."""
    below: set[str] = set()
    todo = [get_named_type(object_types()[t].fields[f].type) for t, f in admin_only_fields()]
    while todo:
        t = todo.pop()
        if isinstance(t, GraphQLObjectType) and t.name not in below:
            below.add(t.name)
            todo += [get_named_type(field.type) for field in t.fields.values()]
    reached_otherwise = {
        get_named_type(field.type).name
        for name, t in object_types().items()
        if name not in below
        for f, field in t.fields.items()
        if (name, f) not in admin_only_fields()
    }
    return {(name, f) for name in below - reached_otherwise for f in object_types()[name].fields}


def schema_fields() -> set[tuple[str, str]]:
    """Every (type, field) of every object type of the schema, Query included."""
    return {(name, f) for name, t in object_types().items() for f in t.fields}


def admin_only_fields() -> set[tuple[str, str]]:
    """Fields the schema documents as admin only (null for a partner token)."""
    return {
        (name, f)
        for name, t in object_types().items()
        for f, field in t.fields.items()
        if field.description and "admin only" in field.description.lower()
    }


# -------------------------------------------------------------------------------------------------
# who owns what, from the input folder


@dataclasses.dataclass(frozen=True)
class Ownership:
    partner_ids: frozenset[str]
    names: dict[str, str]  # partner id -> name (registry partners with a name)
    persons: dict[str, str]  # person id -> partner id
    tenants: dict[str, frozenset[str]]  # partner id -> tenants it held in any month
    all_tenants: frozenset[str]  # every tenant of any input file
    held_in_month: list[dict[str, str]]  # OWN's association rows of MONTH

    def foreign(self, own: str) -> dict[str, set[str]]:
        """What must never reach ``own``'s token, by kind."""
        return {
            "partner id": set(self.partner_ids - {own}),
            "partner name": {n for p, n in self.names.items() if p != own and n and n != self.names.get(own)},
            "person": {person for person, p in self.persons.items() if p != own},
            "tenant": set(self.all_tenants - self.tenants.get(own, frozenset())),
        }


def _rows(path) -> Iterator[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


@cache
def ownership() -> Ownership:
    if not EXAMPLE_DATA.exists():
        pytest.skip(f"{EXAMPLE_DATA} is not beside the project")
    names = {r["partner_id"]: r["partner_name"] for r in _rows(EXAMPLE_DATA / "partners.csv")}
    persons = {r["person_id"]: r["partner_id"] for r in _rows(EXAMPLE_DATA / "certifications.csv")}
    tenants: dict[str, set[str]] = {}
    every_tenant: set[str] = set()
    held: list[dict[str, str]] = []
    for month_dir in sorted((EXAMPLE_DATA / "months").iterdir()):
        assoc, usage = month_dir / "associations.csv", month_dir / "workload_usage.csv"
        assert assoc.exists() and usage.exists(), f"{month_dir}: the walk reads the CSV example"
        for r in _rows(assoc):
            tenants.setdefault(r["partner_id"], set()).add(r["tenant_id"])
            every_tenant.add(r["tenant_id"])
            if r["partner_id"] == OWN and month_dir.name == MONTH:
                held.append(r)
        every_tenant |= {r["tenant_id"] for r in _rows(usage)}
    ids = set(names) | set(tenants) | set(persons.values())
    return Ownership(
        partner_ids=frozenset(ids),
        names=names,
        persons=persons,
        tenants={p: frozenset(t) for p, t in tenants.items()},
        all_tenants=frozenset(every_tenant),
        held_in_month=sorted(held, key=lambda r: (r["tenant_id"], r["workload"])),
    )


# -------------------------------------------------------------------------------------------------
# argument values: by argument name, else by type


class Enum(str):
    """An enum value (printed bare)."""


def literal(value) -> str:
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


OMIT = object()


def _nullable(t: GraphQLInputType) -> bool:
    return not isinstance(t, GraphQLNonNull)


@dataclasses.dataclass(frozen=True)
class Walk:
    pid: str  # the partner id given to `id` / `partnerId`
    profile: str  # "explicit" | "defaults"
    month: str


def _by_type(t: GraphQLInputType, w: Walk):
    named = get_named_type(t)
    if isinstance(named, GraphQLInputObjectType):
        value = input_object(named, w)
    elif isinstance(named, GraphQLEnumType):
        value = Enum(next(iter(named.values)))
    else:
        value = {"Month": w.month, "Date": f"{w.month}-15", "ID": w.pid, "Int": 1, "Float": 1.0, "Boolean": True}.get(
            named.name, "walk"
        )
    inner = t.of_type if isinstance(t, GraphQLNonNull) else t
    return [value] if isinstance(inner, GraphQLList) else value


def input_object(t: GraphQLInputObjectType, w: Walk) -> dict:
    """Every field of an input object given a sensible value (lists: one element)."""
    own = ownership().held_in_month[0] if (w.pid, w.month) == (OWN, MONTH) else None
    tenant = own["tenant_id"] if own else "walk-unknown-tenant"
    workload = own["workload"] if own else "Teams"
    table = {
        "level": Enum("ADVANCED"),
        "count": 1,
        "seats": 500,
        "activeUsers": 250,
        "option": Enum("CPOR"),
        "workloads": ["Exchange", "Teams"],
        "associatedOn": f"{w.month}-02",
        "workload": workload,
    }
    out = {}
    for name, field in t.fields.items():
        if name == "tenantId":
            # a new customer gets a tenant id of its own; the others name a tenant the partner holds
            value = "walk-new-customer" if t.name == "AddCustomerInput" else tenant
        elif name in table:
            value = table[name]
        else:
            value = _by_type(field.type, w)
        inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        if isinstance(inner, GraphQLList) and not isinstance(value, list):
            value = [value]
        out[name] = value
    return out


def argument(name: str, t: GraphQLInputType, w: Walk):
    """The value of an argument (OMIT: leave it out)."""
    if w.profile == "defaults" and _nullable(t):
        return OMIT
    if name in ("id", "partnerId"):
        return w.pid
    if name == "month":
        return w.month
    if name == "from":
        return FROM
    if name == "to":
        return TO
    if name == "first":
        return SETTINGS.max_page_size
    if name in ("after", "attained", "counted", "eligible", "option") or (name == "track" and _nullable(t)):
        return OMIT  # filters and cursors: everything there is
    if name == "track":  # Scorecard.path(track: Track!)
        return Enum("SMB" if w.profile == "defaults" else "ENTERPRISE")
    if name == "metric":  # PathScore.metric(metric: Metric!)
        return Enum("DEPLOYMENTS" if w.profile == "defaults" else "USAGE_GROWTH")
    if _nullable(t):
        return OMIT
    return _by_type(t, w)


# -------------------------------------------------------------------------------------------------
# selections: a tree per root field, every object type expanded once (at its shallowest place)


@dataclasses.dataclass
class Sel:
    owner: str  # the type the field belongs to
    name: str
    args: dict[str, str]  # argument -> literal
    level: int  # root fields: 0
    field: GraphQLField | None = None
    children: list[Sel] | None = None

    def text(self) -> str:
        out = self.name
        if self.args:
            out += "(" + ", ".join(f"{k}: {v}" for k, v in self.args.items()) + ")"
        if self.children is not None:
            out += " { " + " ".join(c.text() for c in self.children) + " }"
        return out

    def with_children(self, children: list[Sel]) -> Sel:
        return dataclasses.replace(self, children=children)

    def fields(self) -> Iterator[tuple[str, str]]:
        if self.name != "__typename":
            yield (self.owner, self.name)
        for c in self.children or ():
            yield from c.fields()


def _args(field: GraphQLField, w: Walk) -> dict[str, str]:
    out = {}
    for arg_name, arg in field.args.items():
        value = argument(arg_name, arg.type, w)
        if value is not OMIT:
            out[arg_name] = literal(value)
    return out


def build_tree(root: str, w: Walk) -> Sel:
    query = gql_schema().query_type
    top = Sel("Query", root, _args(query.fields[root], w), 0, query.fields[root])
    expanded: set[str] = set()
    queue = deque([top])
    while queue:
        sel = queue.popleft()
        named = get_named_type(sel.field.type)
        if is_leaf_type(named):
            continue
        assert isinstance(named, GraphQLObjectType), f"{named}: interfaces and unions are not walked yet"
        full = named.name not in expanded
        expanded.add(named.name)
        children = []
        for name, field in named.fields.items():
            leaf = is_leaf_type(get_named_type(field.type))
            if not leaf and (not full or sel.level + 1 >= MAX_DEPTH):
                continue
            child = Sel(named.name, name, _args(field, w), sel.level + 1, field)
            children.append(child)
            if not leaf:
                queue.append(child)
        sel.children = children or [Sel(named.name, "__typename", {}, sel.level + 1)]
    return top


def count_tokens(text: str) -> int:
    lexer = Lexer(Source(text))
    n = 0
    while lexer.advance().kind != TokenKind.EOF:
        n += 1
    return n


def split(sel: Sel, budget: int) -> list[Sel]:
    """Copies of ``sel`` each within ``budget`` tokens, whose children together are all of its."""
    if count_tokens(sel.text()) <= budget:
        return [sel]
    assert sel.children, f"{sel.owner}.{sel.name} alone is over the token budget"
    overhead = count_tokens(sel.with_children([]).text())
    pieces = [p for c in sel.children for p in split(c, budget - overhead)]
    groups: list[list[Sel]] = [[]]
    size = 0
    for p in pieces:
        n = count_tokens(p.text())
        if groups[-1] and size + n > budget - overhead:
            groups.append([])
            size = 0
        groups[-1].append(p)
        size += n
    return [sel.with_children(g) for g in groups]


@dataclasses.dataclass
class Doc:
    label: str  # root(pid)/profile #n
    root: str
    pid: str | None
    tree: Sel

    @property
    def query(self) -> str:
        return "{ " + self.tree.text() + " }"


ID_ROOTS = ("partner", "simulate")  # root fields that take a partner id


def id_roots() -> list[str]:
    """Root fields with a partner-id argument (ID!, named id or partnerId)."""
    return [
        name
        for name, f in gql_schema().query_type.fields.items()
        if any(a in ("id", "partnerId") and get_named_type(t.type).name == "ID" for a, t in f.args.items())
    ]


def documents(pid: str | None, *, roots: list[str] | None = None, profiles=PROFILES, month: str = MONTH) -> list[Doc]:
    """The walk's documents: for ``pid`` the roots that take a partner id, for None the others."""
    query = gql_schema().query_type
    with_id = set(id_roots())
    if roots is None:
        roots = [r for r in query.fields if (r in with_id) == (pid is not None)]
    docs = []
    for root in roots:
        for profile in profiles:
            tree = build_tree(root, Walk(pid or OWN, profile, month))
            for i, part in enumerate(split(tree, TOKEN_BUDGET - 2)):
                docs.append(Doc(f"{root}({pid or ''})/{profile} #{i}", root, pid, part))
    return docs


# -------------------------------------------------------------------------------------------------
# reading the answers


def visited(sel: Sel, value, out: set[tuple[str, str]]) -> None:
    """The (type, field) pairs present in an answer (the resolver ran under a non-null parent)."""
    if sel.children is None or value is None:
        return
    if isinstance(value, list):
        for v in value:
            visited(sel, v, out)
        return
    for c in sel.children:
        if c.name in value:
            if c.name != "__typename":
                out.add((c.owner, c.name))
            visited(c, value[c.name], out)


def field_values(sel: Sel, value, wanted: set[tuple[str, str]]) -> Iterator[tuple[tuple[str, str], object]]:
    """(field, value) for every occurrence of a wanted field in an answer."""
    if sel.children is None or value is None:
        return
    if isinstance(value, list):
        for v in value:
            yield from field_values(sel, v, wanted)
        return
    for c in sel.children:
        if c.name in value:
            if (c.owner, c.name) in wanted:
                yield (c.owner, c.name), value[c.name]
            yield from field_values(c, value[c.name], wanted)


_B64 = re.compile(r"^[A-Za-z0-9_\-]{8,}={0,2}$")


def strings(value) -> Iterator[str]:
    """Every string of an answer, keys included, and the decoded text of base64 ones (cursors)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif isinstance(value, str):
        yield value
        if _B64.match(value):
            with contextlib.suppress(binascii.Error, UnicodeDecodeError, ValueError):
                yield base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("utf-8")


def foreign_in(value, foreign: dict[str, set[str]]) -> dict[str, set[str]]:
    """What of ``foreign`` (by kind) appears anywhere in ``value`` (whole tokens: "P000001" is not
    in "P0000012", "Partner 1" is not in "Partner 12")."""
    kind_of = {token: kind for kind, tokens in foreign.items() for token in tokens}
    alternation = "|".join(re.escape(t) for t in sorted(kind_of, key=len, reverse=True))
    pattern = re.compile(r"(?<![A-Za-z0-9])(" + alternation + r")(?![0-9])")
    found: dict[str, set[str]] = {}
    for text in strings(value):
        for m in pattern.finditer(text):
            found.setdefault(kind_of[m.group(1)], set()).add(m.group(1))
    return found


@dataclasses.dataclass
class Answer:
    doc: Doc
    status: int
    body: dict
    seconds: float


def run(client: GraphQLClient, docs: list[Doc]) -> list[Answer]:
    out = []
    for doc in docs:
        t0 = time.perf_counter()
        r = client.post(doc.query)
        out.append(Answer(doc, r.status_code, r.json(), time.perf_counter() - t0))
    return out


def assert_clean(answers: list[Answer]) -> None:
    """Every document of the walk is valid and within the limits: 200, data, no error at all."""
    bad = [(a.doc.label, a.status, a.body.get("errors")) for a in answers if a.status != 200 or a.body.get("errors")]
    assert not bad, f"{len(bad)} walk documents answered with errors, e.g. {bad[:3]}"


def coverage(answers: list[Answer]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for a in answers:
        data = a.body.get("data") or {}
        if a.doc.tree.name in data:
            out.add(("Query", a.doc.tree.name))
            visited(a.doc.tree, data[a.doc.tree.name], out)
    return out


def _summary(label: str, answers: list[Answer], covered: set) -> str:
    slowest = max(answers, key=lambda a: a.seconds)
    return (
        f"{label}: {len(answers)} documents, {len(covered)}/{len(schema_fields())} fields answered, "
        f"{sum(a.seconds for a in answers):.1f} s (slowest {slowest.seconds:.2f} s: {slowest.doc.label})"
    )


# -------------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def own_client(api_sqlite) -> Iterator[GraphQLClient]:
    _, token = create_token(get_engine(api_sqlite.db_url), OWN, label="isolation walk")
    client = GraphQLClient(api_sqlite.url, token)
    yield client
    client.close()


# -------------------------------------------------------------------------------------------------
# the tests


def test_the_walk_selects_every_field_of_the_schema():
    """Static: the documents select every (type, field) of the schema, fit the limits, and the
    example data has what the walk relies on."""
    docs = documents(OWN) + documents(None)
    selected = {f for d in docs for f in d.tree.fields()}
    assert selected == schema_fields(), f"not walked: {sorted(schema_fields() - selected)}"
    for d in docs:
        assert count_tokens(d.query) <= SETTINGS.max_tokens, d.label
        assert max(_levels(d.tree)) <= MAX_DEPTH, d.label
    assert set(gql_schema().query_type.fields) == {d.root for d in docs}
    assert set(id_roots()) == set(ID_ROOTS), "a new root field takes a partner id: walk it with other ids too"
    data = ownership()
    assert OWN in data.partner_ids and CONTROL in data.partner_ids and UNKNOWN not in data.partner_ids
    assert data.held_in_month, f"{OWN} holds nothing in {MONTH}"
    assert {MONTH, CONTROL_MONTH} <= {f"{m:%Y-%m}" for m in EXAMPLE_MONTHS}
    # the documents split to fit any budget: each part fits, and the parts select the same fields
    split_some = False
    for d in docs:
        parts = split(d.tree, 200)
        assert all(count_tokens(p.text()) <= 200 for p in parts), d.label
        assert {f for p in parts for f in p.fields()} == set(d.tree.fields()), d.label
        split_some |= len(parts) > 1
    assert split_some
    assert admin_only_fields(), "no field documented as admin only: the walk checks those"


def _levels(sel: Sel) -> Iterator[int]:
    yield sel.level
    for c in sel.children or ():
        yield from _levels(c)


def test_partner_token_reaches_every_field_and_only_its_own_data(api_sqlite, own_client):
    data = ownership()
    foreign = data.foreign(OWN)
    docs = documents(OWN) + documents(None)
    answers = run(own_client, docs)
    assert_clean(answers)
    leaks = {}
    for a in answers:
        found = foreign_in(a.body, foreign)
        if found:
            leaks[a.doc.label] = found
    assert not leaks, f"other partners' data reached {OWN}'s token: {leaks}"
    covered = coverage(answers)
    print("\n" + _summary(f"partner token ({OWN})", answers, covered))
    answerable = schema_fields() - ONLY_ACROSS_2026 - under_admin_only()
    assert covered == answerable, f"never answered for {OWN}: {sorted(answerable - covered)}"
    assert not covered & ONLY_ACROSS_2026  # when the example reaches them, move them back into the walk
    assert not covered & under_admin_only()

    # admin-only fields are null; the lists at the root hold the partner's own rows only
    admin_only = admin_only_fields()
    for a in answers:
        data_ = a.body["data"]
        if ("Query", a.doc.root) in admin_only:
            assert data_[a.doc.root] is None, a.doc.label
        for field, value in field_values(a.doc.tree, data_[a.doc.root], admin_only):
            assert value is None, (a.doc.label, field, value)
        root = data_[a.doc.root]
        if isinstance(root, dict) and isinstance(root.get("totalCount"), int):
            assert root["totalCount"] <= 1, (a.doc.label, root["totalCount"])
        for key in ("nodes", "edges"):
            if isinstance(root, dict) and isinstance(root.get(key), list):
                assert len(root[key]) <= 1, a.doc.label

    # the partner's own documents answer exactly what the admin reads of that partner
    admin = api_sqlite.client
    for a in answers:
        if a.doc.pid == OWN:
            assert admin.execute(a.doc.query) == a.body, f"{a.doc.label}: the partner's view differs from the admin's"


@pytest.mark.parametrize("root", ID_ROOTS)
def test_partner_token_reads_null_for_every_other_partner_id(api_sqlite, own_client, root):
    others = sorted(ownership().partner_ids - {OWN}) + [UNKNOWN, *LOOKALIKES]
    docs = [d for pid in others for d in documents(pid, roots=[root])]
    answers = run(own_client, docs)
    assert_clean(answers)
    for a in answers:
        assert a.body == {"data": {root: None}}, (a.doc.label, json.dumps(a.body)[:300])
    print(f"\n{root}: {len(answers)} documents over {len(others)} ids not {OWN}'s, all null")


def test_admin_control_reads_other_partners_with_the_same_walk(api_sqlite):
    """The control: the same documents with the admin token do return other partners' data, so
    every detector above can fail."""
    data = ownership()
    foreign = data.foreign(OWN)
    docs = documents(CONTROL, month=CONTROL_MONTH, profiles=("explicit",))
    docs += documents(None, month=CONTROL_MONTH, profiles=("explicit",))
    answers = run(api_sqlite.client, docs)
    assert_clean(answers)
    found: dict[str, set[str]] = {}
    for a in answers:
        for kind, tokens in foreign_in(a.body, foreign).items():
            found.setdefault(kind, set()).update(tokens)
    # every kind of foreign data is detected, and the lists hold every partner
    assert set(found) == set(foreign), f"the control found only {sorted(found)} of {sorted(foreign)}"
    assert found["partner id"] == foreign["partner id"], sorted(foreign["partner id"] - found["partner id"])
    for a in answers:
        root = a.body["data"][a.doc.root]
        if a.doc.pid == CONTROL:
            assert root is not None and CONTROL in json.dumps(root), a.doc.label
    admin_only = admin_only_fields()
    seen = {
        f for a in answers for f, v in field_values(a.doc.tree, a.body["data"][a.doc.root], admin_only) if v is not None
    }
    seen |= {("Query", a.doc.root) for a in answers if a.body["data"][a.doc.root] is not None} & admin_only
    assert seen == admin_only, f"admin-only fields not answered for the admin: {sorted(admin_only - seen)}"
    below = under_admin_only()
    assert below and below <= coverage(answers), sorted(below - coverage(answers))
    print("\n" + _summary("admin control", answers, coverage(answers)))
