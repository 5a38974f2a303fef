"""Edge inputs found by fuzzing: each is one error line (HpoError, exit 2) naming the file or key, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hpo_mab.arms import Nominee
from hpo_mab.backends.script import parse_script, script_problem
from hpo_mab.errors import HpoError
from hpo_mab.space import Param, load_space
from hpo_mab.surrogates.builder import build_table

ROOT = Path(__file__).resolve().parents[1]
QUADRATIC = json.loads((ROOT / "examples" / "quadratic.json").read_text())


def cli(*args) -> subprocess.CompletedProcess:
    """`hpo-runner ARGS` from the repository root, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "hpo_mab", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def one_line(res: subprocess.CompletedProcess, *expect: str) -> str:
    """Assert exit 2 and one `hpo-runner: error:` line holding each of `expect`, no traceback; return it."""
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and res.stderr.count("\n") == 1, res.stderr
    assert res.stderr.startswith("hpo-runner: error: "), res.stderr
    for text in expect:
        assert text in res.stderr, res.stderr
    return res.stderr


def refused(path: Path, *expect: str) -> str:
    with pytest.raises(HpoError) as err:
        load_space(path)
    text = str(err.value)
    assert str(path) in text and "\n" not in text, text
    for part in expect:
        assert part in text, text
    return text


# 1. Integer bounds beyond 64 bits (the journal and tables hold int64), non-finite bounds.

def test_a_64_bit_overflowing_integer_range_is_refused_before_outdir_exists(tmp_path):
    doc = json.loads(json.dumps(QUADRATIC))
    doc["hyperparams"]["width"]["range"] = [1, 10**26]
    (tmp_path / "big.json").write_text(json.dumps(doc))
    out = tmp_path / "out"
    res = cli("big", "1", "-rc", "examples", "-c", "script.yaml", "-hc", tmp_path, "-m", "RANDOM",
              "--max-trials", "2", "-o", out, "--overwrite", "--no-progress")
    one_line(res, "big.json", "hyperparams.width", "64-bit range", str(10**26))
    assert not out.exists()


@pytest.mark.parametrize("spec, message", [
    ({"type": "int", "value_type": "discrete", "range": [1, 2**63]}, "64-bit range"),
    ({"type": "int", "value_type": "discrete", "range": [-(2**63) - 1, 0]}, "64-bit range"),
    ({"type": "int", "value_type": "discrete", "range": [1, 1e30]}, "64-bit range"),
    ({"type": "int", "value_type": "continuous", "range": [0, 30], "power_of": 10}, "64-bit range"),
    ({"type": "int", "value_type": "discrete", "range": [0, 30], "power_of": 10}, "64-bit range"),
    ({"type": "int", "value_type": "categorical", "range": [1, 10**20]}, "64-bit range"),
    ({"type": "float", "value_type": "continuous", "range": [0, 10**400]}, "high must be a finite number"),
    ({"type": "float", "value_type": "continuous", "range": [0, 1], "default": 10**400}, "is not a valid value"),
    ({"type": "float", "value_type": "categorical", "range": [1.5, 10**400]}, "64-bit range"),
])
def test_out_of_range_numbers_in_hp_conf(tmp_path, spec, message):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"hyperparams": {"x": spec}}))
    refused(path, "hyperparams.x", message)


def test_int64_edges_are_accepted():
    p = Param("x", "int", low=-(2**63), high=2**63 - 1)
    assert p.contains(2**63 - 1) and not p.contains(2**63)
    assert Param("c", "choice", values=(2**63 - 1, 0)).values[0] == 2**63 - 1
    with pytest.raises(HpoError, match="64-bit range"):
        Param("x", "intlog", low=1, high=2**64)


# 2. Duplicate keys: json and yaml keep the last one silently.

def test_duplicate_parameter_in_hp_conf_json(tmp_path):
    path = tmp_path / "dup.json"
    path.write_text('{"hyperparams": {"lr": {"type": "float", "value_type": "continuous", "range": [0, 1]},\n'
                    '                 "lr": {"type": "float", "value_type": "continuous", "range": [0, 2]}}}')
    refused(path, "not valid JSON", "key 'lr' appears more than once")


def test_duplicate_key_inside_a_parameter(tmp_path):
    path = tmp_path / "dup.json"
    path.write_text('{"hyperparams": {"lr": {"type": "float", "type": "int", "value_type": "discrete", '
                    '"range": [0, 1]}}}')
    refused(path, "key 'type' appears more than once")


