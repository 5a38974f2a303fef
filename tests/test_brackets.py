"""Hyperband's bracket plan (Li et al., JMLR 2018) and ASHA's rungs, checked against tables worked by hand."""

from __future__ import annotations

import json
import math

import pytest

from hpo_mab.cli import main
from hpo_mab.errors import HpoError
from hpo_mab.schedulers.brackets import asha_rungs, brackets_main, hyperband_brackets, s_max_of


def plan(R, eta, r_min=1, variant="floor"):
    return {b.s: b.rungs for b in hyperband_brackets(R, eta, r_min, variant)}


# Seed documents 002 and 003 (the paper's Table 1), R=81, eta=3.
TABLE_1 = {
    4: [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
    3: [(27, 3), (9, 9), (3, 27), (1, 81)],
    2: [(9, 9), (3, 27), (1, 81)],
    1: [(6, 27), (2, 81)],
    0: [(5, 81)],
}


def test_table_1_of_the_paper():
    brackets = hyperband_brackets(81, 3)
    assert [b.s for b in brackets] == [4, 3, 2, 1, 0]
    assert plan(81, 3) == TABLE_1
    assert [b.n for b in brackets] == [81, 27, 9, 6, 5]


def test_ceil_variant_reads_algorithm_1_literally():
    # n = ceil(5/(s+1) * 3^s): s=4: 81; s=3: ceil(5/4*27 = 33.75) = 34; s=2: ceil(5/3*9 = 15) = 15;
    # s=1: ceil(5/2*3 = 7.5) = 8; s=0: 5. Rung i keeps floor(n / 3^i): 34 -> 11, 3, 1; 15 -> 5, 1; 8 -> 2.
    assert plan(81, 3, variant="ceil") == {
        4: TABLE_1[4],
        3: [(34, 3), (11, 9), (3, 27), (1, 81)],
        2: [(15, 9), (5, 27), (1, 81)],
        1: [(8, 27), (2, 81)],
        0: [(5, 81)],
    }


def test_r27_eta3():
    # s_max = 3 (27 = 3^3). n: s=3: floor(4/4)*27 = 27; s=2: floor(4/3)*9 = 9; s=1: floor(4/2)*3 = 6; s=0: 4.
    assert plan(27, 3) == {
        3: [(27, 1), (9, 3), (3, 9), (1, 27)],
        2: [(9, 3), (3, 9), (1, 27)],
        1: [(6, 9), (2, 27)],
        0: [(4, 27)],
    }


def test_r9_eta3():
    # s_max = 2. n: s=2: 9; s=1: floor(3/2)*3 = 3; s=0: 3. Ceil: s=1: ceil(3/2*3 = 4.5) = 5.
    assert plan(9, 3) == {2: [(9, 1), (3, 3), (1, 9)], 1: [(3, 3), (1, 9)], 0: [(3, 9)]}
    assert plan(9, 3, variant="ceil")[1] == [(5, 3), (1, 9)]


def test_r16_eta2():
    # s_max = 4 (2^4 = 16). n: s=4: floor(5/5)*16 = 16; s=3: floor(5/4)*8 = 8; s=2: floor(5/3)*4 = 4;
    # s=1: floor(5/2)*2 = 4; s=0: 5.
    assert plan(16, 2) == {
        4: [(16, 1), (8, 2), (4, 4), (2, 8), (1, 16)],
        3: [(8, 2), (4, 4), (2, 8), (1, 16)],
        2: [(4, 4), (2, 8), (1, 16)],
        1: [(4, 8), (2, 16)],
        0: [(5, 16)],
    }
    # Ceil: s=3: ceil(5/4*8) = 10; s=2: ceil(5/3*4 = 6.67) = 7; s=1: ceil(5/2*2) = 5.
    assert [b.n for b in hyperband_brackets(16, 2, variant="ceil")] == [16, 10, 7, 5, 5]


def test_r100_eta4_rounds_fractional_epochs():
    # s_max = 3 (4^3 = 64 <= 100 < 256). s=3: n = 64 at r = 100/64 = 1.5625 -> 2, then 100/16 = 6.25 -> 6,
    # 100/4 = 25, 100. s=2: floor(4/3)*16 = 16 at 6. s=1: floor(4/2)*4 = 8 at 25. s=0: 4 at 100.
    assert plan(100, 4) == {
        3: [(64, 2), (16, 6), (4, 25), (1, 100)],
        2: [(16, 6), (4, 25), (1, 100)],
        1: [(8, 25), (2, 100)],
        0: [(4, 100)],
    }


def test_r15_eta3_and_halves_round_up():
    # digits-lenet has 15 epochs. s_max = 2 (9 <= 15 < 27); s=2 starts at 15/9 = 1.67 -> 2, then 15/3 = 5, 15.
    assert plan(15, 3) == {2: [(9, 2), (3, 5), (1, 15)], 1: [(3, 5), (1, 15)], 0: [(3, 15)]}
    # R=10, eta=4: s_max = 1; s=1 starts 4 at 10/4 = 2.5 -> 3 (a half rounds up); s=0: floor(2/1) = 2 at 10.
    assert plan(10, 4) == {1: [(4, 3), (1, 10)], 0: [(2, 10)]}
    # R=10, eta=3: s_max = 2; 10/9 = 1.11 -> 1, 10/3 = 3.33 -> 3.
    assert plan(10, 3) == {2: [(9, 1), (3, 3), (1, 10)], 1: [(3, 3), (1, 10)], 0: [(3, 10)]}


def test_min_resource():
    # R=81, eta=3, r_min=3: s_max = 3 (3 * 27 = 81). n: 27, floor(4/3)*9 = 9, floor(4/2)*3 = 6, 4.
    assert plan(81, 3, 3) == {
        3: [(27, 3), (9, 9), (3, 27), (1, 81)],
        2: [(9, 9), (3, 27), (1, 81)],
        1: [(6, 27), (2, 81)],
        0: [(4, 81)],
    }
    # R=15, eta=3, r_min=2: s_max = 1 (2*3 = 6 <= 15 < 18); s=1 starts at 15/3 = 5 >= 2.
    assert plan(15, 3, 2) == {1: [(3, 5), (1, 15)], 0: [(2, 15)]}
    assert plan(15, 3, 15) == {0: [(1, 15)]}


@pytest.mark.parametrize("R, eta, expected", [(243, 3, 5), (1000, 10, 3), (125, 5, 3), (81, 3, 4), (80, 3, 3),
                                              (82, 3, 4), (1, 2, 0), (2, 2, 1), (7, 2, 2)])
def test_s_max_is_exact_where_a_floating_log_is_off_by_one(R, eta, expected):
    assert s_max_of(R, eta) == expected
    if (R, eta) in ((243, 3), (1000, 10)):  # the trap the integer loop avoids
        assert math.floor(math.log(R) / math.log(eta)) == expected - 1
    assert hyperband_brackets(R, eta)[0].s == expected


@pytest.mark.parametrize("eta", [2, 3, 4, 5])
@pytest.mark.parametrize("variant", ["floor", "ceil"])
def test_invariants(eta, variant):
    cases = [(R, r_min) for R in range(1, 130) for r_min in sorted({1, 2, max(1, R // 3), R}) if r_min <= R]
    for R, r_min in cases:
        for b in hyperband_brackets(R, eta, r_min, variant):
            resources = [r for _, r in b.rungs]
            counts = [n for n, _ in b.rungs]
            assert resources[-1] == R and resources[0] >= r_min
            assert all(a < c for a, c in zip(resources, resources[1:]))
            assert counts == [b.n // eta**i for i in range(len(counts))] and counts[-1] >= 1
            assert len(b.rungs) == b.s + 1


def test_asha_rungs():
    assert asha_rungs(1, 15, 3) == [1, 3, 9, 15]
    assert asha_rungs(1, 27, 3) == [1, 3, 9, 27]
    assert asha_rungs(2, 27, 3) == [2, 6, 18, 27]
    assert asha_rungs(1, 16, 2) == [1, 2, 4, 8, 16]
    assert asha_rungs(5, 15, 3) == [5, 15]
    assert asha_rungs(15, 15, 3) == [15]


@pytest.mark.parametrize("call, message", [
    (lambda: hyperband_brackets(81, 1), "'eta' must be an integer >= 2, but got 1"),
    (lambda: hyperband_brackets(81, 3.0), "'eta' must be an integer >= 2, but got 3.0"),
    (lambda: hyperband_brackets(0, 3), "'max_resource' must be an integer >= 1, but got 0"),
    (lambda: hyperband_brackets(True, 3), "'max_resource' must be an integer >= 1, but got True"),
    (lambda: hyperband_brackets(81, 3, 0), "'min_resource' must be an integer >= 1, but got 0"),
    (lambda: hyperband_brackets(81, 3, 82), "'min_resource' must be <= max_resource (81), but got 82"),
    (lambda: hyperband_brackets(81, 3, variant="round"), "'variant' must be one of floor, ceil, but got 'round'"),
    (lambda: asha_rungs(1, 15, 1), "'eta' must be an integer >= 2, but got 1"),
])
def test_bad_arguments(call, message):
    with pytest.raises(HpoError) as info:
        call()
    assert message in str(info.value) and "\n" not in str(info.value)


EXPECTED_81_3 = """\
Hyperband brackets: max_resource R=81, eta=3, min_resource=1, s_max=4, variant floor
i        s=4       s=3       s=2       s=1       s=0
         n_i  r_i  n_i  r_i  n_i  r_i  n_i  r_i  n_i  r_i
0         81    1   27    3    9    9    6   27    5   81
1         27    3    9    9    3   27    2   81
2          9    9    3   27    1   81
3          3   27    1   81
4          1   81
configs   81        27         9         6         5
epochs   297       243       189       270       405
restart  405       324       243       324       405
total: 128 configurations, 1404 epochs (1701 if every rung trains from scratch)
epochs: a promoted trial resumes and is charged r_i - r_(i-1); restart: sum of n_i * r_i
"""


def test_cli_prints_the_seed_table(capsys):
    assert main(["brackets", "--max-resource", "81", "--eta", "3"]) == 0
    assert capsys.readouterr().out == EXPECTED_81_3


def test_cli_json(capsys):
    assert brackets_main(["--max-resource", "81", "--eta", "3", "--variant", "ceil", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [b["configurations"] for b in doc["brackets"]] == [81, 34, 15, 8, 5]
    assert doc["brackets"][1]["rungs"] == [{"n": 34, "r": 3}, {"n": 11, "r": 9}, {"n": 3, "r": 27},
                                           {"n": 1, "r": 81}]
    assert doc["s_max"] == 4 and doc["variant"] == "ceil"
    # epochs: 34*3 + 11*6 + 3*18 + 1*54 = 276 (resumed); restart: 34*3 + 11*9 + 3*27 + 81 = 363
    assert (doc["brackets"][1]["epochs"], doc["brackets"][1]["epochs_restart"]) == (276, 363)


@pytest.mark.parametrize("argv, message", [
    (["--max-resource", "81", "--eta", "1"], "'eta' must be an integer >= 2, but got 1"),
    (["--max-resource", "x"], "argument --max-resource: invalid int value: 'x'"),
    (["--eta", "3"], "the following arguments are required: --max-resource"),
    (["--max-resource", "9", "--variant", "round"], "argument --variant: invalid choice: 'round'"),
    (["--max-resource", "9", "--min-resource", "10"], "'min_resource' must be <= max_resource (9), but got 10"),
    (["--max-resource", str(10**4000), "--eta", "2"], "'max_resource' must be at most 1,000,000,000, but got 1000"),
])
def test_cli_errors_are_one_line_exit_2(argv, message, capsys):
    assert main(["brackets", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("hpo-runner: error: ")
