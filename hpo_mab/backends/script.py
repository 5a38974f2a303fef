"""The script backend: a user's own training script, unchanged, run as a subprocess per trial.

The command is a template with placeholders, `python train.py --lr {learning_rate} --bs {batch_size}`
(`{seed}` is the trial's seed, `{python}` this Python interpreter, `{epochs}` the run configuration's
`epochs`, a full trial's length, and `{checkpoint}` a file path the script may save its state to and resume
from: with it, a trial a scheduler pauses is killed and later run again with the same path, continuing from
its last epoch and charged only the new ones; without it, a paused trial trains again from the start and is
charged again, and its record says `info.restarted`). A placeholder is a name exactly as the space spells it
(`{learning_parameters.batch_size}` too), optionally with a format spec (`{lr:.4f}`) that suits every value it
can take; no index, attribute, position or conversion. The command is split like a shell line first,
then each word is filled in, so a value never becomes two words and no shell runs. The metric is read from
the output (stdout and stderr) line by line as it appears, with a regular expression whose named group
`metric` holds the value (and optionally `epoch`); every match is one epoch report, so a scheduler can stop
the script early. A crash (non-zero exit), a timeout, no metric or a non-finite one is a failed trial with
its reason and the last lines of output in `info.output_tail`; the search goes on.
"""

from __future__ import annotations

import math
import os
import queue
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from string import Formatter
from typing import Any

import numpy as np

from hpo_mab.backends.base import Decision, Outcome, Report, WallClock
from hpo_mab.errors import HpoError

TAIL_LINES = 10


@dataclass(frozen=True)
class ScriptSpec:
    """The run configuration's `script` mapping, checked."""

    command: list[str]
    pattern: re.Pattern
    direction: str = "min"
    metric: str = "metric"
    timeout: float = math.inf
    cwd: str | None = None
    epochs: int | None = None

    @property
    def checkpoints(self) -> bool:
        """Whether the command takes a {checkpoint} path (then a paused trial resumes from it)."""
        return any(field[1] == "checkpoint" for word in self.command for field in placeholders(word))


def parse_script(value: Any, names: list[str], where: str) -> ScriptSpec:
    """`script: {command, metric_regex, direction, metric_name, timeout, cwd}` of a run configuration."""
    from hpo_mab.termination import parse_duration

    if not isinstance(value, dict):
        raise HpoError(f"{where}: 'script' must be a mapping with 'command' and 'metric_regex', but got {value!r}")
    keys = {"command", "metric_regex", "direction", "metric_name", "timeout", "cwd", "epochs"}
    unknown = sorted(set(map(str, value)) - keys)
    if unknown:
        raise HpoError(f"{where}: script: unknown key(s) {unknown}; expected command, metric_regex, direction, "
                       "metric_name, timeout, cwd, epochs")
    epochs = value.get("epochs")
    if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1):
        raise HpoError(f"{where}: script.epochs must be a positive integer (a full trial's epochs), but got {epochs!r}")
    command, regex = value.get("command"), value.get("metric_regex")
    if not isinstance(command, str) or not command.strip():
        raise HpoError(f"{where}: script.command must be a command line with {{placeholders}}, but got {command!r}")
    try:
        words = shlex.split(command)
        fields = [field for word in words for field in placeholders(word)]
    except ValueError as exc:
        raise HpoError(f"{where}: script.command is not a valid template ({exc})")
    # A placeholder is a name in braces, exactly as the space spells it (`{a.b}` is the parameter 'a.b', see
    # _Fill), optionally with a format spec (`{lr:.3f}`, tried on the values it can take here and in
    # script_problem); no conversion (`!r`/`!a` would quote a string, `!s` is what happens anyway).
    builtins = {"seed": 0, "python": sys.executable, "checkpoint": "trial-1.ckpt"}
    if epochs:
        builtins["epochs"] = epochs
    for text, name, format_spec, conversion in fields:
        if name not in names and name not in builtins:
            plain = "" if name.isidentifier() else "; a placeholder is a plain name in braces, {name}, with no " \
                "index, attribute or position"
            raise HpoError(f"{where}: script.command names {text}, which is neither a parameter of the search space "
                           f"({', '.join(names)}) nor {{seed}}, {{python}}, {{checkpoint}} or {{epochs}} "
                           f"(with script.epochs){plain}")
        if conversion:
            raise HpoError(f"{where}: script.command: placeholder {text} has a conversion !{conversion}; values are "
                           f"filled in as text already: write {{{name}}}")
        if "{" in format_spec:
            raise HpoError(f"{where}: script.command: placeholder {text} has a placeholder inside its format spec")
        if name not in names:
            check_format(text, name, format_spec, [builtins[name]], f"{where}: script.command")
    if not isinstance(regex, str):
        raise HpoError(f"{where}: script.metric_regex must be a regular expression string, but got {regex!r}")
    try:
        pattern = re.compile(regex)
    except re.error as exc:
        raise HpoError(f"{where}: script.metric_regex is not a valid regular expression ({exc})")
    if "metric" not in pattern.groupindex:
        raise HpoError(f"{where}: script.metric_regex needs a named group (?P<metric>...) for the value")
    direction = value.get("direction", "min")
    if direction not in ("min", "max"):
        raise HpoError(f"{where}: script.direction must be 'min' or 'max', but got {direction!r}")
    timeout = parse_duration(value["timeout"]) if value.get("timeout") is not None else math.inf
    name = value.get("metric_name", "metric")
    cwd = value.get("cwd")
    if not isinstance(name, str) or not (cwd is None or isinstance(cwd, str)):
        raise HpoError(f"{where}: script.metric_name and script.cwd must be strings")
    return ScriptSpec(words, pattern, direction, name, timeout, cwd, epochs)


