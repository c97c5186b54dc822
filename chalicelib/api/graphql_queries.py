"""The read-only GraphQL API (Nue's `POST /orders/async/graphql`, seed 001) on graphql-core.

Queries `invoice`, `creditMemo`, `billingSchedule`, `billingJob`, `customer`, `subscription`, `order`,
`product`, each with `where` (the shared filter language of chalicelib/domain/filters.py), `orderBy`
(`{invoiceDate: desc}` or a list of such objects), `limit` (default 50, max 1000) and `offset`.

Decisions:
- `where` is a custom scalar `Filter`: a literal is printed back to GraphQL value text (graphql-core's
  print_ast) and parsed by `parse_filter` against the queried type's schema in domain/filter_schemas.py, the
  one schedule scopes and bulk `graphqlFilter`s use too; a variable may hold the object or its text.
  A bad filter is an execution error naming the filter path (`where: _and[0].status: ...`); the field is
  null and the other fields still answer.
- Money is the `Decimal` scalar: it serializes to decimal.Decimal (graphql-core's Float would pass through
  float) and the HTTP layer writes JSON numbers with simplejson's use_decimal.
- Cost (guarantee 6): invoices are read through the index `index_plan` picks (customer id / customerId
  equality -> by-customer, status equality -> by-status, otherwise by-date), in invoice-date order; the whole
  filter is then evaluated on each item. When the requested order is the index's (none, or invoiceDate)
  reading stops once offset+limit matches are found. Every query reads at most MAX_READ items, else the
  field errors and asks for a narrower filter. Other types read the tenant's partition, or what an id equality
  names: by id; a customer's subscriptions and orders (customerId, customer.id) and a product's subscriptions
  (productId, product.id) by index; an order's subscriptions (orderId, order.id) by the ids its lines hold.
  Bounded the same way.
- Tenant isolation: every read is keyed by the caller's tenant (context); relation lookups too.
"""
import logging
import types
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Callable, Union, get_args, get_origin

from graphql import (GraphQLArgument, GraphQLBoolean, GraphQLEnumType, GraphQLEnumValue, GraphQLError,
                     GraphQLField, GraphQLInputField, GraphQLInputObjectType, GraphQLInt, GraphQLList,
                     GraphQLNonNull, GraphQLObjectType, GraphQLScalarType, GraphQLSchema, GraphQLString,
                     print_ast)
from graphql.language import ast as gql
from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from ..domain.errors import BillrunError
from ..domain.filter_schemas import (BILLING_JOB, BILLING_SCHEDULE, CREDIT_MEMO, CUSTOMER, INVOICE, ORDER, PRODUCT,
                                     SUBSCRIPTION, record)
from ..domain.filters import And, FilterSchema, Not, Or, Relation, evaluate, index_plan, intersect, parse_filter
from ..domain.timeutil import format_instant
from ..services import views
from . import schemas as s
from .billing import invoice_view, memo_view
from .orders import _subscription_view

log = logging.getLogger("billrun.graphql")

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_READ = 10_000  # items one query field may read before it gives up and asks for a narrower filter
PAGE = 1000
MAX_TOKENS = 20_000  # query document tokens: bounds parsing cost


# --- scalars ----------------------------------------------------------------------------------------------


def _serialize_decimal(value):
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise GraphQLError(f"Decimal cannot represent {value!r}")
    return value


def _parse_decimal_value(value):
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise GraphQLError("Decimal must be a number")
    return Decimal(value)


def _parse_decimal_literal(node, _variables=None):
    if isinstance(node, (gql.IntValueNode, gql.FloatValueNode, gql.StringValueNode)):
        return Decimal(node.value)
    raise GraphQLError("Decimal must be a number")


DecimalScalar = GraphQLScalarType(
    "Decimal", description="An exact decimal number (money, quantities), written as a JSON number.",
    serialize=_serialize_decimal, parse_value=_parse_decimal_value, parse_literal=_parse_decimal_literal)


def _parse_filter_literal(node, _variables=None):
    return print_ast(node)  # GraphQL value text: parse_filter reads it with the type's schema


def _parse_filter_value(value):
    if value is not None and not isinstance(value, (dict, str)):
        raise GraphQLError("Filter must be an object such as {status: {_eq: \"Draft\"}} or its text")
    return value


