"""The per-experiment outputs (trials.csv, convergence.png) from journals that hold failed, non-finite trials."""

from __future__ import annotations

import math

import pandas as pd

from hpo_mab.analysis.report import plot_convergence, write_trials_csv
from hpo_mab.history import Trial
from hpo_mab.journal import Journal


def test_a_trial_whose_epochs_were_nan_is_written_and_plotted(tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    journal.write(Trial(0, 0, "INIT", {"lr": 0.1}, "init", epochs=2, curve=[0.9, 0.5], value=0.5, loss=0.5,
                        seconds=1.0, clock=1.0, best_so_far=0.5))
    journal.write(Trial(0, 1, "TPE", {"lr": 9.0}, "failed", reason="non-finite metric nan", epochs=2,
                        curve=[math.nan, math.nan], seconds=1.0, clock=2.0, best_so_far=0.5))
    journal.write(Trial(0, 2, "TPE", {"lr": 0.2}, "complete", epochs=2, curve=[0.6, 0.4], value=0.4, loss=0.4,
                        seconds=1.0, clock=3.0, best_so_far=0.4))
    journal.close()
    frame = write_trials_csv(tmp_path / "journal.jsonl", tmp_path / "trials.csv")
    assert list(pd.read_csv(tmp_path / "trials.csv")["curve"]) == ["0.9 0.5", "nan nan", "0.6 0.4"]
    plot_convergence(frame, tmp_path / "convergence.png", "t", "val_loss", maximise=False)
    assert (tmp_path / "convergence.png").stat().st_size > 1000
