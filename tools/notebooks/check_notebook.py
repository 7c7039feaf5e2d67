#!/usr/bin/env python3
"""Checks executed notebooks: every code cell ran without error and shows its output.

Rules, per code cell:
- it was executed (has an execution count) and has no `error` output;
- it has at least one output, unless tagged `no-output` (e.g. a cell of imports);
- a cell tagged `plot` shows a chart: a `display_data` with both `application/vnd.vegalite.v5+json`
  and a non-empty `image/svg+xml`, and no `text/html` (JupyterLab would show that instead of the chart).

Usage: check_notebook.py NOTEBOOK.ipynb...   (exit status 1 when a rule is broken)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

VEGALITE = "application/vnd.vegalite.v5+json"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def first_line(cell) -> str:
    lines = [line for line in cell.source.splitlines() if line.strip()]
    text = lines[0].strip() if lines else ""
    return text if len(text) <= 60 else text[:57] + "..."


def cell_problems(cell) -> list[str]:
    """The broken rules of one code cell, as sentences."""
    tags = set(cell.get("metadata", {}).get("tags", []))
    found = []
    if cell.get("execution_count") is None:
        found.append("was not executed")
    for out in cell.outputs:
        if out.output_type == "error":
            found.append(f"raised {out.ename}: {_ANSI.sub('', out.evalue)}")
    if not cell.outputs and "no-output" not in tags:
        found.append("has no output (tag it `no-output` if that is intended)")
    if "plot" in tags:
        charts = [
            o
            for o in cell.outputs
            if o.output_type in ("display_data", "execute_result")
            and VEGALITE in o.data
            and str(o.data.get("image/svg+xml", "")).lstrip().startswith("<svg")
        ]
        if not charts:
            found.append(f"is tagged `plot` but shows no chart ({VEGALITE} with an image/svg+xml rendering)")
        if any("text/html" in o.data for o in charts):
            found.append("shows a chart bundle with text/html, which JupyterLab would prefer over the chart")
    return found


def notebook_problems(nb) -> list[str]:
    """Every broken rule in an executed notebook, naming the cell (1-based, counting all cells)."""
    found = []
    for index, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        for problem in cell_problems(cell):
            found.append(f"cell {index} `{first_line(cell)}` {problem}")
    return found


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    status = 0
    for name in argv:
        path = Path(name)
        if not path.is_file():
            print(f"{name}: no such notebook", file=sys.stderr)
            status = 1
            continue
        problems = notebook_problems(nbformat.read(path, as_version=4))
        for problem in problems:
            print(f"{name}: {problem}", file=sys.stderr)
        print(f"{name}: {'FAILED' if problems else 'ok'} ({len(problems)} problem(s))")
        status |= bool(problems)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
