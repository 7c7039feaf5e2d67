#!/usr/bin/env python3
"""Executes notebooks headless with the Deno Jupyter kernel (nbclient) and exports them to HTML.

For each notebook (default: every `notebooks/*.ipynb`) it writes the executed notebook and its HTML
export (nbconvert, lab template) to the output folder (default `out/`), prints progress per cell and one
line per finished training epoch (`EpochLines`), checks the result with `check_notebook.py` (no errors;
every cell has its output, `plot` cells a chart), and ends with a summary: each notebook's final metrics
and files. Exit status 1 names the failing cell and its error; the partial notebook is still written.

The kernel is a project-local kernelspec in a temporary JUPYTER_PATH whose argv is the given deno
executable, so it works from any clone without `deno jupyter --install`. The kernel runs in the
notebook's folder and inherits the environment (the `TL_*` settings). Its own stdout/stderr (Deno's
warnings, TensorFlow's logs) go to `<out>/<name>.kernel.log`.

The Deno kernel may publish a cell's last output just after it reports the cell idle; nbclient stops
listening at idle and would drop it. `DenoNotebookClient` keeps draining IOPub for a short grace period
after idle and files any later straggler under the cell that produced it — and reports each one as a
WARNING with a count: in JupyterLab's Run All the next cell is already running by then, and the kernel
stamps such an output with that later cell, so a late output here is a misplaced output there.

Usage: run_notebooks.py --deno PATH [--out DIR] [--timeout S] [--grace S] [--no-check] [NOTEBOOK...]
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async
from nbconvert import HTMLExporter
from traitlets import Float, Int

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_notebook import first_line, notebook_problems  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent
OUTPUT_TYPES = {"stream", "display_data", "execute_result", "error", "update_display_data", "clear_output"}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


EPOCH = re.compile(r"^Epoch (\d+)/(\d+)$")
# An epoch's final progress line (lib/train/progress.ts): the full bar and the epoch's time per step; a running
# line has an ETA instead.
EPOCH_DONE = re.compile(r"^\s*\d+/\d+ \[=+\] - \d+s \S+/step\b")
# Lines the notebooks print with a final metric, e.g. `Test accuracy : 0.9791666865348816`.
METRIC = re.compile(r"^\s*(test|final|validation)[ _]+(accuracy|loss)\b", re.IGNORECASE)
LONG_DECIMAL = re.compile(r"(\d+\.\d{4})\d+")
BAR = re.compile(r" \[=+\]")


def output_text(msg: dict) -> str:
    """The text an output message shows: a stream's text, or a display's `text/plain`."""
    content = msg["content"]
    if msg["msg_type"] == "stream":
        return content.get("text", "")
    text = content.get("data", {}).get("text/plain", "")
    return "".join(text) if isinstance(text, list) else text


class EpochLines:
    """Follows the training progress the kernel shows (one display per `fit`, updated in place: the
    finished epochs' lines and the current one) and reports each epoch once, when its line is final.
    Also keeps the lines the summary shows: the last epoch's, and printed metrics such as a test
    accuracy."""

    def __init__(self, emit):
        self._emit = emit
        self._done: set[tuple] = set()
        self.last_epoch = ""
        self.metrics: list[str] = []

    def feed(self, msg: dict, cell_index: int) -> None:
        if msg["msg_type"] not in ("stream", "display_data", "update_display_data", "execute_result"):
            return
        lines = _ANSI.sub("", output_text(msg)).splitlines()
        transient = msg["content"].get("transient") or {}
        key = (cell_index, transient.get("display_id") or msg["msg_type"])
        for header, line in zip(lines, lines[1:]):
            epoch = EPOCH.match(header.strip())
            if epoch and EPOCH_DONE.match(line) and (key, epoch.group(1)) not in self._done:
                self._done.add((key, epoch.group(1)))
                self.last_epoch = f"{header.strip()}: {BAR.sub('', line.strip())}"
                self._emit(self.last_epoch)
        if not transient.get("display_id"):
            self.metrics += [LONG_DECIMAL.sub(r"\1", line.strip()) for line in lines if METRIC.match(line)]


class DenoNotebookClient(NotebookClient):
    """nbclient's client, robust to outputs the kernel publishes after reporting a cell idle."""

    late_output_grace = Float(
        0.5, help="Seconds to keep reading IOPub after a cell's idle status; extended by each late output."
    ).tag(config=True)
    late_outputs = Int(0, help="Outputs received after their cell's idle status.")
    stray_outputs = Int(0, help="Late outputs that arrived while a later cell ran, filed under their own cell.")

    def __init__(self, nb, km=None, warn=None, on_output=None, **kw):
        super().__init__(nb, km, **kw)
        self._cell_of_msg: dict[str, tuple] = {}
        self._late_by_cell: dict[int, int] = {}
        self._warn = warn or (lambda message: None)
        self._on_output = on_output or (lambda msg, cell_index: None)

    def _dispatch(self, msg: dict, current_id: str, after_idle: bool) -> bool:
        """Files one IOPub message under its cell; True when it is the current cell's idle status."""
        parent_id = msg["parent_header"].get("msg_id")
        target = self._cell_of_msg.get(parent_id)
        if target is None:
            return False
        cell, cell_index = target
        is_current = parent_id == current_id
        if msg["msg_type"] == "status" and (after_idle or not is_current):
            return False
        if msg["msg_type"] in OUTPUT_TYPES and (after_idle or not is_current):
            self.late_outputs += 1
            self._late_by_cell[cell_index] = self._late_by_cell.get(cell_index, 0) + 1
            if not is_current:
                self.stray_outputs += 1
        if msg["msg_type"] in OUTPUT_TYPES:
            self._on_output(msg, cell_index)
        try:
            self.process_message(msg, cell, cell_index)
        except CellExecutionComplete:
            return is_current
        return False

    async def _async_poll_output_msg(self, parent_msg_id: str, cell, cell_index: int) -> None:
        assert self.kc is not None
        self._cell_of_msg[parent_msg_id] = (cell, cell_index)
        while True:
            msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            if self._dispatch(msg, parent_msg_id, after_idle=False):
                break
        deadline = time.monotonic() + self.late_output_grace
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=remaining))
            except Empty:
                break
            self._dispatch(msg, parent_msg_id, after_idle=True)
            if msg["msg_type"] in OUTPUT_TYPES:
                deadline = time.monotonic() + self.late_output_grace
        for index, late in sorted(self._late_by_cell.items()):
            self._warn(
                f"WARNING: {late} output(s) of cell {index + 1} arrived after it reported idle "
                "(in JupyterLab's Run All they would show under a later cell)"
            )
        self._late_by_cell.clear()


