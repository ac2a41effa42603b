"""Registry errors, and schema errors worded as "<field path>: <what is wrong>"."""

from __future__ import annotations

import re
import types
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Tag, ValidationError
from pydantic.fields import FieldInfo

from casework.registry.schema import INVALID, describe


class RegistryError(ValueError):
    """The registry data is invalid; each line names the file and the field path."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors: tuple[str, ...] = tuple(errors)
        super().__init__("\n".join(self.errors))


# What a value of the wrong type was expected to be, by pydantic's error type.
_EXPECTED = {
    "string_type": "a string",
    "bool_type": "true or false",
    "int_type": "an integer",
    "float_type": "a number",
    "list_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "date_type": "a date like 2026-06-30",
}


def schema_problems(root: type[BaseModel], error: ValidationError) -> list[str]:
    """One line per problem pydantic found while validating against `root`."""
    return [_problem(root, e) for e in error.errors()]


def _problem(root: type[BaseModel], error: Any) -> str:
    loc: tuple[str | int, ...] = tuple(error["loc"])
    ctx: dict[str, Any] = error.get("ctx") or {}
    kind, value = error["type"], error.get("input")
    if kind == INVALID:
        path, _ = _walk(root, (*loc, *ctx.get("at", ())))
        return f"{_show(path)}: {error['msg']}"
    path, _ = _walk(root, loc)
    if kind == "missing":
        field = _field(root, loc)
        table = field is not None and _is_table(field.annotation)
        hint = f" ({field.description})" if field is not None and field.description else ""
        return f"{_show(path)}: missing required {'table' if table else 'field'}{hint}"
    if kind == "extra_forbidden":
        parent = _model(_walk(root, loc[:-1])[1])
        allowed = ", ".join(sorted(parent.model_fields)) if parent is not None else ""
        return f"{_show(path)}: unknown key (allowed here: {allowed})"
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"{_show(path)}: {value!r} is not one of {', '.join(options)}"
    if kind in _EXPECTED:
        return f"{_show(path)}: expected {_EXPECTED[kind]}, got {describe(value)}"
    if kind == "greater_than_equal":
        return f"{_show(path)}: {value} is below the minimum {ctx.get('ge')}"
    if kind == "too_short":
        return f"{_show(path)}: must not be empty"
    return f"{_show(path)}: {error['msg']}"


def _show(path: Sequence[str | int]) -> str:
    shown = ""
    for part in path:
        shown += f"[{part}]" if isinstance(part, int) else f".{part}" if shown else part
    return shown or "(top level)"


def _walk(root: type[BaseModel], loc: Sequence[str | int]) -> tuple[list[str | int], Any]:
    """The path as the file writes it, and the type found at its end.

    pydantic's locations also name the member of a tagged union taken ("fixed" for a fixed
    deadline) and mark a mapping's key ("[key]"); neither is a key in the file.
    """
    path: list[str | int] = []
    current: Any = root
    for part in loc:
        member = _tagged_member(current, part)
        if member is not None:
            current = member
            continue
        if part == "[key]":
            continue
        path.append(part)
        current = _child(current, part)
    return path, current


def _unwrap(annotation: Any) -> Any:
    """The type under Annotated[...] and `| None`."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _tagged_member(annotation: Any, part: str | int) -> Any:
    union = _unwrap(annotation)
    if get_origin(union) not in (Union, types.UnionType):
        return None
    for member in get_args(union):
        if get_origin(member) is Annotated and any(
            isinstance(meta, Tag) and meta.tag == part for meta in member.__metadata__
        ):
            return member
    return None


def _child(annotation: Any, part: str | int) -> Any:
    current = _unwrap(annotation)
    origin = get_origin(current)
    if isinstance(part, int) and origin in (list, tuple):
        return get_args(current)[0]
    if isinstance(part, str) and origin is dict:
        return get_args(current)[1]
    model = _model(current)
    if model is not None and isinstance(part, str) and part in model.model_fields:
        return model.model_fields[part].annotation
    return Any


def _model(annotation: Any) -> type[BaseModel] | None:
    current = _unwrap(annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _field(root: type[BaseModel], loc: Sequence[str | int]) -> FieldInfo | None:
    if not loc or not isinstance(loc[-1], str):
        return None
    _, parent = _walk(root, loc[:-1])
    model = _model(parent)
    return model.model_fields.get(loc[-1]) if model is not None else None


def _is_table(annotation: Any) -> bool:
    current = _unwrap(annotation)
    return _model(current) is not None or get_origin(current) is dict
