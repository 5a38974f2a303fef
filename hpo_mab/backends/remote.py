"""The remote backend: trials of a task run on train nodes (`hpo-runner serve`, `hpo_mab/server.py`) over HTTP.

`-w URL` (repeatable) names the nodes; trials go to them in turn, one at a time. The shared secret is the run
configuration's `credential` or $HPO_MAB_TOKEN, sent as a bearer token and kept out of every record and log.
A trial is POSTed, then its epochs are polled (`GET /trials/{id}?after=K`) and reported as they end; a
scheduler's STOP (or PAUSE: a node keeps no checkpoint) and the time budget send DELETE. A node that refuses
a trial (unreachable, busy, wrong token) is skipped for the next one; a node that stops answering mid-trial,
or reports no epoch for `worker_timeout` seconds, fails that trial with the reason and the run goes on. When
no node takes a trial the run stops with one line (HpoError).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import urllib.error
import urllib.request
from typing import Any

from hpo_mab.backends.base import Decision, Outcome, Report, WallClock
from hpo_mab.errors import HpoError

log = logging.getLogger(__name__)
TOKEN_ENV = "HPO_MAB_TOKEN"
POLL_S = 0.2
GRACE_S = 2.0  # seconds a node may fail to answer a poll before its trial fails
DEFAULT_TIMEOUT_S = 600.0


class NodeError(Exception):
    """A node did not answer, or answered with an HTTP error (`status`)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def check_urls(urls: Any) -> list[str]:
    """-w values: http(s)://host:port, trailing slashes dropped."""
    from urllib.parse import urlsplit

    if not urls:
        raise HpoError("-w (run configuration 'workers') needs at least one train node's URL such as "
                       "http://host:6100, but got none")
    out = []
    for url in urls:
        try:
            parts = urlsplit(url) if isinstance(url, str) else None
            valid = parts is not None and parts.scheme in ("http", "https") and bool(parts.hostname)
            valid = valid and (parts.port is None or parts.port > 0)  # .port raises on one out of range
        except ValueError:
            valid = False
        if not valid:
            raise HpoError(f"-w must be a train node's URL such as http://host:6100, but got {str(url)[:200]!r}")
        out.append(url.rstrip("/"))
    return out


def probe_nodes(urls: list[str], token: str, timeout: float = 10.0) -> None:
    """Before a run writes anything: every node is asked for /health with the token; one that answers is
    enough (the others get a warning, and the run skips them while they refuse), none is one error line."""
    refusals = []
    for url in urls:
        try:
            Client(url, token, timeout).call("GET", "/health")
        except NodeError as exc:
            refusals.append(f"{url}: {exc}")
    if len(refusals) == len(urls):
        raise HpoError("no train node answers (" + "; ".join(refusals) + "); OUTDIR was not touched")
    for refusal in refusals:
        log.warning("train node %s", refusal)


def find_token(credential: Any) -> str:
    """The run configuration's `credential`, else $HPO_MAB_TOKEN; the value itself never appears in a message."""
    if credential is not None:
        if not isinstance(credential, str) or not credential.strip():
            raise HpoError("run configuration: 'credential' must be a non-empty string (the train nodes' secret)")
        return credential.strip()
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise HpoError(f"-w needs the train nodes' shared secret: set ${TOKEN_ENV} or the run configuration's "
                       "'credential'")
    return token


class Client:
    """JSON over HTTP to one node with the bearer token (urllib: no extra dependency on the runner's side)."""

    def __init__(self, url: str, token: str, timeout: float = 10.0) -> None:
        self.url, self._token, self.timeout = url, token, timeout

    def call(self, method: str, path: str, body: Any = None, timeout: float | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Authorization": f"Bearer {self._token}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read()).get("detail")
            except (ValueError, AttributeError, OSError):
                detail = exc.reason
            raise NodeError(f"HTTP {exc.code}: {detail}", exc.code) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise NodeError(f"no answer ({reason})") from None


