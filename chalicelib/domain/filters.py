"""One filter language, Hasura style, for schedule scopes, bulk `graphqlFilter`s and GraphQL `where`.

    {status: {_eq: "Draft"}}
    {_and: [{customer: {id: {_eq: "001"}}}, {status: {_eq: "Active"}}]}

`parse_filter` validates GraphQL value text, JSON text or a dict against a `FilterSchema` and returns an
immutable AST; `evaluate` runs it on a record; `index_plan` says what an index can serve; `to_text` prints
the canonical text (stored on billing schedules and echoed back).

Decisions:
- Empty: None and a top-level `{}` match everything (`to_text` prints that filter as `{}`). A blank string,
  an empty nested object (`{customer: {}}`, `{_not: {}}`, `{status: {}}`) and an empty `_and`/`_or` list
  are refused: they read as "match all" to some and "match none" to others, and in a bulk operation a
  guess activates or deletes the wrong invoices. `_in: []` matches nothing and `_nin: []`
  every non-null value: plain set semantics, no guess involved.
- Null: a missing key and None are null. Only `_is_null` matches null; every comparison with null is
  false, `_neq` and `_nin` included (as in SQL). Logic is two-valued, so `_not` negates exactly:
  `{_not: {x: {_eq: 1}}}` matches a null x, `{x: {_neq: 1}}` does not. A null operand (`_eq: null`)
  is refused: `_is_null` says it without ambiguity.
- A null (or missing) related record reads as a record whose fields are all null: comparisons inside the
  relation fail, `{customer: {id: {_is_null: true}}}` matches.
- `_like`/`_ilike` are SQL LIKE on the whole value: `%` any run of characters, `_` exactly one, a
  backslash makes the next character literal; `_like` is case-sensitive, `_ilike` is not. Matching never
  backtracks, so a hostile pattern cannot stall a tick.
- Numbers are int or Decimal, never float; integral numbers become int, so `10.0` and `10` are one filter.
- A value that cannot be read as its field's kind (a record's "abc" in a number field, a naive datetime)
  compares false with everything and is not null.
- Canonical text keeps the given order and prints an AND of distinct keys as one object
  (`{status: {_eq: "Draft"}, amount: {_gt: 10}}`); parse_filter(to_text(f)) == f.
- Limits keep bad input a 400: 32 levels of nesting, 20,000 GraphQL tokens, 40 significant digits.
"""
import json
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Context, Decimal
from enum import Enum
from functools import lru_cache
from typing import Any, Mapping, Union

from graphql.error import GraphQLError
from graphql.language import ast as gql
from graphql.language.parser import parse_value
from graphql.language.print_string import print_string

from .errors import invalid
from .timeutil import UTC, parse_date, parse_instant

# --- schema ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldType:
    kind: str  # "string" | "number" | "date" | "datetime" | "boolean" | "enum"
    enum: type | None = None  # a CanonicalEnum for kind "enum"


@dataclass(frozen=True)
class FilterSchema:
    name: str  # e.g. "invoice", used in messages
    fields: dict[str, FieldType]  # camelCase field names
    relations: dict[str, "FilterSchema"] = field(default_factory=dict)
    indexed: frozenset[str] = frozenset()  # fields a store can serve from an index (equality, ranges)


# --- AST ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchAll:
    """No filter: every record matches."""


@dataclass(frozen=True)
class Condition:
    """`{path: {op: value}}` on a field of the record the condition is evaluated against."""
    path: str
    op: str
    value: Any  # typed: str, int, Decimal, date, datetime (UTC), bool, enum member; a tuple for _in/_nin
    field_type: FieldType = field(default=FieldType("string"), repr=False)
    indexed: bool = field(default=False, repr=False)  # the root record's store indexes this field


@dataclass(frozen=True)
class Relation:
    name: str
    filter: "Filter"


@dataclass(frozen=True)
class Not:
    filter: "Filter"


@dataclass(frozen=True)
class And:
    items: tuple["Filter", ...]


@dataclass(frozen=True)
class Or:
    items: tuple["Filter", ...]


