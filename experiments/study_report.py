"""Reports of the issue-8 study from its cell files, with the statistics of `hpo_mab.analysis.stats`.

Scores are normalised regret at the end of the budget ((true loss of the incumbent - best in table) /
(median - best); 0 is the table's best row, 1 its median), lower is better. A method's score on a table is
its median over the table's seeded runs; ranks are taken per table. Every random draw of the bootstrap comes
from a generator seeded here (0), so a report is the same for the same cells.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

import numpy as np

from hpo_mab.analysis import stats

Cells = dict[str, dict[str, dict]]  # table -> method -> cell document
ALPHA = 0.05


def per_run(cells: Cells, tables: Sequence[str], methods: Sequence[str], key: str = "regret_100") -> np.ndarray:
    """(tables, runs, methods) scores; run i of every method shares its seed."""
    return np.array([[[cells[t][m]["results"][i][key] for m in methods]
                      for i in range(len(cells[t][methods[0]]["results"]))] for t in tables], dtype=float)


def complete_tables(cells: Cells, tables: Sequence[str], methods: Sequence[str]) -> list[str]:
    return [t for t in tables if all(m in cells.get(t, {}) for m in methods)]


def _fmt(x: float) -> str:
    return "inf" if not np.isfinite(x) else f"{x:.4f}"


# -- ranking ---------------------------------------------------------------------------------------------
def ranking(cells: Cells, tables: Sequence[str], methods: Sequence[str], title: str,
            focus: str | None = None) -> tuple[list[str], dict[str, float]]:
    """A ranking section (mean ranks with 90% bootstrap intervals, Friedman with the Nemenyi CD, Wilcoxon-Holm)
    and the mean ranks; `focus`: the method whose pairwise tests are listed."""
    used = complete_tables(cells, tables, methods)
    lines = [f"## {title}", ""]
    if not used:
        return lines + ["No table has every ranked cell finished yet.", ""], {}
    values = per_run(cells, used, methods)
    rng = np.random.default_rng(0)
    boot = stats.bootstrap_ranks(values, methods, rng, n_boot=2000)
    lines += [f"Tables ({len(used)}): {', '.join(used)}. Rank per table by median final normalised regret over "
              f"{values.shape[1]} runs, ties averaged; 90% bootstrap interval resampling tables and runs "
              f"({boot.n_boot} resamples); P(first): share of resamples with the best mean rank.", "",
              "| method | mean rank | 90% interval | P(first) | mean of medians |", "|---|---|---|---|---|"]
    medians = np.median(values, axis=1)
    order = np.argsort(boot.mean, kind="stable")
    for k in order:
        lines.append(f"| {methods[k]} | {boot.mean[k]:.2f} | {boot.low[k]:.2f} - {boot.high[k]:.2f} | "
                     f"{boot.p_first[k]:.2f} | {medians[:, k].mean():.4f} |")
    lines.append("")
    if len(used) >= 2 and len(methods) >= 3:
        fr = stats.friedman(medians, methods, ALPHA)
        lines += [fr.summary(), ""]
        pairs = stats.pairwise_wilcoxon(medians, methods)
        significant = [q for q in pairs if q.significant(ALPHA)]
        lines.append(f"Pairwise Wilcoxon signed-rank tests over tables, Holm-corrected across all {len(pairs)} pairs: "
                     f"{len(significant)} significant at {ALPHA}"
                     + (": " + "; ".join(f"{q.a} vs {q.b} (p_Holm {q.holm_pvalue:.3g})" for q in significant)
                        if significant else "") + ".")
        if focus in methods:
            lines += ["", f"{focus} against each method (median over tables of the difference of medians, "
                      "negative: {focus} lower; raw and Holm p):".replace("{focus}", focus), "",
                      "| other | median difference | p | p_Holm |", "|---|---|---|---|"]
            for q in pairs:
                if focus in (q.a, q.b):
                    other, sign = (q.b, 1.0) if q.a == focus else (q.a, -1.0)
                    lines.append(f"| {other} | {sign * q.median_difference:+.4f} | {q.pvalue:.3g} | "
                                 f"{q.holm_pvalue:.3g} |")
        lines.append("")
    else:
        lines += ["(Friedman and pairwise tests need at least 2 tables and 3 methods.)", ""]
    return lines, dict(zip(methods, boot.mean.tolist()))


# -- per table ---------------------------------------------------------------------------------------------
def km(doc: dict[str, Any]) -> stats.KaplanMeier:
    """Kaplan-Meier median time to the table's top 1%, in units of the budget (censored at 1)."""
    budget = doc["budget"]
    times = [r["time_to_target"] / budget if r["time_to_target"] is not None else 1.0 for r in doc["results"]]
    return stats.km_median(times, [r["time_to_target"] is not None for r in doc["results"]])