FilterScalar = GraphQLScalarType(
    "Filter", description='A Hasura-style filter: {_and: [{customer: {id: {_eq: "..."}}}, {status: {_eq: '
                          '"Active"}}]}; operators _eq _neq _gt _gte _lt _lte _in _nin _is_null _like _ilike '
                          '_and _or _not; the fields of each type: docs/filters.md.',
    serialize=lambda value: value, parse_value=_parse_filter_value, parse_literal=_parse_filter_literal)

JSONScalar = GraphQLScalarType("JSON", description="Any JSON value.", serialize=lambda value: value)

Direction = GraphQLEnumType("OrderDirection", {"asc": GraphQLEnumValue("asc"), "desc": GraphQLEnumValue("desc")})

# --- output types from the API's pydantic shapes --------------------------------------------------------------

_OBJECTS: dict[str, GraphQLObjectType] = {}


def _graphql_type(annotation):
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return _graphql_type(args[0]) if len(args) == 1 else JSONScalar
    if getattr(annotation, "__metadata__", None) is not None:  # Annotated[X, ...]
        return _graphql_type(get_args(annotation)[0])
    if origin in (list, tuple):
        args = get_args(annotation)
        return GraphQLList(_graphql_type(args[0])) if args else JSONScalar
    if annotation is type(None):
        return GraphQLString  # a seed field billrun never fills: always null
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return object_type(annotation)
        if issubclass(annotation, bool):
            return GraphQLBoolean
        if issubclass(annotation, Decimal):
            return DecimalScalar
        if issubclass(annotation, int):
            return GraphQLInt
        if issubclass(annotation, (str, date, Enum)):  # dates as ISO text, enums as canonical values
            return GraphQLString
    return JSONScalar


def object_type(model: type[BaseModel]) -> GraphQLObjectType:
    name = model.__name__
    if name not in _OBJECTS:
        _OBJECTS[name] = GraphQLObjectType(name, lambda: {
            (f.alias or to_camel(field_name)): GraphQLField(_graphql_type(f.annotation), description=f.description)
            for field_name, f in model.model_fields.items()}, description=(model.__doc__ or "").strip() or None)
    return _OBJECTS[name]


def _plain(value):
    """JSON-ready values, Decimal kept: dates ISO, instants as the API writes them."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def shaped(model: type[BaseModel], view) -> dict:
    """The object exactly as the REST API answers it (same pydantic model, camelCase)."""
    return _plain(model.model_validate(view).model_dump(by_alias=True))


# --- reading ----------------------------------------------------------------------------------------------


class Query:
    """One query field's request: filter, order, window; `needed` is how many matches to keep."""

    def __init__(self, where, schema: FilterSchema, order: list[tuple[str, bool]], limit: int, offset: int):
        self.filter = parse_filter(where, schema, "where")
        self.order = order
        self.limit, self.offset = limit, offset
        self.read = 0

    def needed(self, index_order: tuple[str, bool] | None) -> int | None:
        """Matches to collect before reading can stop: offset+limit when the index already yields the
        requested order, else everything (None)."""
        if not self.order or (index_order is not None and self.order == [index_order]):
            return self.offset + self.limit
        return None

    def count(self, n: int, what: str) -> None:
        self.read += n
        if self.read > MAX_READ:
            raise GraphQLError(f"this query reads more than {MAX_READ} {what}; narrow `where` with an indexed "
                               f"field (customer.id, customerId, status) or a smaller window")

    def window(self, rows: list[dict], key: Callable[[dict], dict]) -> list:
        for field_name, descending in reversed(self.order):  # stable sorts, last key first
            rows.sort(key=lambda r: _sort_key(key(r).get(field_name)), reverse=descending)
        return rows[self.offset:self.offset + self.limit]


def _sort_key(value):
    """Nulls sort after every value (last ascending, first descending, as in PostgreSQL/Hasura)."""
    if value is None:
        return (1, 0)
    if isinstance(value, Enum):
        value = value.value
    return (0, value)


def _pages(fetch: Callable[[str | None], tuple[list, str | None]]):
    """Every item of a paged store list, page by page (lazily: the caller may stop early)."""
    token = None
    while True:
        items, token = fetch(token)
        yield items
        if token is None:
            return


_RELATED = {"customer": views.customers, "order": views.orders,
            "product": views.products}  # read by `<name>_id`