Filter = Union[MatchAll, Condition, Relation, Not, And, Or]

# --- operators ------------------------------------------------------------------------------------

_RANGE = ("_gt", "_gte", "_lt", "_lte")
_EQUALITY = ("_eq", "_neq", "_in", "_nin", "_is_null")
_ORDERED = _EQUALITY + _RANGE
OPERATORS: dict[str, tuple[str, ...]] = {
    "string": _ORDERED + ("_like", "_ilike"),
    "number": _ORDERED,
    "date": _ORDERED,
    "datetime": _ORDERED,
    "boolean": _EQUALITY,
    "enum": _EQUALITY,  # enum order is declaration order, meaningless to a user: no ranges
}
_ALL_OPERATORS = frozenset(op for ops in OPERATORS.values() for op in ops)
LOGICAL = ("_and", "_or", "_not")

MAX_DEPTH = 32  # nesting of filter objects; bounds recursion everywhere
MAX_DIGITS = 40  # significant digits and magnitude of a number
MAX_TOKENS = 20_000  # GraphQL tokens in a filter text; bounds parsing cost
_EXAMPLE = '{status: {_eq: "Draft"}}'
_LOOKS_LIKE_JSON = re.compile(r'\s*\{\s*(?:"|\})')  # JSON objects start with a quoted key (or are {})