class ScriptBackend:
    """Runs the command of `spec` per trial on the wall clock."""

    def __init__(self, spec: ScriptSpec) -> None:
        self.spec = spec
        self.clock = WallClock()
        self._folder: str | None = None
        self._count = 0

    def _new_checkpoint(self) -> str:
        """A fresh checkpoint path for a trial (in one temporary folder per backend)."""
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="hpo-mab-checkpoints-")
            # removed with the backend (its run is over) or at exit at the latest; a killed run's folder stays
            weakref.finalize(self, shutil.rmtree, self._folder, ignore_errors=True)
        self._count += 1
        return os.path.join(self._folder, f"trial-{self._count}.ckpt")

    def run_trial(self, nominee: Any, *, draw: float, deadline: float = math.inf, report: Report | None = None,
                  checkpoint: Any = None) -> Outcome:
        """Run the command for the nominee; `checkpoint` = (path, epochs done) continues a paused trial."""
        seed = int(draw * 2**31)
        path, done = (tuple(checkpoint) if checkpoint else (self._new_checkpoint(), 0)) if self.spec.checkpoints \
            else ("", 0)
        values = {"seed": seed, "python": sys.executable, "checkpoint": path, "epochs": self.spec.epochs or "",
                  **nominee.config}
        argv = [_FILL.vformat(w, (), values) for w in self.spec.command]
        info: dict[str, Any] = {"seed": seed}
        start = time.monotonic()
        try:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                                    cwd=self.spec.cwd, errors="replace")
        except OSError as exc:
            return Outcome("failed", [], None, None, 0.0, f"cannot start the command: {exc}", info)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_pump, args=(proc, lines), daemon=True).start()
        tail: deque = deque(maxlen=TAIL_LINES)
        curve: list[float] = []
        state, reason, paused_at = None, None, 0
        while True:
            left = min(start + self.spec.timeout - time.monotonic(), deadline - self.clock.now)
            try:
                line = lines.get(timeout=max(min(left, 0.5), 0.0))
            except queue.Empty:
                line = ""
            if line is None:  # end of output
                break
            if line:
                tail.append(line.rstrip("\n"))
                match = self.spec.pattern.search(line)
                if match:
                    try:
                        value = float(match.group("metric"))
                    except ValueError:
                        value = math.nan
                    if not math.isfinite(value):
                        state, reason = "failed", f"non-finite metric {match.group('metric')!r}"
                        break
                    curve.append(value)
                    epoch = _epoch(match, done + len(curve))
                    answer = report(epoch, value, time.monotonic() - start) if report else None
                    if answer == Decision.PAUSE and path:
                        state, reason, paused_at = "paused", "paused", epoch
                        break
                    if answer in (Decision.STOP, Decision.PAUSE):
                        state, reason = "stopped", "stopped by the scheduler"
                        break
            if time.monotonic() - start >= self.spec.timeout:
                state, reason = "failed", f"timeout after {self.spec.timeout:g} s"
                break
            if self.clock.now >= deadline:
                state, reason = "stopped", "time budget exhausted"
                break
        _end(proc)
        seconds = time.monotonic() - start
        if state is None:
            code = proc.returncode
            if code != 0:
                state, reason = "failed", f"exit code {code}"
            elif not curve:
                state, reason = "failed", "no metric in the output"
            else:
                state = "complete"
        if state == "failed":
            info["output_tail"] = list(tail)
        value = curve[-1] if curve and state != "failed" else None
        if state == "paused":
            if not os.path.exists(path):  # the script wrote no checkpoint: it will train again from the start
                return Outcome("stopped", curve, value, None, seconds, "stopped by the scheduler", info)
            return Outcome("paused", curve, value, None, seconds, reason, info, (path, paused_at))
        return Outcome(state, curve, value, None, seconds, reason, info)


