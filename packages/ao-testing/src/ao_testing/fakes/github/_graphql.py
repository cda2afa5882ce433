"""A small GraphQL parser and executor: the subset of the language our plugins send to GitHub.

Supported: operations (``query``, anonymous), variable definitions with defaults, fields, aliases,
arguments (literals, variables, lists, objects, enums), inline fragments (``... on CheckRun``), named
fragments, ``@include``/``@skip``, ``__typename``. Parsing is a tokenizer plus a recursive-descent
parser; execution walks the selection set over resolver objects (:class:`Node`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Connection",
    "Document",
    "ExecutionResult",
    "FieldError",
    "GraphQLSyntaxError",
    "Node",
    "QueryError",
    "execute",
    "parse",
    "query_cost",
]


class GraphQLSyntaxError(ValueError):
    """Raised when a query does not parse."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class QueryError(ValueError):
    """Raised for an error that fails the whole query (unknown field, missing variable)."""

    def __init__(self, message: str, *, code: str = "undefinedField", error_type: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.error_type = error_type


class FieldError(ValueError):
    """Raised by a resolver: the field becomes ``null`` and an error with its path is reported."""

    def __init__(self, message: str, error_type: str = "NOT_FOUND") -> None:
        super().__init__(message)
        self.error_type = error_type


# =========================================================================== tokens

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[\s,\ufeff]+|\#[^\n]*)
  | (?P<spread>\.\.\.)
  | (?P<punct>[!$&()\:=@\[\]{|}])
  | (?P<float>-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<block>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\")
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    value: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            line, col = _line_col(text, pos)
            raise GraphQLSyntaxError(f"unexpected character {text[pos]!r}", line, col)
        kind = match.lastgroup or ""
        if kind != "ws":
            value = match.group()
            if kind == "float" and re.fullmatch(r"-?\d+", value):
                kind = "int"
            tokens.append(_Token(kind, value, pos))
        pos = match.end()
    tokens.append(_Token("eof", "", len(text)))
    return tokens


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


# =========================================================================== AST


@dataclass(frozen=True)
class Variable:
    """A ``$name`` reference."""

    name: str


@dataclass(frozen=True)
class EnumValue:
    """An enum literal (``OPEN``)."""

    name: str


@dataclass
class Field:
    """A field selection: ``alias: name(args) @directives { selections }``."""

    name: str
    alias: str | None
    arguments: dict[str, Any]
    directives: list[tuple[str, dict[str, Any]]]
    selections: list[Selection]
    line: int
    column: int

    @property
    def key(self) -> str:
        """The response key: the alias, else the name."""
        return self.alias or self.name


@dataclass
class InlineFragment:
    """``... on Type { selections }`` (type condition optional)."""

    type_condition: str | None
    directives: list[tuple[str, dict[str, Any]]]
    selections: list[Selection]


@dataclass
class FragmentSpread:
    """``...FragmentName``."""

    name: str
    directives: list[tuple[str, dict[str, Any]]]


Selection = Field | InlineFragment | FragmentSpread


@dataclass
class VariableDefinition:
    """``$name: Type = default``."""

    name: str
    type: str
    default: Any = None
    has_default: bool = False

    @property
    def required(self) -> bool:
        """Whether the type is non-null (``String!``)."""
        return self.type.endswith("!")


@dataclass
class Operation:
    """One operation of a document."""

    kind: str
    name: str | None
    variables: list[VariableDefinition]
    selections: list[Selection]


@dataclass
class Document:
    """A parsed query document."""

    operations: list[Operation]
    fragments: dict[str, tuple[str, list[Selection]]] = field(default_factory=dict)

    def operation(self, name: str | None) -> Operation:
        """The operation to run: the named one, else the only one."""
        if name is not None:
            for op in self.operations:
                if op.name == name:
                    return op
            raise QueryError(f"Unknown operation named '{name}'.", code="unknownOperation")
        if len(self.operations) != 1:
            raise QueryError("An operation name is required when the document has several.", code="operationName")
        return self.operations[0]


# =========================================================================== parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    # -- helpers
    def peek(self, offset: int = 0) -> _Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def next(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: _Token | None = None) -> GraphQLSyntaxError:
        tok = tok or self.peek()
        line, col = _line_col(self.text, tok.pos)
        shown = tok.value or "<EOF>"
        return GraphQLSyntaxError(f"{message}, found {shown!r}", line, col)

    def expect(self, kind: str, value: str | None = None) -> _Token:
        tok = self.peek()
        if tok.kind != kind or (value is not None and tok.value != value):
            raise self.error(f"expected {value or kind}")
        return self.next()

    def at(self, kind: str, value: str | None = None) -> bool:
        tok = self.peek()
        return tok.kind == kind and (value is None or tok.value == value)

    def skip(self, kind: str, value: str | None = None) -> bool:
        if self.at(kind, value):
            self.i += 1
            return True
        return False

    # -- grammar
    def document(self) -> Document:
        doc = Document(operations=[])
        while not self.at("eof"):
            if self.at("punct", "{"):
                doc.operations.append(Operation("query", None, [], self.selection_set()))
            elif self.at("name", "fragment"):
                self.next()
                name = self.expect("name").value
                if not self.skip("name", "on"):
                    raise self.error("expected 'on'")
                type_name = self.expect("name").value
                doc.fragments[name] = (type_name, self.selection_set())
            elif self.at("name") and self.peek().value in ("query", "mutation", "subscription"):
                kind = self.next().value
                op_name = self.next().value if self.at("name") else None
                variables = self.variable_definitions() if self.at("punct", "(") else []
                self.directives()
                doc.operations.append(Operation(kind, op_name, variables, self.selection_set()))
            else:
                raise self.error("expected an operation or a fragment")
        if not doc.operations:
            raise self.error("the document has no operation")
        return doc

    def variable_definitions(self) -> list[VariableDefinition]:
        self.expect("punct", "(")
        result: list[VariableDefinition] = []
        while not self.skip("punct", ")"):
            self.expect("punct", "$")
            name = self.expect("name").value
            self.expect("punct", ":")
            type_text = self.type_ref()
            definition = VariableDefinition(name, type_text)
            if self.skip("punct", "="):
                definition.default = self.value(const=True)
                definition.has_default = True
            self.directives()
            result.append(definition)
        return result

    def type_ref(self) -> str:
        if self.skip("punct", "["):
            inner = self.type_ref()
            self.expect("punct", "]")
            text = f"[{inner}]"
        else:
            text = self.expect("name").value
        if self.skip("punct", "!"):
            text += "!"
        return text

    def selection_set(self) -> list[Selection]:
        self.expect("punct", "{")
        selections: list[Selection] = []
        while not self.skip("punct", "}"):
            if self.at("eof"):
                raise self.error("unterminated selection set")
            selections.append(self.selection())
        if not selections:
            raise self.error("a selection set must not be empty")
        return selections

    def selection(self) -> Selection:
        if self.skip("spread"):
            if self.at("name", "on"):
                self.next()
                type_name = self.expect("name").value
                return InlineFragment(type_name, self.directives(), self.selection_set())
            if self.at("name"):
                return FragmentSpread(self.next().value, self.directives())
            return InlineFragment(None, self.directives(), self.selection_set())
        tok = self.expect("name")
        alias: str | None = None
        name = tok.value
        if self.skip("punct", ":"):
            alias = name
            name = self.expect("name").value
        arguments = self.arguments() if self.at("punct", "(") else {}
        directives = self.directives()
        selections = self.selection_set() if self.at("punct", "{") else []
        line, col = _line_col(self.text, tok.pos)
        return Field(name, alias, arguments, directives, selections, line, col)

    def arguments(self) -> dict[str, Any]:
        self.expect("punct", "(")
        args: dict[str, Any] = {}
        while not self.skip("punct", ")"):
            name = self.expect("name").value
            self.expect("punct", ":")
            args[name] = self.value(const=False)
        return args

    def directives(self) -> list[tuple[str, dict[str, Any]]]:
        result: list[tuple[str, dict[str, Any]]] = []
        while self.skip("punct", "@"):
            name = self.expect("name").value
            result.append((name, self.arguments() if self.at("punct", "(") else {}))
        return result

    def value(self, *, const: bool) -> Any:
        tok = self.peek()
        if tok.kind == "punct" and tok.value == "$":
            if const:
                raise self.error("variables are not allowed here")
            self.next()
            return Variable(self.expect("name").value)
        if tok.kind == "int":
            self.next()
            return int(tok.value)
        if tok.kind == "float":
            self.next()
            return float(tok.value)
        if tok.kind == "string":
            self.next()
            return _unescape(tok.value[1:-1])
        if tok.kind == "block":
            self.next()
            return _block_string(tok.value[3:-3])
        if tok.kind == "name":
            self.next()
            return {"true": True, "false": False, "null": None}.get(tok.value, EnumValue(tok.value))
        if tok.kind == "punct" and tok.value == "[":
            self.next()
            items: list[Any] = []
            while not self.skip("punct", "]"):
                items.append(self.value(const=const))
            return items
        if tok.kind == "punct" and tok.value == "{":
            self.next()
            obj: dict[str, Any] = {}
            while not self.skip("punct", "}"):
                key = self.expect("name").value
                self.expect("punct", ":")
                obj[key] = self.value(const=const)
            return obj
        raise self.error("expected a value")


_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _unescape(raw: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            if nxt == "u":
                out.append(chr(int(raw[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _block_string(raw: str) -> str:
    lines = raw.replace('\\"""', '"""').splitlines()
    indents = [len(line) - len(line.lstrip()) for line in lines[1:] if line.strip()]
    common = min(indents) if indents else 0
    body = [lines[0], *(line[common:] for line in lines[1:])] if lines else []
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    return "\n".join(body)


def parse(text: str) -> Document:
    """Parse a query document.

    Raises:
        GraphQLSyntaxError: with the line and column of the problem.
    """
    return _Parser(text).document()


# =========================================================================== execution


class Node:
    """A resolver object: one value of a GraphQL object type.

    Subclasses set ``typename`` (and ``interfaces`` for the abstract types it belongs to) and define a
    method ``f_<fieldName>(self, args, ctx)`` per field.
    """

    typename = "Node"
    interfaces: tuple[str, ...] = ()

    def is_a(self, type_name: str) -> bool:
        """Whether an inline fragment ``... on type_name`` applies to this object."""
        return type_name == self.typename or type_name in self.interfaces

    def resolve(self, name: str, args: Mapping[str, Any], ctx: Any) -> Any:
        """Resolve one field; an unknown field fails the query like GitHub's validation does."""
        method: Callable[[Mapping[str, Any], Any], Any] | None = getattr(self, f"f_{name}", None)
        if method is None:
            raise QueryError(f"Field '{name}' doesn't exist on type '{self.typename}'")
        return method(args, ctx)


class Connection(Node):
    """A cursor connection over a list (``first``/``last``/``after``/``before``, nodes, edges, pageInfo)."""

    def __init__(self, typename: str, items: Sequence[Any], args: Mapping[str, Any]) -> None:
        self.typename = typename
        self._all = list(items)
        first, last = args.get("first"), args.get("last")
        if first is None and last is None:
            raise FieldError(
                f"You must provide a `first` or `last` value to properly paginate the `{typename}` connection.",
                error_type="MISSING_PAGINATION_BOUNDARIES",
            )
        for bound in (first, last):
            if bound is not None and not 0 <= int(bound) <= 100:
                raise FieldError(
                    f"Requesting {bound} records on the `{typename}` connection exceeds the limit of 100 records.",
                    error_type="EXCESSIVE_PAGINATION",
                )
        start, end = 0, len(self._all)
        if args.get("after") is not None:
            start = max(start, _decode_cursor(str(args["after"])) + 1)
        if args.get("before") is not None:
            end = min(end, _decode_cursor(str(args["before"])))
        if first is not None:
            end = min(end, start + int(first))
        if last is not None:
            start = max(start, end - int(last))
        self._start, self._end = start, end

    @property
    def page(self) -> list[Any]:
        """The items of the requested page."""
        return self._all[self._start : self._end]

    def f_nodes(self, args: Mapping[str, Any], ctx: Any) -> list[Any]:
        return self.page

    def f_edges(self, args: Mapping[str, Any], ctx: Any) -> list[Any]:
        return [_Edge(item, _encode_cursor(self._start + i)) for i, item in enumerate(self.page)]

    def f_totalCount(self, args: Mapping[str, Any], ctx: Any) -> int:
        return len(self._all)

    def f_pageInfo(self, args: Mapping[str, Any], ctx: Any) -> _PageInfo:
        return _PageInfo(
            has_next=self._end < len(self._all),
            has_previous=self._start > 0,
            start=_encode_cursor(self._start) if self.page else None,
            end=_encode_cursor(self._end - 1) if self.page else None,
        )


class _Edge(Node):
    typename = "Edge"

    def __init__(self, node: Any, cursor: str) -> None:
        self.node, self.cursor = node, cursor

    def f_node(self, args: Mapping[str, Any], ctx: Any) -> Any:
        return self.node

    def f_cursor(self, args: Mapping[str, Any], ctx: Any) -> str:
        return self.cursor


class _PageInfo(Node):
    typename = "PageInfo"

    def __init__(self, *, has_next: bool, has_previous: bool, start: str | None, end: str | None) -> None:
        self.has_next, self.has_previous, self.start, self.end = has_next, has_previous, start, end

    def f_hasNextPage(self, args: Mapping[str, Any], ctx: Any) -> bool:
        return self.has_next

    def f_hasPreviousPage(self, args: Mapping[str, Any], ctx: Any) -> bool:
        return self.has_previous

    def f_startCursor(self, args: Mapping[str, Any], ctx: Any) -> str | None:
        return self.start

    def f_endCursor(self, args: Mapping[str, Any], ctx: Any) -> str | None:
        return self.end


def _encode_cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1])
    except (ValueError, IndexError) as exc:
        raise FieldError(f"`{cursor}` does not appear to be a valid cursor.", error_type="INVALID_CURSOR") from exc


@dataclass
class ExecutionResult:
    """``data`` (``None`` when the query failed as a whole) and ``errors``."""

    data: dict[str, Any] | None
    errors: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        """The response body."""
        body: dict[str, Any] = {}
        if self.data is not None or not self.errors:
            body["data"] = self.data
        if self.errors:
            body["errors"] = self.errors
        return body


class _Executor:
    def __init__(self, doc: Document, variables: Mapping[str, Any], ctx: Any) -> None:
        self.doc = doc
        self.variables = variables
        self.ctx = ctx
        self.errors: list[dict[str, Any]] = []

    def value(self, raw: Any) -> Any:
        if isinstance(raw, Variable):
            return self.variables.get(raw.name)
        if isinstance(raw, EnumValue):
            return raw.name
        if isinstance(raw, list):
            return [self.value(v) for v in raw]
        if isinstance(raw, dict):
            return {k: self.value(v) for k, v in raw.items()}
        return raw

    def included(self, directives: list[tuple[str, dict[str, Any]]]) -> bool:
        for name, args in directives:
            flag = bool(self.value(args.get("if")))
            if (name == "include" and not flag) or (name == "skip" and flag):
                return False
        return True

    def collect(self, obj: Node, selections: list[Selection], out: dict[str, list[Field]]) -> None:
        for sel in selections:
            if isinstance(sel, Field):
                if self.included(sel.directives):
                    out.setdefault(sel.key, []).append(sel)
            elif isinstance(sel, InlineFragment):
                if self.included(sel.directives) and (sel.type_condition is None or obj.is_a(sel.type_condition)):
                    self.collect(obj, sel.selections, out)
            else:
                fragment = self.doc.fragments.get(sel.name)
                if fragment is None:
                    raise QueryError(f"Fragment {sel.name} was used, but not defined", code="undefinedFragment")
                if self.included(sel.directives) and obj.is_a(fragment[0]):
                    self.collect(obj, fragment[1], out)

    def object(self, obj: Node, selections: list[Selection], path: list[str | int]) -> dict[str, Any]:
        grouped: dict[str, list[Field]] = {}
        self.collect(obj, selections, grouped)
        result: dict[str, Any] = {}
        for key, fields in grouped.items():
            first = fields[0]
            sub = [s for f in fields for s in f.selections]
            if first.name == "__typename":
                result[key] = obj.typename
                continue
            args = {k: self.value(v) for k, v in first.arguments.items()}
            try:
                value = obj.resolve(first.name, args, self.ctx)
            except FieldError as exc:
                self.errors.append(
                    {
                        "type": exc.error_type,
                        "path": [*path, key],
                        "locations": [{"line": first.line, "column": first.column}],
                        "message": str(exc),
                    }
                )
                result[key] = None
                continue
            result[key] = self.complete(value, first, sub, [*path, key])
        return result

    def complete(self, value: Any, fld: Field, sub: list[Selection], path: list[str | int]) -> Any:
        if value is None:
            return None
        if isinstance(value, Node):
            if not sub:
                raise QueryError(
                    f"Field must have selections (field '{fld.name}' returns {value.typename} but has no selections.)",
                    code="selectionMismatch",
                )
            return self.object(value, sub, path)
        if isinstance(value, list):
            return [self.complete(v, fld, sub, [*path, i]) for i, v in enumerate(value)]
        if sub:
            raise QueryError(
                f"Selections can't be made on scalars (field '{fld.name}' returns a scalar)",
                code="selectionMismatch",
            )
        return value


def execute(
    doc: Document,
    root: Node,
    variables: Mapping[str, Any] | None,
    ctx: Any,
    operation_name: str | None = None,
) -> ExecutionResult:
    """Run an operation of ``doc`` against ``root``.

    Raises:
        QueryError: when the query fails as a whole (unknown field, missing variable).
    """
    op = doc.operation(operation_name)
    if op.kind != "query":
        raise QueryError(f"The fake GitHub does not implement {op.kind} operations.", code="unsupported")
    given = dict(variables or {})
    resolved: dict[str, Any] = {}
    for definition in op.variables:
        if definition.name in given:
            resolved[definition.name] = given[definition.name]
        elif definition.has_default:
            resolved[definition.name] = definition.default
        elif definition.required:
            raise QueryError(
                f"Variable ${definition.name} of type {definition.type} was provided invalid value",
                code="variableMismatch",
            )
    executor = _Executor(doc, resolved, ctx)
    data = executor.object(root, op.selections, [])
    return ExecutionResult(data, executor.errors)


def query_cost(doc: Document, variables: Mapping[str, Any] | None, operation_name: str | None = None) -> int:
    """GitHub's rate-limit cost of a query.

    Every connection needs one request per parent node (assuming each ``first``/``last`` is filled); the
    sum of requests divided by 100, rounded, is the cost, and the minimum is 1.
    """
    op = doc.operation(operation_name)
    variables = variables or {}

    def size(fld: Field) -> int | None:
        for arg in ("first", "last"):
            if arg in fld.arguments:
                raw = fld.arguments[arg]
                value = variables.get(raw.name) if isinstance(raw, Variable) else raw
                return int(value) if isinstance(value, int) else None
        return None

    def walk(selections: list[Selection], multiplier: int, seen: set[str]) -> int:
        total = 0
        for sel in selections:
            if isinstance(sel, Field):
                page = size(sel)
                if page is not None:
                    total += multiplier
                    total += walk(sel.selections, multiplier * max(page, 1), seen)
                else:
                    total += walk(sel.selections, multiplier, seen)
            elif isinstance(sel, InlineFragment):
                total += walk(sel.selections, multiplier, seen)
            elif sel.name in doc.fragments and sel.name not in seen:
                total += walk(doc.fragments[sel.name][1], multiplier, seen | {sel.name})
        return total

    return max(1, round(walk(op.selections, 1, set()) / 100))