class _Issue(Exception):
    """Bad input at a path; parse_filter reports it as invalid(field_name, "path: problem")."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}" if path else problem)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- parsing --------------------------------------------------------------------------------------


def parse_filter(source, schema: FilterSchema, field_name: str = "filter") -> Filter:
    """A validated filter from GraphQL or JSON text, a dict, or None (match everything)."""
    if source is None:
        return MatchAll()
    try:
        value = _load(source)
        if not isinstance(value, Mapping):
            raise _Issue("", f"must be an object such as {_EXAMPLE}")
        if not value:
            return MatchAll()
        return _Scope(schema, schema.indexed).object(value, "")
    except _Issue as issue:
        raise invalid(field_name, str(issue)) from None
    except RecursionError:  # graphql-core and json recurse per nesting level
        raise invalid(field_name, f"nested deeper than {MAX_DEPTH} levels") from None


def _load(source):
    """Plain Python data (dicts, lists, str, Decimal, bool, None) from any accepted source."""
    if isinstance(source, Mapping):
        return source
    if not isinstance(source, str):
        raise _Issue("", f"must be an object such as {_EXAMPLE}, or its text")
    if not source.strip():
        raise _Issue("", f"is blank; give a filter such as {_EXAMPLE}, or {{}} to match everything")
    if _LOOKS_LIKE_JSON.match(source):
        return _load_json(source)
    return _load_graphql(source)


def _load_json(text: str):
    try:
        return json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_no_constant,
                          object_pairs_hook=_unique_keys)
    except ValueError as error:  # JSONDecodeError is one
        raise _Issue("", f"invalid JSON: {error}") from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} given twice")
        result[key] = value
    return result


def _load_graphql(text: str):
    try:
        node = parse_value(text, max_tokens=MAX_TOKENS)
    except GraphQLError as error:
        where = "".join(f" (line {loc.line}, column {loc.column})" for loc in (error.locations or [])[:1])
        raise _Issue("", f"{error.message}{where}") from None
    except IndexError:  # graphql-core 3.2 reads past the end of a string that ends in a backslash
        raise _Issue("", "unterminated string (it ends in a backslash)") from None
    return _from_ast(node, "")


def _from_ast(node: gql.ValueNode, path: str):
    """Walk the value AST ourselves: numbers become Decimal (never float), duplicate keys are refused."""
    if isinstance(node, gql.ObjectValueNode):
        result = {}
        for item in node.fields:
            key = item.name.value
            if key in result:
                raise _Issue(_join(path, key), "given twice")
            result[key] = _from_ast(item.value, _join(path, key))
        return result
    if isinstance(node, gql.ListValueNode):
        return [_from_ast(item, f"{path}[{i}]") for i, item in enumerate(node.values)]
    if isinstance(node, (gql.IntValueNode, gql.FloatValueNode)):
        return Decimal(node.value)
    if isinstance(node, gql.NullValueNode):
        return None
    if isinstance(node, gql.VariableNode):
        raise _Issue(path, f"variables (${node.name.value}) are not allowed in a filter")
    return node.value  # string, boolean, or a bare enum word such as Draft (read as the string "Draft")


@dataclass(frozen=True)
class _Scope:
    """Where an object is parsed: its schema, and which of its fields the ROOT record's store indexes."""
    schema: FilterSchema
    indexed: frozenset[str]
    depth: int = 0

    def object(self, value, path: str) -> Filter:
        if self.depth >= MAX_DEPTH:
            raise _Issue(path, f"nested deeper than {MAX_DEPTH} levels")
        if not isinstance(value, Mapping):
            raise _Issue(path, f"must be an object such as {_EXAMPLE}")
        if not value:
            raise _Issue(path, "is an empty object; give at least one condition")
        parts = [part for key, item in value.items() for part in self.entry(key, item, path)]
        return parts[0] if len(parts) == 1 else And(tuple(parts))  # several keys are ANDed

    def entry(self, key, item, path: str) -> list[Filter]:
        if not isinstance(key, str):
            raise _Issue(path, f"keys must be strings, got {key!r}")
        here = _join(path, key)
        if key in ("_and", "_or"):
            return [self.junction(key, item, here)]
        if key == "_not":
            return [Not(self.deeper().object(item, here))]
        if key in self.schema.fields:
            return self.conditions(key, item, here)
        if key in self.schema.relations:
            return [Relation(key, self.related(key).object(item, here))]
        raise _Issue(here, self.unknown(key))

    def junction(self, key: str, item, here: str) -> Filter:
        if not isinstance(item, (list, tuple)):
            raise _Issue(here, "must be a list of filters")
        if not item:
            raise _Issue(here, "is an empty list; give at least one filter")
        inner = self.deeper()
        items = tuple(inner.object(x, f"{here}[{i}]") for i, x in enumerate(item))
        return And(items) if key == "_and" else Or(items)

    def conditions(self, name: str, item, here: str) -> list[Filter]:
        if not isinstance(item, Mapping):
            raise _Issue(here, "must be an object of operators such as {_eq: ...}")
        if not item:
            raise _Issue(here, "is an empty object; give at least one operator such as _eq")
        field_type = self.schema.fields[name]
        return [Condition(name, op, _operand(field_type, op, operand, here), field_type, name in self.indexed)
                for op, operand in item.items()]

    def deeper(self) -> "_Scope":
        return replace(self, depth=self.depth + 1)

    def related(self, name: str) -> "_Scope":
        # The root store maps customer.id to its customerId index; deeper relations are never indexed.
        indexed = frozenset({"id"}) if f"{name}Id" in self.indexed else frozenset()
        return _Scope(self.schema.relations[name], indexed, self.depth + 1)

    def unknown(self, key: str) -> str:
        if key.startswith("_"):
            return f"unknown logical operator {key} (use {', '.join(LOGICAL)} or a field of {self.schema.name})"
        known = f"fields: {', '.join(sorted(self.schema.fields))}"
        if self.schema.relations:
            known += f"; relations: {', '.join(sorted(self.schema.relations))}"
        return f"unknown field of {self.schema.name} ({known})"


def _operand(field_type: FieldType, op, operand, here: str):
    """The typed operand of one operator, checked against the field's kind."""
    allowed = OPERATORS[field_type.kind]
    if op not in allowed:
        known = op in _ALL_OPERATORS
        what = f"{op} does not apply to {field_type.kind} fields" if known else f"unknown operator {op}"
        raise _Issue(here, f"{what} (use {', '.join(allowed)})")
    where = f"{here}.{op}"
    if op == "_is_null":
        if not isinstance(operand, bool):
            raise _Issue(where, f"must be true or false, got {_show(operand)}")
        return operand
    if op in ("_in", "_nin"):
        if not isinstance(operand, (list, tuple)):
            raise _Issue(where, f"must be a list, got {_show(operand)}")
        return tuple(_scalar(field_type, item, f"{where}[{i}]") for i, item in enumerate(operand))
    value = _scalar(field_type, operand, where)
    if op in ("_like", "_ilike") and _ends_with_escape(value):
        raise _Issue(where, "must not end with an unescaped backslash")
    return value


