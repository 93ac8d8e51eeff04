"""The one cattrs converter, and JSON in and out through it.

Decisions, in one place:

* datetimes are ISO 8601 strings with their offset (naive datetimes are refused
  by the models);
* tuples and sets become JSON arrays; enums their values;
* detailed validation is on, and extra keys are forbidden in the files the gate
  writes itself (journal, report, config): a typo is an error, not a silent default;
* every structuring error becomes an :class:`~phase4gate.errors.InputError` (or a
  :class:`~phase4gate.errors.ConfigError` for configuration) listing each problem
  as ``$.path: what was wrong``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, TypeVar

import cattrs
from cattrs.preconf.json import make_converter as _make_json_converter
from cattrs.v import format_exception

from phase4gate.errors import InputError

__all__ = ["converter", "dump_json", "dumps", "load_json", "structure", "unstructure"]

T = TypeVar("T")


def _make() -> cattrs.Converter:
    conv = _make_json_converter(forbid_extra_keys=True, detailed_validation=True)
    conv.register_unstructure_hook(dt.datetime, lambda d: d.isoformat())
    conv.register_structure_hook(dt.datetime, _structure_datetime)
    return conv


def _structure_datetime(value: object, _cls: type[dt.datetime]) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        msg = f"expected an ISO 8601 string, found {value!r}"
        raise TypeError(msg)
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        msg = f"expected a timezone-aware timestamp, found {value!r}"
        raise ValueError(msg)
    return parsed


converter: cattrs.Converter = _make()


def error_lines(exc: BaseException) -> list[str]:
    """Turn a cattrs validation error into ``$.path: problem`` lines."""
    if isinstance(exc, cattrs.BaseValidationError):
        return [_fix_path(line) for line in cattrs.transform_error(exc, path="$", format_exception=_format)]
    return [f"$: {exc}"]


def _format(exc: BaseException, type_: type | None) -> str:
    # A validator's own message (raised by the class, type unknown) says more than "invalid value".
    if type_ is None and isinstance(exc, ValueError) and str(exc):
        return f"invalid value: {exc}"
    return format_exception(exc, type_)


def _fix_path(line: str) -> str:
    # transform_error says "<problem> @ $.a.b"; we lead with the path.
    if " @ " in line:
        problem, _, path = line.rpartition(" @ ")
        return f"{path}: {problem}"
    return line


def structure(data: object, cls: type[T], *, source: str) -> T:
    """Structure *data* into *cls*.

    Raises:
        InputError: naming *source* and every problem found.
    """
    try:
        return converter.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        raise InputError(source, error_lines(exc)) from None


def unstructure(obj: object) -> Any:  # noqa: ANN401 - JSON-shaped by construction
    """Return the JSON-shaped form of *obj*."""
    return converter.unstructure(obj)


def dumps(obj: object) -> str:
    """Serialise *obj* (a model or plain data) to canonical JSON text ending in a newline."""
    data = obj if isinstance(obj, dict | list) else converter.unstructure(obj)
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def dump_json(obj: object) -> bytes:
    """Serialise *obj* to canonical UTF-8 JSON bytes."""
    return dumps(obj).encode("utf-8")


def read_json(path: Path) -> Any:  # noqa: ANN401 - JSON of unknown shape, validated by the caller
    """Read and decode JSON from *path*.

    Raises:
        InputError: the file is missing, unreadable or not JSON (with line and column).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(path), ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), [f"cannot read: {exc}"]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(str(path), [f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]) from None


def load_json(path: Path, cls: type[T]) -> T:
    """Read *path* and structure it into *cls*.

    Raises:
        InputError: naming the file and every problem.
    """
    return structure(read_json(path), cls, source=str(path))
