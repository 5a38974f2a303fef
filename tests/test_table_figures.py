"""experiments/table_figures.py and live_vs_table.py on a tiny table: figures, sections, partial-table refusal."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from conftest import make_tiny_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
import live_vs_table  # noqa: E402
import table_figures as tf  # noqa: E402

from hpo_mab.surrogates import save_table  # noqa: E402


def test_figures_are_seeded_and_consistent():
    table = make_tiny_table()
    a, b = tf.figures(table, 6, seed=3), tf.figures(table, 6, seed=3)
    assert a.per_run == b.per_run and len(a.per_run) == 6
    for r in a.per_run:
        assert r.regret >= 0.0 and r.trials > 0
        if r.in_top[-1]:  # an incumbent in the top 1% at the end entered it at some time
            assert r.time_to_top is not None and r.time_to_top <= a.budget
    assert a.km.reached == sum(r.time_to_top is not None for r in a.per_run)
    text = tf.markdown(a, "cmd")
    assert "| median normalised regret at the budget |" in text and tf.PARTIAL not in text


def test_sections_replace_and_append(tmp_path):
    path = tmp_path / "f.md"
    tf.write_section(path, "a", "<!-- table_figures: a -->\nfirst-x\n<!-- /table_figures: a -->\n")
    tf.write_section(path, "b", "<!-- table_figures: b -->\nsecond-x\n<!-- /table_figures: b -->\n")
    tf.write_section(path, "a", "<!-- table_figures: a -->\nthird-x\n<!-- /table_figures: a -->\n")
    text = path.read_text()
    assert text.startswith(tf.HEADER) and "first-x" not in text and text.index("third-x") < text.index("second-x")


def test_partial_tables_are_refused_unless_allowed(tmp_path, capsys):
    table = make_tiny_table()
    partial = replace(table, meta={**table.meta, "complete": False, "configs_planned": 500})
    save_table(partial, tmp_path / "tiny.npz")
    out = tmp_path / "f.md"
    assert tf.main([str(tmp_path / "tiny.npz"), "--runs", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "PARTIAL TABLE" in err and not out.exists()
    assert tf.main([str(tmp_path / "tiny.npz"), "--runs", "2", "--out", str(out), "--allow-partial"]) == 0
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ") and "figure" not in line]
    assert rows and all("(PARTIAL TABLE)" in line for line in rows)
    assert live_vs_table.main(["--table", str(tmp_path / "tiny.npz"), "--out", str(tmp_path / "l.txt")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "PARTIAL TABLE" in err and not (tmp_path / "l.txt").exists()
    assert live_vs_table.main(["--table", str(tmp_path / "tiny.npz"), "--dry-run", "--budget", "100"]) == 0
    assert "5 runs x 100 s x 2 = 1000 s" in capsys.readouterr().out