def _scalar(field_type: FieldType, value, where: str):
    if value is None:
        raise _Issue(where, "must not be null (test for null with _is_null)")
    try:
        result = _COERCE[field_type.kind](field_type, value)
    except ValueError as error:
        raise _Issue(where, f"{error}, got {_show(value)}") from None
    if isinstance(result, str) and not _is_unicode(result):  # could be neither printed nor stored
        raise _Issue(where, "must be valid Unicode text (no surrogate code points)")
    return result


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _show(value) -> str:
    text = json.dumps(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _ends_with_escape(pattern: str) -> bool:
    trailing = len(pattern) - len(pattern.rstrip("\\"))
    return trailing % 2 == 1


# --- values: one coercion per kind, for operands and record values alike -----------------------------


def _as_string(_, value) -> str:
    if isinstance(value, Enum):  # str() of a str-enum member is "Class.MEMBER", not its value
        value = value.value
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return str(value)


def _as_number(_, value) -> int | Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValueError("must be a number")
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)  # repr: shortest exact text
    if not number.is_finite():
        raise ValueError("must be a finite number")
    if number.is_zero():
        return 0
    if abs(number.adjusted()) > MAX_DIGITS:
        raise ValueError(f"is out of range (magnitude at most 1e{MAX_DIGITS})")
    digits = len(number.as_tuple().digits)
    number = number.normalize(Context(prec=max(digits, 1)))  # exact: the precision holds every digit
    if len(number.as_tuple().digits) > MAX_DIGITS:
        raise ValueError(f"is out of range (at most {MAX_DIGITS} significant digits)")
    return int(number) if number.as_tuple().exponent >= 0 else number


def _as_date(_, value) -> date:
    if isinstance(value, datetime):  # a datetime is a date too, but which day depends on the zone
        raise ValueError("must be a date YYYY-MM-DD")
    return value if isinstance(value, date) else parse_date(value)


def _as_instant(_, value) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("must carry a UTC offset (e.g. Z)")
        return value.astimezone(UTC)
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 instant such as 2025-06-30T02:42:32Z")
    return parse_instant(value)


def _as_boolean(_, value) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _as_enum(field_type: FieldType, value) -> Enum:
    if not isinstance(value, str):  # members are str too
        raise ValueError("must be one of " + ", ".join(member.value for member in field_type.enum))
    return field_type.enum.parse(value)


_COERCE = {"string": _as_string, "number": _as_number, "date": _as_date, "datetime": _as_instant,
           "boolean": _as_boolean, "enum": _as_enum}

# --- evaluation -----------------------------------------------------------------------------------

_UNREADABLE = object()  # a record value that is not null but cannot be read as its field's kind


def evaluate(f: Filter, record: Mapping[str, Any]) -> bool:
    """Whether the record (camelCase keys; relations as nested mappings) matches the filter."""
    if isinstance(f, Condition):
        return _holds(f, record.get(f.path))
    if isinstance(f, And):
        return all(evaluate(item, record) for item in f.items)
    if isinstance(f, Or):
        return any(evaluate(item, record) for item in f.items)
    if isinstance(f, Not):
        return not evaluate(f.filter, record)
    if isinstance(f, Relation):
        related = record.get(f.name)
        return evaluate(f.filter, related if isinstance(related, Mapping) else {})  # missing: all null
    if isinstance(f, MatchAll):
        return True
    raise TypeError(f"not a filter: {f!r}")


def _holds(condition: Condition, raw) -> bool:
    value = _record_value(condition.field_type, raw)
    if condition.op == "_is_null":
        return (value is None) == condition.value
    if value is None or value is _UNREADABLE:
        return False
    return _TESTS[condition.op](value, condition.value)


