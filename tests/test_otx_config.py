"""OTX `hpo_config.yaml` (seed 000) read into a space, ASHA's options and the metric; mistakes are one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hpo_mab.errors import HpoError
from hpo_mab.schedulers.otx import load_otx_config
from hpo_mab.space import load_space

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "hp_conf" / "otx_hpo_config.yaml"

SEED_000 = """\
metric: accuracy
search_algorithm: asha
hp_space:
  learning_parameters.learning_rate:
    param_type: qloguniform
    range:
      - 0.0007
      - 0.07
      - 0.0001
  learning_parameters.batch_size:
    param_type: qloguniform
    range:
      - 32
      - 128
      - 2
"""


def write(tmp_path, text, name="hpo_config.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_seed_document_default_file(tmp_path):
    conf = load_otx_config(write(tmp_path, SEED_000))
    assert conf.space.names == ["learning_parameters.learning_rate", "learning_parameters.batch_size"]
    assert [p.kind for p in conf.space.params] == ["qloguniform", "intlog"]  # the space loader's reading
    assert (conf.scheduler, conf.scheduler_options, conf.metric, conf.direction) == ("ASHA", {}, "accuracy", "max")
    assert conf.num_trials is None and conf.num_workers is None and conf.expected_time_ratio is None
    assert conf.budget_s(60.0) is None


def test_every_key(tmp_path):
    conf = load_otx_config(write(tmp_path, SEED_000 + """\
mode: min
maximum_resource: 27
minimum_resource: 3
num_trials: 40
num_workers: 2
reduction_factor: 4
expected_time_ratio: 2.5
"""))
    assert conf.scheduler_options == {"min_resource": 3, "max_resource": 27, "eta": 4}
    assert (conf.direction, conf.num_trials, conf.num_workers, conf.expected_time_ratio) == ("min", 40, 2, 2.5)
    assert conf.budget_s(100.0) == 250.0


def test_hp_space_list_form_and_space_loader_agree(tmp_path):
    text = """\
metric: val_rmse
mode: min
hp_space:
  - lr: {param_type: loguniform, range: [0.0001, 0.1]}
  - act: {param_type: choice, range: [relu, tanh]}
