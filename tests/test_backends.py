"""The backend interface: per-epoch reports with continue / pause / stop, and the problem the runner sees."""

from __future__ import annotations

import numpy as np
import pytest

from hpo_mab.arms import Nominee
from hpo_mab.backends.base import Decision
from hpo_mab.backends.lookup import LookupBackend
from hpo_mab.backends.problem import as_problem
from hpo_mab.errors import HpoError


def nominee(table, row):
    return Nominee(table.encoded[row], table.config(row), row)


def test_reports_every_epoch_and_matches_the_fast_path(tiny_table):
    seen = []
    slow = LookupBackend(tiny_table).run_trial(nominee(tiny_table, 5), draw=0.4,
                                              report=lambda e, v, s: seen.append((e, v, s)))
    fast = LookupBackend(tiny_table).run_trial(nominee(tiny_table, 5), draw=0.4)
    assert slow.curve == fast.curve and slow.value == fast.value and slow.test == fast.test
    assert slow.seconds == pytest.approx(fast.seconds) and slow.state == "complete"
    assert [e for e, _, _ in seen] == [1, 2, 3, 4]
    assert [s for _, _, s in seen] == pytest.approx(tiny_table.seconds[5, 1].tolist())


def test_stop_ends_the_trial_and_the_clock_there(tiny_table):
    backend = LookupBackend(tiny_table)
    out = backend.run_trial(nominee(tiny_table, 3), draw=0.0,
                            report=lambda e, v, s: Decision.STOP if e == 2 else Decision.CONTINUE)
    assert out.state == "stopped" and out.epochs == 2 and "scheduler" in out.reason
    assert backend.clock.now == pytest.approx(tiny_table.seconds[3, 0, 1])


def test_pause_then_continue_gives_the_whole_curve(tiny_table):
    backend = LookupBackend(tiny_table)
    first = backend.run_trial(nominee(tiny_table, 9), draw=0.9,
                              report=lambda e, v, s: Decision.PAUSE if e == 1 else None)
    assert first.state == "paused" and first.epochs == 1
    rest = backend.run_trial(nominee(tiny_table, 9), draw=0.0, checkpoint=first.checkpoint)
    assert first.curve + rest.curve == tiny_table.values[9, 2].tolist()
    assert backend.clock.now == pytest.approx(tiny_table.seconds[9, 2, -1])


def test_deadline_cuts_a_reported_trial(tiny_table):
    backend = LookupBackend(tiny_table)
    secs = tiny_table.seconds[3, 1]
    out = backend.run_trial(nominee(tiny_table, 3), draw=0.5, deadline=(secs[1] + secs[2]) / 2,
                            report=lambda e, v, s: None)
    assert out.state == "stopped" and out.epochs == 2 and backend.clock.now == pytest.approx((secs[1] + secs[2]) / 2)


def test_table_problem_gives_rows_true_values_and_checks_records(tiny_table):
    problem = as_problem(tiny_table)
    assert as_problem(problem) is problem and problem.n_rows == 120 and not problem.live
    assert problem.true_value(4) == pytest.approx(float(np.mean(tiny_table.values[4, :, -1])))
    assert problem.true_value(None) is None
    nom = problem.nominee_of({"row": 4, "config": {}})
    assert nom.row == 4 and nom.config == tiny_table.config(4)
    with pytest.raises(HpoError, match="not a row of tiny"):
        problem.check_record({"row": 500}, "journal: run 0 trial 0")


# -- conformance: every backend reports epochs, obeys STOP and the deadline, and is deterministic per draw ------

def _lookup(tiny_table):
    return LookupBackend(tiny_table), nominee(tiny_table, 3), tiny_table.n_epochs


def _train(tiny_table):
    from hpo_mab.backends.train import TrainBackend
    from hpo_mab.tasks import get_task

    task = get_task("diabetes-mlp")
    return TrainBackend(task, task.data(), 3, "cpu"), Nominee(None, task.space().defaults(), None), 3


def _script(tiny_table):
    from pathlib import Path

    from hpo_mab.backends.script import ScriptBackend, parse_script

    script = Path(__file__).resolve().parents[1] / "examples" / "train_quadratic.py"
    spec = parse_script({"command": f"{{python}} {script} --lr {{lr}} --width {{width}} --act {{act}} --epochs 3 "
                                    "--sleep 0 --seed {seed}", "metric_regex": r"val_loss=(?P<metric>\S+)"},
                        ["lr", "width", "act"], "test")
    return ScriptBackend(spec), Nominee(None, {"lr": 0.01, "width": 16, "act": "tanh"}, None), 3


@pytest.mark.parametrize("make", [_lookup, _train, _script], ids=["lookup", "train", "script"])
def test_backend_conformance(tiny_table, make):
    backend, nom, epochs = make(tiny_table)
    seen = []
    out = backend.run_trial(nom, draw=0.25, report=lambda e, v, s: seen.append((e, v, s)))
    assert out.state == "complete" and out.epochs == epochs and out.value == out.curve[-1]
    assert [e for e, _, _ in seen] == list(range(1, epochs + 1)) and [v for _, v, _ in seen] == out.curve
    assert all(a[2] <= b[2] for a, b in zip(seen, seen[1:])) and out.seconds > 0
    again = backend.run_trial(nom, draw=0.25)
    assert again.curve == pytest.approx(out.curve)  # same draw, same seed, same curve
    stopped = backend.run_trial(nom, draw=0.25, report=lambda e, v, s: Decision.STOP)
    assert stopped.state == "stopped" and stopped.epochs == 1
    late = backend.run_trial(nom, draw=0.25, deadline=backend.clock.now)
    assert late.state == "stopped" and late.reason == "time budget exhausted"