def test_duplicate_parameter_in_otx_yaml(tmp_path):
    path = tmp_path / "hpo_config.yaml"
    path.write_text("hp_space:\n  a: {param_type: uniform, range: [0, 1]}\n  a: {param_type: uniform, range: [0, 2]}\n")
    refused(path, "not valid YAML", "key 'a' appears more than once", "line 3")


def test_yaml_merge_keys_may_still_override(tmp_path):
    path = tmp_path / "hpo_config.yaml"
    path.write_text("base: &b {param_type: uniform, range: [0, 1]}\nhp_space:\n  a: {<<: *b, range: [0, 2]}\n")
    assert load_space(path).params[0].high == 2


def test_duplicate_parameter_through_the_cli(tmp_path):
    doc = json.dumps(QUADRATIC, indent=1)
    lr = '"lr": {"type": "float", "value_type": "continuous", "range": [0.1, 0.2]},\n  '
    (tmp_path / "dup.json").write_text(doc.replace('"lr":', lr + '"lr":', 1))
    out = tmp_path / "out"
    res = cli("dup", "1", "-rc", "examples", "-c", "script.yaml", "-hc", tmp_path, "-m", "RANDOM",
              "--max-trials", "1", "-o", out, "--no-progress")
    one_line(res, "dup.json", "key 'lr' appears more than once")
    assert not out.exists()


# 3. `type` has no documented default (hp_conf/README.md lists it among the checked keys).

def test_a_parameter_without_type_is_refused(tmp_path):
    doc = json.loads(json.dumps(QUADRATIC))
    del doc["hyperparams"]["lr"]["type"]
    path = tmp_path / "notype.json"
    path.write_text(json.dumps(doc))
    refused(path, "hyperparams.lr", "missing key 'type'", "int, float, str, bool")


def test_the_shipped_spaces_still_load():
    for path in [*sorted((ROOT / "hp_conf").glob("*.json")), ROOT / "hp_conf" / "otx_hpo_config.yaml",
                 ROOT / "examples" / "quadratic.json"]:
        assert len(load_space(path)) > 0


# 4. Script placeholders: plain names only, no index, attribute, position or conversion.

NAMES = ["lr", "width", "act"]


def script(command: str, **kw) -> dict:
    return {"command": command, "metric_regex": r"val_loss=(?P<metric>\S+)", **kw}


@pytest.mark.parametrize("placeholder, message", [
    ("{lr[0]}", "names {lr[0]}, which is neither"),
    ("{lr.x}", "names {lr.x}, which is neither"),
    ("{}", "names {}, which is neither"),
    ("{0}", "names {0}, which is neither"),
    ("{lr!r}", "has a conversion !r"),
    ("{act!s}", "has a conversion !s"),
    ("{lr:>{width}}", "placeholder inside its format spec"),
    ("{seed:.3s}", "cannot format seed=0"),
    ("{lr", "not a valid template"),
])
def test_bad_placeholders_are_refused_at_parse_time(placeholder, message):
    with pytest.raises(HpoError) as err:
        parse_script(script(f"{{python}} train.py --x {placeholder}"), NAMES, "rc.yaml")
    text = str(err.value)
    assert text.startswith("rc.yaml: script.command") and message in text and "\n" not in text, text
    if "neither" in message:
        assert "a plain name in braces" in text


@pytest.mark.parametrize("placeholder, message", [
    ("{act:.3f}", "cannot format act='relu'"),
    ("{lr:d}", "cannot format lr="),
])
def test_a_format_spec_must_suit_the_parameters_values(placeholder, message):
    space = load_space(ROOT / "examples" / "quadratic.json")
    spec = parse_script(script(f"{{python}} train.py --x {placeholder}"), space.names, "rc.yaml")
    with pytest.raises(HpoError) as err:
        script_problem("quadratic", space, spec)
    assert f"script.command: placeholder {placeholder} {message}" in str(err.value)