def _record_value(field_type: FieldType, raw):
    if raw is None:
        return None
    try:
        return _COERCE[field_type.kind](field_type, raw)
    except (ValueError, TypeError, ArithmeticError):
        return _UNREADABLE


_TESTS = {
    "_eq": lambda value, operand: value == operand,
    "_neq": lambda value, operand: value != operand,
    "_gt": lambda value, operand: value > operand,
    "_gte": lambda value, operand: value >= operand,
    "_lt": lambda value, operand: value < operand,
    "_lte": lambda value, operand: value <= operand,
    "_in": lambda value, operand: value in operand,
    "_nin": lambda value, operand: value not in operand,
    "_like": lambda value, operand: _like(value, operand, False),
    "_ilike": lambda value, operand: _like(value, operand, True),
}


@lru_cache(maxsize=512)
def _like_pieces(pattern: str, ignore_case: bool) -> tuple[tuple[re.Pattern, int], ...]:
    """The pattern cut at each unescaped %: fixed-length pieces, compiled without quantifiers."""
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    pieces, current, chars = [], [], iter(pattern)
    for char in chars:
        if char == "%":
            pieces.append(current)
            current = []
        elif char == "_":
            current.append(".")
        else:
            current.append(re.escape(next(chars) if char == "\\" else char))
    pieces.append(current)
    return tuple((re.compile("".join(piece), flags), len(piece)) for piece in pieces)


def _like(text: str, pattern: str, ignore_case: bool) -> bool:
    """SQL LIKE in O(len(text) x len(pattern)): the first piece anchors at the start, the last at the end,
    and each middle piece takes its leftmost match (any later match leaves less room, never more)."""
    (first, first_len), *rest = _like_pieces(pattern, ignore_case)
    if not rest:
        return first.fullmatch(text) is not None
    if first.match(text) is None:
        return False
    position = first_len
    *middle, (last, last_len) = rest
    for piece, _ in middle:
        found = piece.search(text, position)
        if found is None:
            return False
        position = found.end()
    start = len(text) - last_len
    return start >= position and last.fullmatch(text, start) is not None


# --- index plans ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """Bounds on one field; None means unbounded on that side."""
    lower: Any = None
    lower_inclusive: bool = False
    upper: Any = None
    upper_inclusive: bool = False

    def narrowed(self, op: str, value) -> "Range":
        """This range intersected with `field op value` (keeps the tighter bound)."""
        inclusive = op in ("_gte", "_lte")
        if op in ("_gt", "_gte"):
            if self.lower is None or value > self.lower or (value == self.lower and not inclusive):
                return replace(self, lower=value, lower_inclusive=inclusive)
        elif self.upper is None or value < self.upper or (value == self.upper and not inclusive):
            return replace(self, upper=value, upper_inclusive=inclusive)
        return self

    def contains(self, value) -> bool:
        if self.lower is not None and (value < self.lower or (value == self.lower and not self.lower_inclusive)):
            return False
        return self.upper is None or value < self.upper or (value == self.upper and self.upper_inclusive)


@dataclass(frozen=True)
class IndexPlan:
    """What an index can serve. Every matching record satisfies every entry (an AND); a store queries the
    index for ONE entry, then applies `evaluate` with the whole filter unless `residual_needed` is False.
    An empty plan serves nothing: the store reads everything (in the tenant's partition) and evaluates."""
    equals: dict[str, list]  # "status" or "customer.id" -> allowed values (empty: nothing matches)
    ranges: dict[str, Range]  # "invoiceDate" -> bounds
    residual_needed: bool  # False only when the plan's single entry is exactly the filter


def intersect(*choices: list | None) -> list | None:
    """The values every given choice allows, in the first one's order; None when no choice was made. What an id
    named two ways (`customerId` and `customer.id`), or by two filters, can be."""
    given = [c for c in choices if c is not None]
    if not given:
        return None
    return [v for v in given[0] if all(v in other for other in given[1:])]


