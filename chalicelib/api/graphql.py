"""GraphQL over HTTP (Nue dialect, seed 001): `POST /orders/async/graphql`, alias `POST /graphql`.

Auth and tenant isolation come from the shared `operation` registry (the caller's key picks the tenant; every
resolver reads that tenant's partition only). Answers follow the GraphQL spec's response format:
- a document that does not parse or validate, or variables that do not coerce: HTTP 400 `{"errors": [...]}`
  (nothing was executed, so there is no `data`);
- otherwise HTTP 200 `{"data": ...}`, plus `"errors"` when a field failed (a bad `where` names the filter path;
  that field is null, the others answer).
Money stays Decimal end to end: the Decimal scalar serializes to decimal.Decimal and http.json_response
writes it with simplejson's use_decimal."""
from typing import Any

from chalice import Blueprint
from graphql import GraphQLError, execute, parse, validate
from pydantic import Field

from . import graphql_queries
from . import schemas as s
from .http import json_response, operation

bp = Blueprint(__name__)
TAG = "GraphQL"


class GraphQLRequest(s.Input):
    query: str = Field(max_length=100_000)
    variables: dict | None = None
    operation_name: str | None = Field(None, max_length=255)
    extensions: dict | None = None


class GraphQLErrorLocation(s.Output):
    line: int
    column: int


class GraphQLErrorItem(s.Output):
    message: str
    locations: list[GraphQLErrorLocation] | None = None
    path: list[str | int] | None = None


class GraphQLErrors(s.Output):
    """A request that could not run (syntax, validation, variables): the GraphQL spec's answer, with a 400."""
    errors: list[GraphQLErrorItem]


class GraphQLAnswer(s.Output):
    data: dict[str, Any] | None = None
    errors: list[GraphQLErrorItem] | None = None


def _errors(errors: list[GraphQLError]) -> list[dict]:
    return [error.formatted for error in errors]


def run_query(ctx, body: GraphQLRequest):
    schema = graphql_queries.schema()
    try:
        document = parse(body.query, max_tokens=graphql_queries.MAX_TOKENS)
    except GraphQLError as error:
        return json_response({"errors": _errors([error])}, 400)
    except IndexError:  # graphql-core 3.2 reads past the end of a query that ends in a backslash inside a string
        return json_response({"errors": [{"message": "Syntax Error: unterminated string (it ends in a backslash)"}]},
                             400)
    problems = validate(schema, document)
    if problems:
        return json_response({"errors": _errors(problems)}, 400)
    result = execute(schema, document, context_value=ctx, variable_values=body.variables,
                     operation_name=body.operation_name)
    if result.data is None and result.errors:  # variables or operation name refused: nothing ran
        return json_response({"errors": _errors(result.errors)}, 400)
    answer: dict = {"data": result.data}
    if result.errors:
        answer["errors"] = _errors(result.errors)
    return json_response(answer, 200)


@operation(bp, "POST", "/orders/async/graphql", summary="GraphQL queries: invoice, creditMemo, billingSchedule, "
           "billingJob, customer, subscription, order, product (where, orderBy, limit, offset)", tag=TAG,
           body=GraphQLRequest, response=GraphQLAnswer, bad_request=GraphQLErrors)
def graphql_nue(call):
    return run_query(call.ctx, call.body)


@operation(bp, "POST", "/graphql", summary="GraphQL queries (alias of /orders/async/graphql)", tag=TAG,
           body=GraphQLRequest, response=GraphQLAnswer, bad_request=GraphQLErrors)
def graphql_alias(call):
    return run_query(call.ctx, call.body)
