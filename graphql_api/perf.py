"""The fast path: plain attribute fields resolved by ``getattr``, plain leaves completed without
graphql-core's per-field machinery. Relies on Strawberry internals (pinned to 0.327.x);
``build_schema(leaf_execution=False)`` is the stock path the equivalence test compares with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLEnumType, GraphQLObjectType, Undefined, get_nullable_type, is_leaf_type, is_non_null_type
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField


def _getter(attr: str) -> Callable[[object, object], object]:
    def resolve(source: object, info: object) -> object:
        return getattr(source, attr)

    return resolve


# set on a GraphQLField by fast_resolvers: (attribute, the leaf type's serialize, non-null)
LEAF = "_pcs_leaf"


def _serializer(leaf: Any) -> Callable[[Any], Any]:
    """The leaf type's serialize; for a Strawberry enum, a dict lookup member -> name (its own
    serialize compares the value with each of the enum's values in turn). A value that is not a
    member gives None, which sends the field to graphql-core's own way."""
    wrapped = getattr(leaf, "wrapped_cls", None)
    if isinstance(leaf, GraphQLEnumType) and wrapped is not None:
        names = {}
        for member in wrapped:
            for name, value in leaf.values.items():
                if member.value == value.value:
                    names[member] = name
                    break
        return names.get
    return leaf.serialize


def fast_resolvers(built: strawberry.Schema) -> int:
    """Resolve plain attribute fields (no resolver, no extension, no permission) with a bare
    ``getattr`` instead of Strawberry's per-field wrapper. Same values (Strawberry's own basic
    resolver is ``getattr(source, python_name)``), less work: a 100-scorecard page resolves
    ~12,000 such fields. Those without arguments whose type is a scalar or an enum are also
    marked for ``LeafExecutionContext``. Returns how many fields it changed."""
    changed = 0
    for name, gql_type in built._schema.type_map.items():
        if name.startswith("__") or not isinstance(gql_type, GraphQLObjectType):
            continue
        for gql_field in gql_type.fields.values():
            field = (gql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if isinstance(field, StrawberryField) and field.is_basic_field and not field.permission_classes:
                gql_field.resolve = _getter(field.python_name)
                leaf = get_nullable_type(gql_field.type)
                if not gql_field.args and is_leaf_type(leaf):
                    setattr(gql_field, LEAF, (field.python_name, _serializer(leaf), is_non_null_type(gql_field.type)))
                changed += 1
    return changed


class LeafExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution with a short way for the leaf fields ``fast_resolvers`` marked:
    read the attribute and serialize it. Anything unusual (a null for a non-null field, a value
    that does not serialize, an exception, field middleware) takes graphql-core's own way, which
    gives the same value or the same error as without this."""

    def execute_field(self, parent_type: Any, source: Any, field_nodes: list, path: Any) -> Any:
        field_def = parent_type.fields.get(field_nodes[0].name.value)
        leaf = getattr(field_def, LEAF, None) if field_def is not None else None
        middleware = self.middleware_manager
        if leaf is not None and (middleware is None or not middleware.middlewares):
            attr, serialize, non_null = leaf
            try:
                value = getattr(source, attr)
                if value is None:
                    if not non_null:
                        return None
                else:
                    result = serialize(value)
                    if result is not None and result is not Undefined:
                        return result
            except Exception:
                pass
        return super().execute_field(parent_type, source, field_nodes, path)
