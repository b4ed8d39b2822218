"""The Log Analytics query API response: ``{"tables": [{"columns": [...], "rows": [...]}]}``.

Every shape problem (``tables`` or ``rows`` not a list, a row that is not a list or has
another length than the columns) is one problem with its path, never an exception: the
good rows of the response are still read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from detections.normalize.fields import json_type
from detections.normalize.jsontext import NESTED_TOO_DEEPLY, TooDeep


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A table or row of the response that cannot be used: its path and why."""

    path: str
    reason: str


def query_rows(tables: object) -> Iterator[tuple[str, dict[str, Any] | RowProblem]]:
    """(path, row as a column -> value dict, or the problem) for every row of ``tables``."""
    if not isinstance(tables, list):
        yield "tables", RowProblem("tables", f"expected a list of tables, got {json_type(tables)}")
        return
    for t, table in enumerate(tables):
        path = f"tables[{t}]"
        if isinstance(table, TooDeep):
            yield path, RowProblem(path, NESTED_TOO_DEEPLY)
            continue
        if not isinstance(table, Mapping):
            yield path, RowProblem(path, f"expected a table object, got {json_type(table)}")
            continue
        columns = table.get("columns")
        rows = table.get("rows")
        if not isinstance(columns, list):
            yield path, RowProblem(path + ".columns", f"expected a list, got {json_type(columns)}")
            continue
        if not isinstance(rows, list):
            yield path, RowProblem(path + ".rows", f"expected a list, got {json_type(rows)}")
            continue
        named = [c.get("name") if isinstance(c, Mapping) else None for c in columns]
        bad = next((i for i, name in enumerate(named) if not isinstance(name, str)), None)
        if bad is not None:
            yield path, RowProblem(f"{path}.columns[{bad}]", "a column without a name")
            continue
        names = [str(name) for name in named]
        for r, row in enumerate(rows):
            row_path = f"{path}.rows[{r}]"
            if not isinstance(row, list):
                yield row_path, RowProblem(row_path, f"expected a list, got {json_type(row)}")
            elif len(row) != len(names):
                reason = f"row has {len(row)} values, the table has {len(names)} columns"
                yield row_path, RowProblem(row_path, reason)
            else:
                yield row_path, dict(zip(names, row, strict=True))