def _relation_filters(f) -> dict[str, list]:
    """{relation name: the filters given inside it} of the relations f uses on its own record (not deeper)."""
    if isinstance(f, Relation):
        return {f.name: [f.filter]}
    inner = [f.filter] if isinstance(f, Not) else list(f.items) if isinstance(f, (And, Or)) else []
    used: dict[str, list] = {}
    for item in inner:
        for name, filters in _relation_filters(item).items():
            used.setdefault(name, []).extend(filters)
    return used


class Relations:
    """What a filter reads of each entity: its record, with the related records the filter uses (only those,
    and theirs in turn: `subscription.order.customer`), each read once per id within one request."""

    def __init__(self, tenant_id: str, q: Query):
        self.tenant_id = tenant_id
        self.q = q
        self.cache: dict[tuple, dict | None] = {}
        self.needs = _needs(q.filter)

    def record(self, entity) -> dict:
        return self._record(entity, self.needs, ())

    def _record(self, entity, needs: dict, path: tuple) -> dict:
        return record(entity, **{name: self.get(name, getattr(entity, f"{name}_id"), needs[name], path + (name,))
                                 for name in needs})

    def get(self, name: str, ident: str | None, needs: dict, path: tuple) -> dict | None:
        if ident is None:
            return None
        key = (path, ident)
        if key not in self.cache:
            self.q.count(1, "items")
            entity = _RELATED[name].find(self.tenant_id, ident)
            self.cache[key] = None if entity is None else self._record(entity, needs, path)
        return self.cache[key]


def _needs(f) -> dict:
    """The tree of relations a filter reads: {name: {its relations' names: ...}}."""
    return {name: _needs(And(tuple(filters))) for name, filters in _relation_filters(f).items()}


def _collect(q: Query, pages, to_record: Callable, needed: int | None, what: str,
             stop: Callable[[Any], bool] | None = None) -> list:
    """(entity, record) of matches, reading pages until `needed` matches (or the end, or `stop`)."""
    found = []
    if needed == 0:
        return found
    for items in pages:
        q.count(len(items), what)
        for entity in items:
            if stop is not None and stop(entity):
                return found
            rec = to_record(entity)
            if evaluate(q.filter, rec):
                found.append((entity, rec))
                if needed is not None and len(found) >= needed:
                    return found
    return found


def find_invoices(tenant_id: str, q: Query) -> list:
    plan = index_plan(q.filter)
    to_record = Relations(tenant_id, q).record
    first = q.order[0] if q.order else ("invoiceDate", False)
    newest_first = first == ("invoiceDate", True)
    needed = q.needed(("invoiceDate", newest_first))
    options = {"newest_first": newest_first} if newest_first else {}

    customers = intersect(plan.equals.get("customer.id"), plan.equals.get("customerId"))
    if customers is not None:
        sources = [dict(customer_id=c) for c in customers]
    elif plan.equals.get("status") is not None:
        sources = [dict(status=_value(status)) for status in plan.equals["status"]]
    else:
        sources = [{}]
    stop = _date_stop(plan.ranges.get("invoiceDate"), newest_first)
    found = []
    for source in sources:  # each source is in index order: its first `needed` matches suffice
        size = PAGE if needed is None else max(1, min(PAGE, needed))
        pages = _pages(lambda token, source=source: views.invoices.list(
            tenant_id, limit=size, next_token=token, **source, **options))
        found += _collect(q, pages, to_record, needed, "invoices", stop)
    if len(sources) > 1 or not q.order:  # merge the sources; keep index order (invoice date, then id)
        found.sort(key=lambda pair: (pair[0].invoice_date, pair[0].id), reverse=newest_first)
    return [entity for entity, _ in q.window(found, lambda pair: pair[1])]


def _value(member):
    return member.value if isinstance(member, Enum) else member


def _date_stop(bounds, newest_first: bool):
    """In invoice-date order, the first invoice past the range ends the read (nothing later can match)."""
    if bounds is None:
        return None
    if not newest_first and bounds.upper is not None:
        return lambda inv: inv.invoice_date > bounds.upper or (
            inv.invoice_date == bounds.upper and not bounds.upper_inclusive)
    if newest_first and bounds.lower is not None:
        return lambda inv: inv.invoice_date < bounds.lower or (
            inv.invoice_date == bounds.lower and not bounds.lower_inclusive)
    return None