class _Fill(Formatter):
    """str.format where a placeholder's name is looked up whole: `{a.b}` is the value named 'a.b' (OTX names
    parameters `learning_parameters.batch_size`), never an attribute or index."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        return kwargs[field_name], field_name


_FILL = _Fill()


def placeholders(word: str) -> list[tuple[str, str, str, str | None]]:
    """The placeholders of one command word as (text as written, name, format spec, conversion).

    Raises ValueError for a malformed template (`{lr`, a lone `}`)."""
    out = []
    for _, name, format_spec, conversion in Formatter().parse(word):
        if name is not None:
            text = "{" + name + (f"!{conversion}" if conversion else "") + (f":{format_spec}" if format_spec else "")
            out.append((text + "}", name, format_spec, conversion))
    return out


def check_format(text: str, name: str, format_spec: str, values: list[Any], where: str) -> None:
    """Refuse a format spec that cannot format one of the values of placeholder `name`."""
    for value in values:
        try:
            format(value, format_spec)
        except (ValueError, TypeError, OverflowError) as exc:
            raise HpoError(f"{where}: placeholder {text} cannot format {name}={value!r} ({exc})")


def _epoch(match: re.Match, default: int) -> int:
    """The epoch the line names (group `epoch`), else the count of metric lines so far."""
    text = match.groupdict().get("epoch")
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _pump(proc: subprocess.Popen, lines: queue.Queue) -> None:
    for line in proc.stdout:
        lines.put(line)
    lines.put(None)


def _end(proc: subprocess.Popen) -> None:
    """Wait for a finished process; kill one still running."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()  # the pump thread reads the pipe to its end and exits


def script_problem(name: str, space: Any, spec: ScriptSpec, default_budget_s: float = 600.0):
    """A user's script as a problem: continuous candidates, the script backend, no true values."""
    from hpo_mab.backends.problem import Problem, continuous_candidates
    from hpo_mab.surrogates.table import Metric

    for text, pname, format_spec, _ in (f for word in spec.command for f in placeholders(word)):
        if format_spec and pname in space.names:  # the format spec on this parameter's values, low to high
            p = space.params[space.names.index(pname)]
            values = list(p.values) if p.values else [p.decode(np.array([x])) for x in (0.0, 0.5, 1.0)]
            check_format(text, pname, format_spec, values, "script.command")
    metric = Metric(name=spec.metric, kind="loss", direction=spec.direction)
    return Problem(name=name, space=space, metric=metric, default_budget_s=default_budget_s,
                   make_backend=lambda: ScriptBackend(spec), make_candidates=continuous_candidates(space), live=True,
                   meta={"command": shlex.join(spec.command), "epochs": spec.epochs})