def table_section(table: str, docs: dict[str, dict], methods: Sequence[str]) -> list[str]:
    """Medians with 95% intervals, regret at 25/50% of the budget, time to target, trials, notes."""
    any_doc = next((docs[m] for m in methods if m in docs), None)
    head = f"### {table}"
    if any_doc:
        head += f" (budget {any_doc['budget']:.0f} s, {any_doc['n_rows']} rows, {any_doc['runs']} runs)"
    lines = [head, "", "| method | median final regret [95% CI] | 25% | 50% | time to top 1% (KM median [95% CI], "
             "budget units) | reached | trials (median) | note |", "|---|---|---|---|---|---|---|---|"]
    for m in methods:
        d = docs.get(m)
        if d is None:
            lines.append(f"| {m} | not finished | | | | | | |")
            continue
        res = d["results"]
        med, lo, hi = stats.median_interval([r["regret_100"] for r in res])
        k = km(d)
        note = ""
        if "moves" in res[0]:
            n = sum(r["trials"] for r in res)
            note = (f"moves {sum(r['moves'] for r in res)} ({100 * sum(r['moves'] for r in res) / max(n, 1):.1f}%), "
                    f"snaps {sum(r['snaps'] for r in res)}")
        lines.append(f"| {m} | {med:.4f} [{lo:.4f}, {hi:.4f}] | {np.median([r['regret_25'] for r in res]):.4f} | "
                     f"{np.median([r['regret_50'] for r in res]):.4f} | {_fmt(k.median)} [{_fmt(k.low)}, "
                     f"{_fmt(k.high)}] | {k.reached}/{k.n} | {np.median([r['trials'] for r in res]):.0f} | {note} |")
    return lines + [""]


# -- development --------------------------------------------------------------------------------------------
def dev_choice(cells: Cells, tables: Sequence[str], methods: Sequence[str]) -> dict[str, Any]:
    """The default DIV strategy: the best mean rank over the dev tables (per table by median final regret);
    ties broken by the mean rank over (table, run) blocks, then by the mean of the tables' medians, then by
    name."""
    values = per_run(cells, tables, methods)
    medians = np.median(values, axis=1)
    by_table = stats.mean_ranks(medians)
    by_run = stats.mean_ranks(values.reshape(-1, len(methods)))
    mean_median = medians.mean(axis=0)
    best = min(range(len(methods)), key=lambda k: (by_table[k], by_run[k], mean_median[k], methods[k]))
    return {"method": methods[best], "strategy": methods[best].removeprefix("DIV-"),
            "rule": "best mean rank over the dev tables (rank per table by median final normalised regret); ties: "
                    "mean rank over (table, run) blocks, then mean of the tables' medians, then name",
            "tables": list(tables), "mean_rank": dict(zip(methods, np.round(by_table, 4).tolist())),
            "mean_rank_by_run": dict(zip(methods, np.round(by_run, 4).tolist())),
            "mean_of_medians": dict(zip(methods, np.round(mean_median, 6).tolist())),
            "decided": datetime.date.today().isoformat()}


def choice_text(choice: dict[str, Any]) -> str:
    ranks = sorted(choice["mean_rank"].items(), key=lambda kv: kv[1])
    return ("\n## The development choice\n\n"
            f"Default DIV strategy chosen on the development data: **{choice['method']}** ({choice['rule']}; "
            f"decided {choice['decided']}). Mean ranks: "
            + ", ".join(f"{m} {r:.2f}" for m, r in ranks) + ".\n")


def dev_report(cells: Cells, tables: Sequence[str], methods: Sequence[str], seed: int, runs: int) -> str:
    lines = ["# Issue-8 study: development phase", "",
             f"Development tables: {', '.join(tables)}; seeds: runs 0-{runs - 1} = children 0-{runs - 1} of "
             f"SeedSequence({seed}); each table's default budget. Methods: the DIV strategies over the default "
             "portfolio (oracle variants excluded). Normalised regret: 0 is the table's best row, 1 its median.", ""]
    section, _ = ranking(cells, tables, methods, "Mean ranks of the DIV strategies (development)")
    lines += section + ["## Per table", ""]
    for t in tables:
        lines += table_section(t, cells.get(t, {}), methods)
    return "\n".join(lines) + "\n"


