"""The GraphQL API at /api/v1/graphql (docs/api.md "GraphQL"; schema in docs/schema.graphql).

`schema` holds the types and resolvers, `cost` the depth and cost limits, `loaders` the
DataLoaders that batch reads, `http` the endpoint. `python -m dashboard.api.graphql`
prints the schema (SDL): `make graphql-schema` writes it to docs/schema.graphql.
"""

from dashboard.api.graphql.http import router
from dashboard.api.graphql.schema import schema

__all__ = ["router", "schema"]