def is_stream_continuation(previous, out) -> bool:
    return out.output_type == "stream" and previous.output_type == "stream" and previous.name == out.name


def coalesce_streams(cell) -> None:
    """Merges consecutive stream outputs of the same name (late ones included) into one."""
    merged = []
    for out in cell.outputs:
        if merged and is_stream_continuation(merged[-1], out):
            merged[-1].text += out.text
        else:
            merged.append(out)
    cell.outputs = merged


def clean(nb) -> None:
    """Drops run-dependent metadata (timings) so that re-running gives the same file."""
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            coalesce_streams(cell)


def write_kernelspec(deno: str, folder: Path) -> None:
    spec_dir = folder / "kernels" / "deno"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [deno, "jupyter", "--kernel", "--conn", "{connection_file}"],
        "display_name": "Deno",
        "language": "typescript",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))


def log(message: str) -> None:
    print(message, flush=True)


class Result:
    """What the summary says about one notebook."""

    def __init__(self, name: str):
        self.name = name
        self.ok = False
        self.seconds = 0.0
        self.problem = ""
        self.files: list[Path] = []
        self.epochs: EpochLines | None = None


def run_notebook(path: Path, out_dir: Path, args) -> Result:
    nb = nbformat.read(path, as_version=4)
    name = path.stem
    result = Result(name)
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    if kernel != "deno":
        result.problem = f"kernelspec is {kernel!r}, expected 'deno' (TypeScript on the Deno kernel)"
        log(f"[{name}] FAILED: {result.problem}")
        return result
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
    started: dict[int, float] = {}
    epochs = result.epochs = EpochLines(lambda line: log(f"[{name}]     {line}"))

    def on_start(cell, cell_index, **_):
        started[cell_index] = time.monotonic()
        number = code_cells.index(cell_index) + 1 if cell_index in code_cells else 0
        log(f"[{name}] cell {cell_index + 1}/{len(nb.cells)} ({number}/{len(code_cells)} code) {first_line(cell)}")

    def on_done(cell, cell_index, execute_reply, **_):
        seconds = time.monotonic() - started.get(cell_index, time.monotonic())
        status = execute_reply.get("content", {}).get("status", "?")
        shown = sum(1 for i, o in enumerate(cell.outputs) if not (i and is_stream_continuation(cell.outputs[i - 1], o)))
        log(f"[{name}]   {status} in {seconds:.1f} s, {shown} output(s)")

    client = DenoNotebookClient(
        nb,
        kernel_name="deno",
        timeout=args.timeout,
        startup_timeout=120,
        iopub_timeout=max(10, 4 * args.grace),
        late_output_grace=args.grace,
        record_timing=False,
        coalesce_streams=True,
        resources={"metadata": {"path": str(path.parent.resolve())}},
        on_cell_execute=on_start,
        on_cell_executed=on_done,
        warn=lambda message: log(f"[{name}]   {message}"),
        on_output=epochs.feed,
    )
    kernel_log = out_dir / f"{name}.kernel.log"
    t0 = time.monotonic()
    ok = True
    with kernel_log.open("w") as klog:
        try:
            client.execute(stdout=klog, stderr=klog)
        except CellExecutionError as e:
            ok = False
            failing = next((i for i in code_cells if any(o.output_type == "error" for o in nb.cells[i].outputs)), None)
            where = f"cell {failing + 1} `{first_line(nb.cells[failing])}`" if failing is not None else "a cell"
            result.problem = f"failed at {where}"
            log(f"[{name}] FAILED at {where}:\n{_ANSI.sub('', str(e)).strip()}")
        except (CellTimeoutError, DeadKernelError, RuntimeError, TimeoutError) as e:
            ok = False
            result.problem = f"{type(e).__name__}: {first_text_line(str(e))}"
            log(f"[{name}] FAILED: {type(e).__name__}: {_ANSI.sub('', str(e)).strip()}")
    result.seconds = time.monotonic() - t0
    if not ok:
        tail = kernel_log.read_text(errors="replace").strip().splitlines()[-15:]
        if tail:
            log(f"[{name}] last lines of {kernel_log}:\n  " + "\n  ".join(tail))
    clean(nb)
    result.files = [out_dir / f"{name}.html", out_dir / f"{name}.ipynb"]
    nbformat.write(nb, result.files[1])
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    result.files[0].write_text(html)
    log(f"[{name}] {'done' if ok else 'stopped'} in {result.seconds:.1f} s")
    if client.late_outputs:
        log(
            f"[{name}] WARNING: {client.late_outputs} output(s) arrived after their cell reported idle "
            f"({client.stray_outputs} of them while a later cell ran); each would be misplaced in JupyterLab"
        )
    if ok and not args.no_check:
        problems = notebook_problems(nb)
        for problem in problems:
            log(f"[{name}] CHECK FAILED: {problem}")
        if problems:
            result.problem = f"{len(problems)} check(s) failed"
        ok = not problems
    result.ok = ok
    return result