# -- evaluation ---------------------------------------------------------------------------------------------
def significance(cells: Cells, tables: Sequence[str], methods: Sequence[str], a: str, b: str) -> str:
    """Whether a's and b's mean ranks differ significantly: Friedman + Nemenyi CD, and Wilcoxon-Holm."""
    used = complete_tables(cells, tables, methods)
    if len(used) < 2 or len(methods) < 3:
        return "not tested (fewer than 2 tables or 3 methods)"
    medians = np.median(per_run(cells, used, methods), axis=1)
    fr = stats.friedman(medians, methods, ALPHA)
    gap = abs(fr.mean_ranks[list(methods).index(a)] - fr.mean_ranks[list(methods).index(b)])
    nemenyi = fr.pvalue < ALPHA and gap > fr.cd
    pair = next(q for q in stats.pairwise_wilcoxon(medians, methods) if {q.a, q.b} == {a, b})
    return (f"{'significant' if nemenyi else 'not significant'} by Friedman's test (all methods: p = {fr.pvalue:.3g}) "
            f"followed by Nemenyi's (this pair's gap {gap:.2f} mean-rank units against the CD {fr.cd:.2f}); "
            f"Wilcoxon-Holm p = {pair.holm_pvalue:.3g} "
            f"({'significant' if pair.significant(ALPHA) else 'not significant'} at {ALPHA})")


def goal_check(cells: Cells, tables: Sequence[str], default: str, singles: Sequence[str],
               ranks: dict[str, float], ranked: Sequence[str]) -> list[str]:
    lines = [f"## Goal check: {default} (the default DIV strategy, chosen on development data)", ""]
    if default in ranks:
        others = {m: r for m, r in ranks.items() if m != default}
        runner = min(others, key=others.get)
        best = ranks[default] <= others[runner]
        lines.append(f"- Best mean rank: {'MET' if best else 'NOT MET'} ({default} {ranks[default]:.2f}; best other "
                     f"{runner} {others[runner]:.2f}); the difference is "
                     f"{significance(cells, tables, ranked, default, runner)}.")
    else:
        lines.append("- Best mean rank: not checked (unfinished cells).")
    lines += ["", "Per table: median final regret of the default <= 1.1 x the best single arm's + 0.01 (single arms: "
              f"{', '.join(singles)}).", "", "| table | default | best single arm | bound | result |",
              "|---|---|---|---|---|"]
    met = 0
    checked = 0
    for t in tables:
        docs = cells.get(t, {})
        meds = {m: float(np.median([r["regret_100"] for r in docs[m]["results"]])) for m in singles if m in docs}
        if default not in docs or len(meds) < len(singles):
            lines.append(f"| {t} | - | - | - | not checked (unfinished cells) |")
            continue
        arm = min(meds, key=meds.get)
        bound = 1.1 * meds[arm] + 0.01
        value = float(np.median([r["regret_100"] for r in docs[default]["results"]]))
        checked += 1
        met += value <= bound
        lines.append(f"| {t} | {value:.4f} | {arm} {meds[arm]:.4f} | {bound:.4f} | "
                     f"{'MET' if value <= bound else 'NOT MET'} |")
    lines += ["", f"Met on {met} of {checked} checked table(s) of {len(tables)}.", ""]
    return lines + bound_for_every_method(cells, tables, singles)


def bound_for_every_method(cells: Cells, tables: Sequence[str], singles: Sequence[str]) -> list[str]:
    """For scale: on how many tables each method meets the same bound (1.1 x the best single arm's median + 0.01).
    The best of many single arms' noisy medians sits below what any one method reaches on most tables, so this
    says how attainable the bound is, not only whether the default attains it."""
    done = [t for t in tables if all(m in cells.get(t, {}) for m in singles)]
    if not done:
        return []
    methods = sorted({m for t in done for m in cells[t]})
    met = {m: 0 for m in methods}
    for t in done:
        meds = {m: float(np.median([r["regret_100"] for r in d["results"]])) for m, d in cells[t].items()}
        bound = 1.1 * min(meds[s] for s in singles) + 0.01
        for m in methods:
            met[m] += m in meds and meds[m] <= bound
    order = sorted(methods, key=lambda m: (-met[m], m))
    runs = len(next(iter(cells[done[0]].values()))["results"])
    return ["For scale, the same per-table bound for every method (tables where its median final regret is at most "
            f"1.1 x the best single arm's + 0.01, of {len(done)}; a single arm that is the best on a table meets it "
            "there by definition):", "", "| method | tables met |", "|---|---|",
            *(f"| {m} | {met[m]} |" for m in order), "",
            f"No method meets it on more than {max(met.values())} of {len(done)}: the best of {len(singles)} single "
            f"arms' medians of {runs} runs is, table by table, a lower bar than any one method clears everywhere.", ""]