def test_format_specs_and_dotted_names_fill_in(tmp_path):
    """`{lr:.3f}` formats; `{a.b}` is the parameter named 'a.b' (OTX spells names so), not an attribute."""
    space_file = tmp_path / "s.yaml"
    space_file.write_text("hp_space:\n  opt.lr: {param_type: loguniform, range: [0.001, 0.1]}\n"
                          "  width: {param_type: choice, range: [8, 16]}\n")
    space = load_space(space_file)
    command = (f"{{python}} {ROOT / 'examples' / 'train_quadratic.py'} --lr {{opt.lr:.4f}} --width {{width:03d}} "
               "--act relu --epochs 1 --sleep 0 --seed {seed}")
    # the script echoes its arguments: read the filled-in learning rate back as the metric
    spec = parse_script(script(command, metric_regex=r"training lr=(?P<metric>\S+)"), space.names, "rc.yaml")
    backend = script_problem("s", space, spec).make_backend()
    out = backend.run_trial(Nominee(None, {"opt.lr": 0.0123456, "width": 8}, None), draw=0.0)
    assert out.state == "complete" and out.curve == [0.0123], out


def test_a_bad_placeholder_through_the_cli(tmp_path):
    conf = (ROOT / "examples" / "script.yaml").read_text().replace("--lr {lr}", "--lr {lr[0]}")
    (tmp_path / "bad.yaml").write_text(conf)
    out = tmp_path / "out"
    res = cli("quadratic", "1", "-rc", tmp_path, "-c", "bad.yaml", "-hc", "examples", "-m", "RANDOM",
              "--max-trials", "1", "-o", out, "--no-progress")
    one_line(res, "script.command names {lr[0]}", "plain name")
    assert not out.exists()


# 5. build-table: a plan too large to hold in memory is one line, not a MemoryError.

@pytest.mark.parametrize("sizes, message", [
    (["--configs", "99999999999999", "--seeds", "1", "--epochs", "1"], "--configs must be at most 1,000,000"),
    (["--configs", "1000", "--seeds", "100000", "--epochs", "15"], "--configs x --seeds x --epochs must be at most"),
])
def test_build_table_refuses_a_plan_too_large(tmp_path, sizes, message):
    out = tmp_path / "bt"
    one_line(cli("build-table", "x", "--out-dir", out, *sizes, "--pack-only"), message)
    assert not out.exists()


def test_build_table_caps_in_the_api(tmp_path):
    with pytest.raises(HpoError, match="at most 100,000,000"):
        build_table("x", None, 10, 10**6, 15, 1, tmp_path / "bt", pack_only=True)
    assert not (tmp_path / "bt").exists()


def _bomb() -> str:
    """A YAML list whose aliases expand to 9**9 values ("billion laughs"), in a few hundred bytes."""
    parts = ["&a0 [x, x, x, x, x, x, x, x, x]"]
    parts += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "[" + ", ".join(parts) + "]"


@pytest.mark.parametrize("name, text, args", [
    ("rc/bomb.yaml", "mode: {bomb}\n", ["digits-lenet", "1", "-rc", "{d}/rc", "-c", "bomb.yaml"]),
    ("spec.yaml", "runs: {bomb}\nproblems: [digits-lenet]\nmethods: [TPE]\n", ["compare", "{d}/spec.yaml"]),
    ("otx.yaml", "metric: {bomb}\nhp_space: {{}}\n", ["digits-lenet", "1", "--hpo-config", "{d}/otx.yaml"]),
    ("hc/quadratic.yaml", "hp_space: {{lr: {{param_type: uniform, range: {bomb}}}}}\n",
     ["quadratic", "1", "-rc", str(ROOT / "examples"), "-c", "script.yaml", "-hc", "{d}/hc"]),
])
def test_a_yaml_alias_bomb_is_one_line_and_no_memory(tmp_path, capsys, name, text, args):
    from hpo_mab.cli import main

    path = tmp_path / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text.format(bomb=_bomb()))
    argv = [a.format(d=tmp_path) for a in args] + ["-o", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{path}: not valid YAML: expands to more than 100,000 values" in err and len(err) < 400
    assert not (tmp_path / "out").exists()


def test_a_run_configuration_key_given_twice_is_refused(tmp_path, capsys):
    from hpo_mab.cli import main

    (tmp_path / "twice.yaml").write_text("mode: TPE\nseed: 1\nmode: GP\n")
    assert main(["digits-lenet", "1", "-rc", str(tmp_path), "-c", "twice.yaml", "-o", str(tmp_path / "o")]) == 2
    assert "key 'mode' appears more than once" in capsys.readouterr().err