def _find_in_partition(tenant_id: str, q: Query, fetch, to_record, what: str, repo=None,
                       index_order=None) -> list:
    """Items of the tenant's partition (or those named by an id equality), filtered, ordered, windowed."""
    ids = index_plan(q.filter).equals.get("id") if repo is not None else None
    if ids is not None:
        entities = [e for e in (repo.find(tenant_id, i) for i in dict.fromkeys(ids)) if e is not None]
        q.count(len(entities), what)
        pages = iter([entities])
        needed = None
    else:
        pages = _pages(fetch)
        needed = q.needed(index_order)
    found = _collect(q, pages, to_record, needed, what)
    return [entity for entity, _ in q.window(found, lambda pair: pair[1])]


# --- resolvers --------------------------------------------------------------------------------------------


def _ctx(info):
    return info.context


def _order(args, type_name: str) -> list[tuple[str, bool]]:
    order = []
    for i, item in enumerate(args.get("orderBy") or []):
        chosen = [(k, v) for k, v in item.items() if v is not None]
        if len(chosen) != 1:
            raise GraphQLError(f"orderBy[{i}]: give exactly one field per object (use a list for several, such "
                               f"as [{{invoiceDate: desc}}, {{name: asc}}])")
        name, direction = chosen[0]
        order.append((name, direction == "desc"))
    return order


def _query(args, schema: FilterSchema, type_name: str) -> Query:
    limit, offset = args.get("limit", DEFAULT_LIMIT), args.get("offset", 0)
    if limit is None or not 0 <= limit <= MAX_LIMIT:
        raise GraphQLError(f"limit: must be between 0 and {MAX_LIMIT}")
    if offset is None or offset < 0:
        raise GraphQLError("offset: must be 0 or more")
    return Query(args.get("where"), schema, _order(args, type_name), limit, offset)


def _resolver(schema: FilterSchema, type_name: str, run: Callable):
    def resolve(_root, info, **args):
        try:
            q = _query(args, schema, type_name)
            return run(_ctx(info), q)
        except GraphQLError:
            raise
        except BillrunError as error:  # a bad filter: the message names the path (where: _and[0].status: ...)
            raise GraphQLError(error.message) from None
        except Exception:  # a bug: logged with its trace, never shown, never a 500
            log.exception("graphql field %s failed", info.field_name)
            raise GraphQLError("an internal error occurred") from None
    return resolve


def _invoices(ctx, q):
    return [shaped(s.Invoice, invoice_view(ctx.tenant.id, i)) for i in find_invoices(ctx.tenant.id, q)]


def _credit_memos(ctx, q):
    tenant_id = ctx.tenant.id
    to_record = Relations(tenant_id, q).record
    customers = intersect(index_plan(q.filter).equals.get("customer.id"),
                           index_plan(q.filter).equals.get("customerId"))
    found = []
    for source in ([dict(customer_id=c) for c in customers] if customers is not None else [{}]):
        found += _collect(q, _pages(lambda token, source=source: views.credit_memos.list(
            tenant_id, limit=PAGE, next_token=token, **source)), to_record, None, "credit memos")
    return [shaped(s.CreditMemo, memo_view(m)) for m, _ in q.window(found, lambda pair: pair[1])]


def _subscriptions(ctx, q):
    tenant_id = ctx.tenant.id
    to_record = Relations(tenant_id, q).record
    plan = index_plan(q.filter)
    customers = intersect(plan.equals.get("customer.id"), plan.equals.get("customerId"))
    order_ids = intersect(plan.equals.get("order.id"), plan.equals.get("orderId"))
    product_ids = intersect(plan.equals.get("product.id"), plan.equals.get("productId"))
    if plan.equals.get("id") is not None:
        sources = None  # read by id
    elif customers is not None:
        sources = [dict(customer_id=c) for c in dict.fromkeys(customers)]
    elif order_ids is not None:  # an order's lines name its subscriptions: read by id
        chosen = views.orders.find_many(tenant_id, order_ids)
        q.count(len(chosen), "orders")
        sources = [views.subscriptions.of_orders(tenant_id, [chosen[i] for i in sorted(chosen)])]
    elif product_ids is not None:
        sources = [dict(product_id=p) for p in dict.fromkeys(product_ids)]
    else:
        sources = None
    if sources is None:
        subs = _find_in_partition(
            tenant_id, q, lambda token: views.subscriptions.list(tenant_id, limit=PAGE, next_token=token),
            to_record, "subscriptions", repo=views.subscriptions, index_order=("id", False))
    else:
        found = []
        for source in sources:
            pages = iter([source]) if isinstance(source, list) else _pages(
                lambda token, source=source: views.subscriptions.list(
                    tenant_id, limit=PAGE, next_token=token, **source))
            found += _collect(q, pages, to_record, None, "subscriptions")
        subs = [entity for entity, _ in q.window(found, lambda pair: pair[1])]
    zones: dict = {}
    return [shaped(s.Subscription, _subscription_view(ctx, sub, zones)) for sub in subs]