def identical_methods(cells: dict[float, Cells], methods: Sequence[str]) -> list[str]:
    """A line naming pairs of methods whose runs are identical in every cell both have (the same sampler under
    two names, e.g. optuna-tpe and optuna-tpe-mv under Optuna 5, whose TPE default became multivariate)."""
    def runs(m: str) -> list[Any]:
        return [(f, t, [(r["regret_100"], r["trials"]) for r in cs[t][m]["results"]])
                for f, cs in sorted(cells.items()) for t in sorted(cs) if m in cs[t]]

    seen = {m: runs(m) for m in methods}
    pairs = [(a, b) for i, a in enumerate(methods) for b in methods[i + 1:] if seen[a] and seen[a] == seen[b]]
    if not pairs:
        return []
    why = (" Under Optuna 5 TPESampler's default is multivariate with constant liar, so optuna-tpe and "
           "optuna-tpe-mv are one sampler; optuna-tpe-uni is Optuna 4's univariate TPE (experiments/study_plan.md, "
           "addendum).") if ("optuna-tpe", "optuna-tpe-mv") in pairs else ""
    return ["Identical results, run for run in every cell (ranked as given, each pair tying): "
            + "; ".join(f"{a} = {b}" for a, b in pairs) + "." + why, ""]


def eval_report(cells: dict[float, Cells], tables: Sequence[str], long_tables: Sequence[str],
                methods: Sequence[str], choice: dict[str, Any] | None, seed: int, runs: int,
                dropped: Sequence[str] = ()) -> str:
    import study_cells as sc

    ranked = [m for m in methods if not sc.is_oracle(m)]
    oracles = [m for m in methods if sc.is_oracle(m)]
    singles = [m for m in ranked if sc.kind(m) == "arm"]
    default = choice["method"] if choice else None
    lines = ["# Issue-8 study: evaluation", "",
             f"Evaluation tables: {', '.join(tables)}; seeds: runs 0-{runs - 1} = children 0-{runs - 1} of "
             f"SeedSequence({seed}) (the development seeds are SeedSequence(0)'s). Budgets: each table's default "
             f"(1x); also 4x on {', '.join(long_tables)} (runs of under 60 trials), ranked separately.",
             f"Default DIV strategy, chosen on the development tables before these runs: {default or 'none yet'}."
             + (f" Methods left out to fit the CPU budget: {', '.join(dropped)}." if dropped else ""), ""]
    one = cells.get(1.0, {})
    lines += identical_methods(cells, methods)
    section, ranks = ranking(one, tables, ranked, "Headline: mean ranks at 1x (single arms, DIV strategies, peers)",
                             focus=default)
    lines += section
    four = cells.get(4.0, {})
    section4, ranks4 = ranking(four, long_tables, ranked, "Mean ranks at 4x the budget (tables with short runs)",
                               focus=default)
    lines += section4
    if default:
        lines += goal_check(one, tables, default, singles, ranks, ranked)
        lines += ["### The same at 4x the budget", ""] + goal_check(four, long_tables, default, singles, ranks4,
                                                                  ranked)[2:]
    if oracles:
        lines += ["## Oracle variants (peek at true table values; not ranked)", "",
                  "| table | budget | " + " | ".join(oracles) + " |", "|---|---|" + "---|" * len(oracles)]
        for f, cs in sorted(cells.items()):
            for t in tables if f == 1.0 else long_tables:
                row = [f"{np.median([r['regret_100'] for r in cs[t][m]['results']]):.4f}" if m in cs.get(t, {})
                       else "-" for m in oracles]
                lines.append(f"| {t} | {f:g}x | " + " | ".join(row) + " |")
        lines.append("")
    for f, ts in ((1.0, tables), (4.0, long_tables)):
        lines += [f"## Per table at {f:g}x", ""]
        for t in ts:
            lines += table_section(t, cells.get(f, {}).get(t, {}), methods)
    trials = {t: np.median([r["trials"] for d in one.get(t, {}).values() for r in d["results"]])
              for t in tables if one.get(t)}
    lines += ["## Run lengths at 1x (the 4x rule: median run under 60 trials)", "",
              "| table | median trials over all runs | 4x cells |", "|---|---|---|"]
    lines += [f"| {t} | {n:.0f} | {'yes' if t in long_tables else 'no'} |" for t, n in trials.items()]
    return "\n".join(lines) + "\n"