def index_plan(f: Filter) -> IndexPlan:
    equals: dict[str, list] = {}
    ranges: dict[str, Range] = {}
    uncaptured = 0  # top-level conjuncts that the plan does not express exactly
    for part in _conjuncts(f):
        if isinstance(part, Relation):
            uncaptured += 1  # the related record must still exist and be read
            for inner in _conjuncts(part.filter):
                if isinstance(inner, Condition):
                    _capture(f"{part.name}.{inner.path}", inner, equals, ranges)
        elif not (isinstance(part, Condition) and _capture(part.path, part, equals, ranges)):
            uncaptured += 1
    residual = uncaptured > 0 or len(equals) + len(ranges) > 1  # the store serves one entry only
    return IndexPlan(equals, ranges, residual)


def _conjuncts(f: Filter):
    """The AND-ed parts of f at its top level (nested Ands flattened; MatchAll has none)."""
    if isinstance(f, And):
        for item in f.items:
            yield from _conjuncts(item)
    elif not isinstance(f, MatchAll):
        yield f


def _capture(path: str, condition: Condition, equals: dict, ranges: dict) -> bool:
    """Add the condition to the plan if an index can serve it; whether it did."""
    if not condition.indexed:
        return False
    if condition.op in ("_eq", "_in"):
        values = condition.value if condition.op == "_in" else (condition.value,)
        allowed = list(dict.fromkeys(values))
        equals[path] = [v for v in equals[path] if v in allowed] if path in equals else allowed
        return True
    if condition.op in _RANGE:
        ranges[path] = ranges.get(path, Range()).narrowed(condition.op, condition.value)
        return True
    return False


# --- canonical text -------------------------------------------------------------------------------


def to_text(f: Filter) -> str:
    """Canonical GraphQL-style text; parse_filter(to_text(f)) == f, so equal filters print alike."""
    if isinstance(f, MatchAll):
        return "{}"
    entries = _merged(f.items) if isinstance(f, And) else None
    return "{" + ", ".join(f"{key}: {text}" for key, text in entries or [_entry(f)]) + "}"


def _entry(f: Filter) -> tuple[str, str]:
    """f as one key of an object."""
    if isinstance(f, Condition):
        return f.path, _ops_text([f])
    if isinstance(f, Relation):
        return f.name, to_text(f.filter)
    if isinstance(f, Not):
        return "_not", to_text(f.filter)
    if isinstance(f, (And, Or)):
        return ("_and" if isinstance(f, And) else "_or"), "[" + ", ".join(map(to_text, f.items)) + "]"
    raise TypeError(f"cannot print {f!r} inside another filter")


def _merged(items: tuple[Filter, ...]) -> list[tuple[str, str]] | None:
    """An And printed the way people write it, one object with several keys (operators on one field
    together), when that object parses back to the same And: two or more keys and none repeated."""
    groups: list[list[Filter]] = []
    for item in items:
        last = groups[-1] if groups else []
        if (isinstance(item, Condition) and last and isinstance(last[0], Condition)
                and last[0].path == item.path and all(c.op != item.op for c in last)):
            last.append(item)
        else:
            groups.append([item])
    keys = [_entry(group[0])[0] for group in groups]
    if len(items) < 2 or len(set(keys)) < len(keys):
        return None
    return [(key, _ops_text(group) if isinstance(group[0], Condition) else _entry(group[0])[1])
            for key, group in zip(keys, groups)]


def _ops_text(conditions: list[Condition]) -> str:
    return "{" + ", ".join(f"{c.op}: {_value_text(c.value)}" for c in conditions) + "}"


def _value_text(value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(map(_value_text, value)) + "]"
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, Enum):  # before str: members are str
        return print_string(value.value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")  # never an exponent: 1E+2 would read back as 100, a different text
    if isinstance(value, datetime):  # before date: a datetime is a date
        return print_string(value.astimezone(UTC).isoformat().replace("+00:00", "Z"))
    if isinstance(value, date):
        return print_string(value.isoformat())
    return print_string(value)