def _orders(ctx, q):
    """An order filter naming order ids reads those; naming customers (customerId, customer.id), their orders by
    index; otherwise the tenant's, in id order."""
    tenant_id = ctx.tenant.id
    to_record = Relations(tenant_id, q).record
    plan = index_plan(q.filter)
    customers = intersect(plan.equals.get("customer.id"), plan.equals.get("customerId"))
    if customers is not None and plan.equals.get("id") is None:
        found = []
        for c in dict.fromkeys(customers):
            found += _collect(q, _pages(lambda token, c=c: views.orders.list(
                tenant_id, customer_id=c, limit=PAGE, next_token=token)), to_record, None, "orders")
        chosen = [entity for entity, _ in q.window(found, lambda pair: pair[1])]
    else:
        chosen = _find_in_partition(
            tenant_id, q, lambda token: views.orders.list(tenant_id, limit=PAGE, next_token=token),
            to_record, "orders", repo=views.orders, index_order=("id", False))
    return [shaped(s.Order, o) for o in chosen]


def _in_partition(repo, what: str, shape, index_order=("id", False)):
    """The resolver of an entity read from the tenant's partition (or by the ids a filter names), filtered,
    ordered and windowed, each shaped as its REST answer."""
    def run(ctx, q):
        tenant_id = ctx.tenant.id
        found = _find_in_partition(
            tenant_id, q, lambda token: repo.list(tenant_id, limit=PAGE, next_token=token), record, what, repo=repo,
            index_order=index_order)
        return [shaped(shape, x) for x in found]
    return run


_customers = _in_partition(views.customers, "customers", s.Customer)
_products = _in_partition(views.products, "products", s.Product)
_schedules = _in_partition(views.billing_schedules, "billing schedules", s.BillingSchedule)
_jobs = _in_partition(views.billing_jobs, "billing jobs", s.BillingJob, index_order=("scheduledTime", True))


# --- schema -----------------------------------------------------------------------------------------------


def _order_input(type_name: str, schema: FilterSchema) -> GraphQLInputObjectType:
    return GraphQLInputObjectType(f"{type_name}OrderBy", {
        name: GraphQLInputField(Direction) for name in schema.fields})


def _root_field(model, schema: FilterSchema, run: Callable, description: str) -> GraphQLField:
    type_name = model.__name__
    return GraphQLField(
        GraphQLList(GraphQLNonNull(object_type(model))),
        args={
            "where": GraphQLArgument(FilterScalar, description="filter; omitted or {} matches everything"),
            "orderBy": GraphQLArgument(GraphQLList(GraphQLNonNull(_order_input(type_name, schema))),
                                       description="e.g. {invoiceDate: desc} or [{status: asc}, {name: desc}]"),
            "limit": GraphQLArgument(GraphQLInt, default_value=DEFAULT_LIMIT,
                                     description=f"at most {MAX_LIMIT}"),
            "offset": GraphQLArgument(GraphQLInt, default_value=0),
        },
        resolve=_resolver(schema, type_name, run), description=description)


_SCHEMA: GraphQLSchema | None = None


def schema() -> GraphQLSchema:
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = GraphQLSchema(GraphQLObjectType("Query", lambda: {
            "invoice": _root_field(s.Invoice, INVOICE, _invoices, "Invoices with their lines"),
            "creditMemo": _root_field(s.CreditMemo, CREDIT_MEMO, _credit_memos, "Credit memos"),
            "billingSchedule": _root_field(s.BillingSchedule, BILLING_SCHEDULE, _schedules, "Billing schedules"),
            "billingJob": _root_field(s.BillingJob, BILLING_JOB, _jobs, "Billing jobs"),
            "customer": _root_field(s.Customer, CUSTOMER, _customers, "Customers"),
            "subscription": _root_field(s.Subscription, SUBSCRIPTION, _subscriptions, "Subscriptions"),
            "order": _root_field(s.Order, ORDER, _orders, "Orders with their lines"),
            "product": _root_field(s.Product, PRODUCT, _products, "Products"),
        }))
    return _SCHEMA