class RemoteBackend:
    """Runs each trial of `task` on the next node that takes it, on the runner's wall clock."""

    def __init__(self, task: str, urls: list[str], token: str, epochs: int, device: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.task, self.epochs, self.device, self.timeout = task, epochs, device, timeout
        self.clients = [Client(url, token, min(10.0, timeout)) for url in urls]
        self.next = 0
        self.clock = WallClock()

    def _submit(self, body: dict[str, Any]) -> tuple[Client, int]:
        """POST the trial to the nodes in turn from the next one; the first that takes it runs it."""
        refusals = []
        for k in range(len(self.clients)):
            client = self.clients[(self.next + k) % len(self.clients)]
            try:
                answer = client.call("POST", "/trials", body)
            except NodeError as exc:
                if exc.status == 422:  # the request itself is wrong: no other node will take it either
                    raise HpoError(f"train node {client.url} refused the trial: {exc}") from None
                refusals.append(f"{client.url}: {exc}")
                continue
            self.next = (self.next + k + 1) % len(self.clients)
            return client, int(answer["id"])
        raise HpoError("no train node takes a trial (" + "; ".join(refusals) + ")")

    def run_trial(self, nominee: Any, *, draw: float, deadline: float = math.inf, report: Report | None = None,
                  checkpoint: Any = None) -> Outcome:
        seed = int(draw * 2**31)
        body = {"task": self.task, "config": _plain(nominee.config), "epochs": self.epochs, "seed": seed}
        if self.device is not None:
            body["device"] = self.device
        client, number = self._submit(body)
        info: dict[str, Any] = {"node": client.url, "seed": seed}
        start = time.monotonic()
        last_news = start
        curve: list[float] = []
        ending: str | None = None  # why we asked the node to stop
        silent_since: float | None = None  # the first of a row of polls without an answer
        while True:
            try:
                view = client.call("GET", f"/trials/{number}?after={len(curve)}")
                silent_since = None
            except NodeError as exc:
                silent_since = silent_since or time.monotonic()
                if exc.status is None and time.monotonic() - silent_since < min(self.timeout, GRACE_S):
                    time.sleep(POLL_S)  # a lost connection may be a blip; a dead node stays dead
                    continue
                return Outcome("failed", curve, None, None, time.monotonic() - start,
                               f"train node {client.url} stopped answering: {exc}", info)
            for epoch, value, seconds in view["epochs"]:
                last_news = time.monotonic()
                if value is None:
                    continue  # the node fails a non-finite metric itself
                curve.append(float(value))
                answer = report(int(epoch), float(value), float(seconds)) if report and ending is None else None
                if answer in (Decision.STOP, Decision.PAUSE):
                    ending = "stopped by the scheduler"
            if view["state"] != "running":
                return self._outcome(view, curve, info, ending, time.monotonic() - start)
            if ending is None and self.clock.now >= deadline:
                ending = "time budget exhausted"
            if ending is not None:
                try:
                    view = client.call("DELETE", f"/trials/{number}", timeout=60.0)
                    curve = [float(e[1]) for e in view["epochs"] if e[1] is not None]
                    return self._outcome(view, curve, info, ending, time.monotonic() - start)
                except NodeError as exc:
                    return Outcome("failed", curve, None, None, time.monotonic() - start,
                                   f"train node {client.url} did not stop the trial: {exc}", info)
            if time.monotonic() - last_news > self.timeout:
                try:
                    client.call("DELETE", f"/trials/{number}", timeout=5.0)
                except NodeError:
                    pass
                return Outcome("failed", curve, None, None, time.monotonic() - start,
                               f"train node {client.url} sent no epoch for {self.timeout:g} s (worker_timeout)",
                               info)
            time.sleep(POLL_S)

    @staticmethod
    def _outcome(view: dict[str, Any], curve: list[float], info: dict[str, Any], ending: str | None,
                 seconds: float) -> Outcome:
        info = {**(view.get("info") or {}), **info}
        state, reason = view["state"], view.get("reason")
        if state == "stopped" and ending is not None:
            reason = ending
        value = view.get("value") if state != "failed" else None
        if value is None and state == "stopped" and curve:
            value = curve[-1]
        return Outcome(state, curve, value, view.get("test"), seconds, reason, info)


def _plain(config: dict[str, Any]) -> dict[str, Any]:
    """numpy scalars as JSON numbers."""
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in config.items()}


def remote_problem(task: Any, urls: list[str], token: str, epochs: int | None = None, device: str | None = None,
                   timeout: float = DEFAULT_TIMEOUT_S):
    """A task trained on remote nodes: continuous candidates, the remote backend, no true values."""
    from hpo_mab.backends.problem import Problem, continuous_candidates

    epochs = task.epochs if epochs is None else epochs
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise HpoError(f"--epochs must be a positive integer, but got {epochs!r}")
    urls = check_urls(urls)
    space = task.space()
    return Problem(name=task.name, space=space, metric=task.metric, default_budget_s=task.default_budget_s,
                   make_backend=lambda: RemoteBackend(task.name, urls, token, epochs, device, timeout),
                   make_candidates=continuous_candidates(space), live=True,
                   meta={"device": device, "epochs": epochs, "dataset": task.dataset, "model": task.model,
                         "workers": urls})
