"""What a GraphQL operation may ask for: a depth limit and a cost limit, decided before
anything runs (docs/api.md "GraphQL cost").

Cost, counted on the document with its variables, in the manner of Shopify's
calculated query cost:

- a scalar or enum field costs 0; an object field 1 plus what is selected under it;
- a connection (`…Connection`) costs 2 plus `first` × (what is selected for one edge
  or node) plus its `pageInfo`; `first` defaults to `DEFAULT_FIRST`;
- a list sized by an argument (`variants(skus: […])`) costs its length × one item;
- a mutation field costs `MUTATION_COST` plus what its result selects;
- aliases and repeated fields count every time; fragments count where spread.

`MAX_COST` is the ceiling per operation; the rate limiter then takes the cost from
the key's bucket in tokens (`tokens_for`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
    is_leaf_type,
    validate,
    value_from_ast_untyped,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef
from graphql.validation import NoDeprecatedCustomRule

MAX_DEPTH = 8
MAX_COST = 1000
DEFAULT_FIRST = 50
MAX_FIRST = 250
MUTATION_COST = 10
#: A REST request is one token; a GraphQL query takes one token per this many points
#: (so the largest query, 1,000 points, takes a default bucket's 40 tokens).
POINTS_PER_TOKEN = 25
#: List fields whose length is given by an argument.
SIZED_BY = {"skus"}


def tokens_for(cost: int) -> int:
    """Tokens a query of `cost` points takes from the key's bucket (at least one)."""
    return max(1, math.ceil(cost / POINTS_PER_TOKEN))


def coded(message: str, code: str, **extensions: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **extensions})


class DepthLimit(ValidationRule):
    """Refuse operations nested deeper than MAX_DEPTH fields (fragments followed;
    introspection fields not counted, so GraphiQL's schema query passes)."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
        fragments = {
            d.name.value: d
            for d in self.context.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        depth = _depth(node.selection_set, fragments, {}, set())
        if depth > MAX_DEPTH:
            name = node.name.value if node.name else "anonymous"
            self.report_error(
                coded(
                    f"Operation {name!r} is nested {depth} fields deep; at most {MAX_DEPTH}.",
                    "MAX_DEPTH_EXCEEDED",
                    depth=depth,
                    maxDepth=MAX_DEPTH,
                )
            )


def _depth(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    memo: dict[str, int],
    visiting: set[str],
) -> int:
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue
            deepest = max(deepest, 1 + _depth(selection.selection_set, fragments, memo, visiting))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, memo, visiting))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in visiting or name not in fragments:
                continue  # a cycle or an unknown fragment: other rules report those
            if name not in memo:
                visiting.add(name)
                memo[name] = _depth(fragments[name].selection_set, fragments, memo, visiting)
                visiting.discard(name)
            deepest = max(deepest, memo[name])
    return deepest


class Costing:
    """The cost of one operation of a validated document, given its variables."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Mapping[str, Any] | None,
    ) -> None:
        self.schema, self.fragments = schema, fragments
        self.variables = variables or {}
        self.memo: dict[tuple[str, str], int] = {}

    def operation(self, operation: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        assert root is not None
        total = self.selections(operation.selection_set, root)
        if operation.operation is OperationType.MUTATION:
            total += MUTATION_COST * sum(
                1 for s in operation.selection_set.selections if isinstance(s, FieldNode)
            )
        return total

    def selections(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                on = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selections(selection.selection_set, on or parent)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is None:
                    continue
                key = (fragment.name.value, parent.name)
                if key not in self.memo:
                    self.memo[key] = 0  # guards a cycle (validation refuses them anyway)
                    on = self.schema.get_type(fragment.type_condition.name.value) or parent
                    self.memo[key] = self.selections(fragment.selection_set, on)
                total += self.memo[key]
        return total

    def flatten(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType, seen: set[str]
    ) -> list[FieldNode]:
        """The fields selected on `parent`, with fragments and inline fragments expanded."""
        out: list[FieldNode] = []
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                out.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                out += self.flatten(selection.selection_set, parent, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in seen or name not in self.fragments:
                    continue  # spread twice, the fields merge: they run (and count) once
                seen.add(name)
                out += self.flatten(self.fragments[name].selection_set, parent, seen)
        return out

    def _definition(self, node: FieldNode, parent: GraphQLNamedType) -> GraphQLField | None:
        name = node.name.value
        if name == "__typename":
            return TypeNameMetaFieldDef
        if name == "__schema":
            return SchemaMetaFieldDef
        if name == "__type":
            return TypeMetaFieldDef
        fields = getattr(parent, "fields", None)
        return fields.get(name) if fields else None

    def argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                if isinstance(argument.value, VariableNode):
                    return self.variables.get(argument.value.name.value)
                if isinstance(argument.value, ListValueNode):
                    values = argument.value.values
                    return [value_from_ast_untyped(v, self.variables) for v in values]
                return value_from_ast_untyped(argument.value, self.variables)
        return None

    def field(self, node: FieldNode, parent: GraphQLNamedType) -> int:
        definition = self._definition(node, parent)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        if named.name.endswith("Connection"):
            first = self.argument(node, "first")
            size = first if isinstance(first, int) and first > 0 else DEFAULT_FIRST
            if isinstance(first, int) and first <= 0:
                size = 0
            per_item, once = 0, 0
            for field_node in self.flatten(node.selection_set, named, set()):
                name = field_node.name.value
                if name in ("edges", "nodes"):
                    item = self._definition(field_node, named)
                    inner = get_named_type(item.type) if item else named
                    per_item += (name == "nodes") + self.selections(field_node.selection_set, inner)
                else:
                    once += self.field(field_node, named)
            return 2 + size * per_item + once
        inner = 1 + self.selections(node.selection_set, named)
        for name in SIZED_BY:
            sized = self.argument(node, name)
            if isinstance(sized, list):
                return max(1, len(sized)) * inner
        return inner


def deprecated_uses(schema: GraphQLSchema, document: Any) -> list[str]:
    """What the document uses that the schema marks @deprecated (fields, arguments,
    enum values), in graphql-core's words; empty when nothing."""
    return [error.message for error in validate(schema, document, [NoDeprecatedCustomRule])]


def operation_cost(
    schema: GraphQLSchema,
    document: Any,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    """The cost of the operation that will run (the named one, or the only one)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    chosen = [
        o
        for o in operations
        if operation_name is None or (o.name and o.name.value == operation_name)
    ]
    if not chosen:
        return 0
    return Costing(schema, fragments, variables).operation(chosen[0])
