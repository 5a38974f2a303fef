"""A real train node (`hpo-runner serve` in a subprocess on a loopback port) and runs through it with -w."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hpo_mab.backends.remote import Client, NodeError
from hpo_mab.cli import main
from hpo_mab.tasks import get_task

REPO = Path(__file__).resolve().parents[1]
TOKEN = "s3cret-for-tests"
CONFIG = {p.name: p.default for p in get_task("diabetes-mlp").space().params}


def start_node(token: str = TOKEN) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "HPO_MAB_TOKEN": token}
    proc = subprocess.Popen([sys.executable, "-m", "hpo_mab", "serve", "--port", "0"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    assert "listening on http://" in line, line
    return proc, line.rsplit(" ", 1)[1].strip()


def stop_node(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def node():
    proc, url = start_node()
    yield url
    stop_node(proc)


def trial(epochs: int = 3, **change) -> dict:
    return {"task": "diabetes-mlp", "config": {**CONFIG, **change}, "epochs": epochs, "seed": 7}


def wait_end(client: Client, number: int) -> dict:
    for _ in range(300):
        view = client.call("GET", f"/trials/{number}")
        if view["state"] != "running":
            return view
        time.sleep(0.05)
    raise AssertionError("the trial did not end")


def test_token_required(node):
    for token in ("", "wrong"):
        with pytest.raises(NodeError) as err:
            Client(node, token).call("GET", "/health")
        assert err.value.status == 401
        with pytest.raises(NodeError) as err:
            Client(node, token).call("POST", "/trials", trial())
        assert err.value.status == 401
    assert Client(node, TOKEN).call("GET", "/health") == {"busy": False, "trial": None}


def test_serve_without_a_secret_is_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("HPO_MAB_TOKEN", raising=False)
    assert main(["serve", "--port", "0"]) == 2
    assert main(["serve", "--token-file", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 2 and "HPO_MAB_TOKEN" in err and "--token-file" in err


@pytest.mark.parametrize("body, reason", [
    ("not json", "JSON"),
    ({"task": "diabetes-mlp"}, "config"),
    ({**trial(), "epochs": "3"}, "epochs"),
    ({**trial(), "epochs": 0}, "epochs"),
    ({**trial(), "extra": 1}, "extra"),
    ({**trial(), "task": "nope"}, "unknown training task 'nope'"),
    (trial(units=1000), "units"),
    ({**trial(), "config": {"units": 5}}, "lacks parameter"),
    ({**trial(), "config": {**CONFIG, "zz": 1}}, "1 unknown parameter(s) ['zz'] of task diabetes-mlp"),
    (trial(shuffle=1), "parameter 'shuffle': value 1 is not"),
    (trial(layers=True), "parameter 'layers': value True is not"),
])
def test_malformed_bodies_get_422_with_the_reason(node, body, reason):
    client = Client(node, TOKEN)
    if isinstance(body, str):  # raw bytes, not JSON
        import urllib.error
        import urllib.request

        request = urllib.request.Request(node + "/trials", data=body.encode(), method="POST",
                                         headers={"Authorization": f"Bearer {TOKEN}",
                                                  "Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=10)
        assert err.value.code == 422 and reason in err.value.read().decode()
        return
    with pytest.raises(NodeError) as err:
        client.call("POST", "/trials", body)
    assert err.value.status == 422 and reason in str(err.value)


def test_busy_node_answers_409_and_stops_on_delete(node):
    client = Client(node, TOKEN)
    first = client.call("POST", "/trials", trial(epochs=20000))["id"]
    with pytest.raises(NodeError) as err:
        client.call("POST", "/trials", trial())
    assert err.value.status == 409 and "busy" in str(err.value)
    assert client.call("GET", "/health")["busy"] is True
    ended = client.call("DELETE", f"/trials/{first}", timeout=60.0)  # as the runner: it waits for the stop
    assert ended["state"] == "stopped" and ended["reason"] == "stopped on request" and len(ended["epochs"]) < 20000
    second = client.call("POST", "/trials", trial(epochs=3))["id"]
    view = wait_end(client, second)
    assert view["state"] == "complete" and [e[0] for e in view["epochs"]] == [1, 2, 3]
    assert view["value"] == view["epochs"][-1][1] and view["info"]["seed"] == 7
    with pytest.raises(NodeError) as err:
        client.call("GET", "/trials/999")
    assert err.value.status == 404


def _journal(outdir: Path) -> list[dict]:
    return [json.loads(line) for line in (outdir / "journal.jsonl").read_text().splitlines()]


def test_run_through_the_node_with_the_credential(node, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("HPO_MAB_TOKEN", raising=False)
    (tmp_path / "rc").mkdir()
    (tmp_path / "rc" / "remote.yaml").write_text(f"credential: {TOKEN}\nworker_timeout: 30s\n")
    out = tmp_path / "out"
    argv = ["diabetes-mlp", "1", "--train", "-w", node, "-m", "GP", "--max-trials", "3", "--epochs", "3",
            "-rc", str(tmp_path / "rc"), "-c", "remote.yaml", "-o", str(out), "--no-progress"]
    assert main(argv) == 0
    records = _journal(out)
    assert len(records) == 3 and all(r["epochs"] == 3 and r["info"]["node"] == node for r in records)
    for path in out.iterdir():  # the secret is in no output
        assert TOKEN not in path.read_bytes().decode(errors="replace")
    assert TOKEN not in capsys.readouterr().out
    (tmp_path / "rc" / "remote.yaml").write_text("credential: not-the-s3cret\n")
    assert main(argv[:-3] + ["-o", str(tmp_path / "o2"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "no train node answers" in err and "401" in err
    assert "not-the-s3cret" not in err and not (tmp_path / "o2").exists()


def test_run_needs_a_secret_and_train(node, monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("HPO_MAB_TOKEN", raising=False)
    assert main(["diabetes-mlp", "1", "--train", "-w", node, "-o", str(tmp_path / "o")]) == 2
    assert main(["diabetes-mlp", "1", "-w", node, "-o", str(tmp_path / "o")]) == 2
    monkeypatch.setenv("HPO_MAB_TOKEN", TOKEN)
    assert main(["diabetes-mlp", "1", "--train", "-w", "ftp://x", "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and "HPO_MAB_TOKEN" in err[0] and "-w applies to real training" in err[1]
    assert "-w must be a train node's URL" in err[2] and not (tmp_path / "o").exists()
    for url in ("http://127.0.0.1:99999", "http://:6100"):
        assert main(["diabetes-mlp", "1", "--train", "-w", url, "-o", str(tmp_path / "o")]) == 2
        assert "-w must be a train node's URL" in capsys.readouterr().err
    (tmp_path / "none.yaml").write_text("workers: []\n")
    assert main(["diabetes-mlp", "1", "--train", "-rc", str(tmp_path), "-c", "none.yaml",
                 "-o", str(tmp_path / "o")]) == 2
    assert "needs at least one train node's URL" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_node_killed_mid_trial_fails_it_and_the_run_goes_on(node, tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.setenv("HPO_MAB_TOKEN", TOKEN)
    proc, doomed = start_node()

    def kill_when_busy():
        client = Client(doomed, TOKEN)
        for _ in range(400):
            if client.call("GET", "/health")["busy"]:
                time.sleep(0.3)
                break
            time.sleep(0.05)
        stop_node(proc)

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    out = tmp_path / "out"
    code = main(["diabetes-mlp", "1", "--train", "-w", doomed, "-w", node, "-m", "GP", "--max-trials", "3",
                 "--epochs", "200", "-o", str(out), "--no-progress"])
    killer.join()
    assert code == 0
    records = _journal(out)
    assert len(records) == 3
    assert records[0]["state"] == "failed" and "stopped answering" in records[0]["reason"]
    assert records[0]["info"]["node"] == doomed
    assert all(r["state"] != "failed" and r["info"]["node"] == node for r in records[1:])
    capsys.readouterr()
    # no node answers: the run stops with one line before OUTDIR is touched, even with --overwrite
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["diabetes-mlp", "1", "--train", "-w", doomed, "--max-trials", "2", "--epochs", "3",
                 "-o", str(out), "--overwrite", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no train node answers" in err[0] and doomed in err[0]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # one node of two answers: a warning names the other, and the run goes on
    assert main(["diabetes-mlp", "1", "--train", "-w", doomed, "-w", node, "--max-trials", "1", "--epochs", "2",
                 "-o", str(tmp_path / "o3"), "--no-progress"]) == 0
    assert any(r.levelname == "WARNING" and f"train node {doomed}: no answer" in r.getMessage()
               for r in caplog.records)


def test_a_silent_node_fails_the_trial_after_worker_timeout(tmp_path, monkeypatch, capsys):
    import signal

    monkeypatch.setenv("HPO_MAB_TOKEN", TOKEN)
    proc, hung = start_node()
    (tmp_path / "rc").mkdir()
    (tmp_path / "rc" / "quick.yaml").write_text("worker_timeout: 1\n")

    def freeze_when_busy():
        client = Client(hung, TOKEN)
        for _ in range(400):
            if client.call("GET", "/health")["busy"]:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGSTOP)

    freezer = threading.Thread(target=freeze_when_busy)
    freezer.start()
    try:
        code = main(["diabetes-mlp", "1", "--train", "-w", hung, "--max-trials", "2", "--epochs", "3",
                     "-rc", str(tmp_path / "rc"), "-c", "quick.yaml", "-o", str(tmp_path / "out"), "--no-progress"])
    finally:
        freezer.join()
        proc.send_signal(signal.SIGCONT)
        stop_node(proc)
    records = _journal(tmp_path / "out")
    assert code == 2 and len(records) == 1 and records[0]["state"] == "failed"
    assert hung in records[0]["reason"] and "timed out" in records[0]["reason"]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no train node takes a trial" in err[0]


def test_a_huge_body_gets_413_and_the_node_serves_on(node):
    with pytest.raises(NodeError) as err:
        Client(node, TOKEN).call("POST", "/trials", {**trial(), "pad": "x" * 100_000})
    assert err.value.status == 413 and "at most" in str(err.value)
    assert Client(node, TOKEN).call("GET", "/health")["busy"] in (True, False)