def first_text_line(text: str) -> str:
    lines = [line for line in _ANSI.sub("", text).splitlines() if line.strip()]
    return lines[0].strip() if lines else ""


def shown_path(p: Path) -> str:
    """`p` relative to the current folder when it is inside it."""
    try:
        return str(p.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(p)


def summary(results: list[Result]) -> list[str]:
    """Each notebook's outcome, final metrics and files, a few lines each."""
    lines = ["", "Summary:"]
    for r in results:
        state = f"ran in {r.seconds:.0f} s" if r.ok else f"FAILED ({r.problem})"
        lines.append(f"  {r.name}: {state}")
        if r.epochs and r.epochs.metrics:
            lines.append(f"    {r.epochs.metrics[-1]}")
        if r.epochs and r.epochs.last_epoch:
            lines.append(f"    last epoch: {r.epochs.last_epoch}")
        if r.files:
            lines.append(f"    open {shown_path(r.files[0])} in a browser (executed notebook: {shown_path(r.files[1])})")
    return lines


class OneLineParser(argparse.ArgumentParser):
    """argparse with the project's usage errors: one line, "did you mean" for a near option, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        unknown = re.match(r"unrecognized arguments: (\S+)", message)
        if unknown:
            options = [o for action in self._actions for o in action.option_strings]
            near = difflib.get_close_matches(unknown.group(1).split("=")[0], options, n=1)
            if near:
                message += f"; did you mean `{near[0]}`?"
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def main(argv: list[str]) -> int:
    parser = OneLineParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--deno", required=True, help="the deno executable the kernel runs")
    parser.add_argument("--out", type=Path, default=ROOT / "out")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell (default 3600)")
    parser.add_argument("--grace", type=float, default=0.5, help="seconds of IOPub draining after idle")
    parser.add_argument("--no-check", action="store_true", help="skip check_notebook.py's rules")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not notebooks:
        log("no notebooks to run")
        return 1
    missing = [str(p) for p in notebooks if not p.is_file()]
    if missing:
        log(f"no such notebook: {', '.join(missing)}")
        return 1
    if not os.access(args.deno, os.X_OK):
        log(f"--deno {args.deno}: not an executable")
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tl-jupyter-") as jupyter_path:
        write_kernelspec(args.deno, Path(jupyter_path))
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [jupyter_path, os.environ.get("JUPYTER_PATH")]))
        results = [run_notebook(p, args.out, args) for p in notebooks]
    for line in summary(results):
        log(line)
    failed = [r.name for r in results if not r.ok]
    if failed:
        log(f"FAILED: {', '.join(failed)}")
        return 1
    log(f"all {len(notebooks)} notebook(s) ran")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