"""
    conf = load_otx_config(write(tmp_path, text))
    same = load_space(tmp_path / "hpo_config.yaml")
    assert conf.space.params == same.params and conf.space.names == ["lr", "act"]


def test_the_shipped_example_matches_digits_lenet():
    conf = load_otx_config(EXAMPLE)
    original = load_space(ROOT / "hp_conf" / "digits-lenet.json")
    conf.check_names(original.names, "digits-lenet")
    assert conf.space.names == original.names
    assert conf.metric == "val_acc" and conf.direction == "max"
    assert conf.scheduler_options == {"min_resource": 1, "max_resource": 15}
    for ours, theirs in zip(conf.space.params, original.params):
        if theirs.kind in ("choice", "ordered"):
            assert ours.values == theirs.values
        else:
            assert (ours.low, ours.high) == pytest.approx((theirs.low, theirs.high))
    # every configuration the OTX space proposes is a valid digits-lenet configuration
    rng = np.random.default_rng(0)
    for _ in range(200):
        original.validate(conf.space.decode(rng.random(conf.space.n_dims)))


def test_the_example_against_the_table():
    table_path = ROOT / "surrogates" / "digits-lenet.npz"
    if not table_path.is_file():
        pytest.skip("the digits-lenet table is not here")
    from hpo_mab.surrogates.table import load_table

    table = load_table(table_path)
    conf = load_otx_config(EXAMPLE)
    conf.check_names(table.space.names, "the digits-lenet table")
    conf.check_metric(table.metric.name, table.metric.direction, "the digits-lenet table")
    assert conf.scheduler_options["max_resource"] == table.n_epochs


def test_checks_against_a_table_or_task(tmp_path):
    conf = load_otx_config(write(tmp_path, SEED_000))
    with pytest.raises(HpoError, match=r"hp_space must name the parameters of tiny; missing \['lr'\], unknown "):
        conf.check_names(["lr"], "tiny")
    with pytest.raises(HpoError, match="metric is 'accuracy', but tiny records 'val_acc'"):
        conf.check_metric("val_acc", "max", "tiny")
    with pytest.raises(HpoError, match="mode is 'max', but tiny's accuracy is to minimise"):
        conf.check_metric("accuracy", "min", "tiny")


@pytest.mark.parametrize("extra, message", [
    ("search_algorithm: bayes_opt\n", "search_algorithm must be 'asha' (the one OTX algorithm hpo_mab runs), "
                                      "but got 'bayes_opt'"),
    ("asynchronous_sha: true\n", "unknown key(s) ['asynchronous_sha']; expected some of ['search_algorithm'"),
    ("mode: maximize\n", "mode must be 'max' or 'min', but got 'maximize'"),
    ("maximum_resource: 10.5\n", "maximum_resource must be an integer >= 1, but got 10.5"),
    ("minimum_resource: 0\n", "minimum_resource must be an integer >= 1, but got 0"),
    ("maximum_resource: 5\nminimum_resource: 6\n", "minimum_resource must be <= maximum_resource (5), but got 6"),
    ("num_trials: '10'\n", "num_trials must be an integer >= 1, but got '10'"),
    ("num_workers: true\n", "num_workers must be an integer >= 1, but got True"),
    ("reduction_factor: 1\n", "reduction_factor must be an integer >= 2, but got 1"),
    ("expected_time_ratio: 0\n", "expected_time_ratio must be a positive number, but got 0"),
    ("expected_time_ratio: .nan\n", "expected_time_ratio must be a positive number, but got nan"),
])
def test_mistakes_are_one_line_naming_file_and_key(tmp_path, extra, message):
    text = SEED_000.replace("metric: accuracy\nsearch_algorithm: asha\n", "metric: accuracy\n") + extra
    path = write(tmp_path, text)
    with pytest.raises(HpoError) as info:
        load_otx_config(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


@pytest.mark.parametrize("text, message", [
    ("metric: accuracy\n", "missing key 'hp_space'"),
    ("metric: 3\nhp_space: {lr: {param_type: uniform, range: [0, 1]}}\n", "metric must be a non-empty string"),
    ("- a\n- b\n", "expected a mapping at the top level, but got list"),
    ("metric: [unclosed\n", "not valid YAML"),
    ("hp_space: {lr: {param_type: normal, range: [0, 1]}}\n", "hp_space.lr: unknown param_type 'normal'"),
    ("hp_space: {}\n", "'hp_space' must be a non-empty mapping"),
])
def test_malformed_files(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(HpoError) as info:
        load_otx_config(path)
    assert str(info.value).startswith(str(path)) and message in str(info.value) and "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(HpoError, match="no such hpo_config file"):
        load_otx_config(tmp_path / "nope.yaml")


def test_a_key_given_twice_is_refused_naming_it(tmp_path):
    with pytest.raises(HpoError) as info:
        load_otx_config(write(tmp_path, SEED_000 + "metric: loss\n"))
    text = str(info.value)
    assert "not valid YAML" in text and "key 'metric' appears more than once" in text and "\n" not in text


def test_a_yaml_syntax_error_keeps_its_line_and_column(tmp_path):
    with pytest.raises(HpoError, match=r"not valid YAML: .*\(line 3, column 1\)"):
        load_otx_config(write(tmp_path, "hp_space: [a,\n  b: 1\n"))


@pytest.mark.parametrize("old, new, message", [
    ("range: [0.0001, 0.1]", "range: [10, 100]", "hp_space.learning_rate is [10, 100], but table"),
    ("range: [2, 3]", "range: [2, 4]", "hp_space.p1_size is [2, 4], but table digits-lenet holds [2, 3]"),
])
def test_a_table_refuses_hp_space_ranges_other_than_its_own(tmp_path, capsys, old, new, message):
    from hpo_mab.cli import main

    text = EXAMPLE.read_text()
    assert old in text
    path = write(tmp_path, text.replace(old, new, 1))
    assert main(["digits-lenet", "1", "--hpo-config", str(path), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
