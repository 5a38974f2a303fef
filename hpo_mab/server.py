"""A remote train node: `hpo-runner serve --port 6100` runs trials of the task registry for a runner elsewhere.

HTTP/JSON (FastAPI on uvicorn), one trial at a time, every request with `Authorization: Bearer TOKEN`:

    POST   /trials        {task, config, epochs, seed, device?} -> 201 {id}; 409 while a trial runs
    GET    /trials/{id}   ?after=K -> {state, epochs: [[epoch, value, seconds], ...] after the first K, value,
                          test, seconds, reason, info}; state is running until the trial ends
    DELETE /trials/{id}   stop it (at the next epoch boundary or sooner); 200 with its state once it has ended
    GET    /health        {busy, trial}

No token or a wrong one: 401; a malformed body or a configuration outside the task's space: 422 with the
reason; an unknown trial: 404. The runner polls GET for the epochs so far (`hpo_mab/backends/remote.py`):
polling needs no long-lived connection, so a node that dies is seen at the next poll. The shared secret comes
from $HPO_MAB_TOKEN or `--token-file`; it is compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import itertools
import math
import os
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hpo_mab.errors import HpoError, OneLineParser

TOKEN_ENV = "HPO_MAB_TOKEN"
MAX_BODY = 65_536  # bytes of a request body: a trial request is a few hundred (a 20 MB body was echoed in its 422)


class TrialRequest(BaseModel):
    """A trial for the node: a task of the registry, its configuration, epochs and the training seed."""

    model_config = ConfigDict(extra="forbid", strict=True)
    task: str
    config: dict[str, Any]
    epochs: int = Field(ge=1, le=100_000)
    seed: int = Field(ge=0, lt=2**31)
    device: str | None = None


def read_token(token_file: str | None) -> str:
    """The shared secret: the file's first line when given, else $HPO_MAB_TOKEN; neither is an error."""
    if token_file is not None:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise HpoError(f"--token-file {token_file}: cannot read it ({type(exc).__name__})")
        if not token:
            raise HpoError(f"--token-file {token_file}: the file is empty; it must hold the shared secret")
        return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise HpoError(f"a train node needs a shared secret: set ${TOKEN_ENV} or give --token-file FILE")
    return token


class _StopClock:
    """TrainBackend stops when `clock.now >= deadline`: this clock jumps past a deadline of 1 when told to stop."""

    def __init__(self) -> None:
        self.flag = threading.Event()

    @property
    def now(self) -> float:
        return 2.0 if self.flag.is_set() else 0.0


class Node:
    """The node's one trial slot, the data it has loaded, and the trials it has run (their results)."""

    def __init__(self, datasets: str | None = None, device: str | None = None) -> None:
        self.datasets, self.device = datasets, device
        self.lock = threading.Lock()
        self.trials: dict[int, dict[str, Any]] = {}
        self.current: int | None = None
        self.ids = itertools.count(1)
        self.data: dict[str, Any] = {}

    def check(self, body: Any) -> tuple[Any, dict[str, Any]]:
        """The task and the configuration of a trial request, checked (HpoError: 422)."""
        from hpo_mab.tasks import get_task

        task = get_task(body.task)
        space = task.space()
        unknown = sorted(set(body.config) - set(space.names))
        if unknown:
            raise HpoError(f"config: {len(unknown)} unknown parameter(s) {str(unknown[:5])[:200]} of task "
                           f"{task.name}; expected {', '.join(space.names)}")
        try:
            space.validate(body.config)
        except HpoError as exc:
            raise HpoError(f"config: {str(exc)[:300]}") from None
        return task, dict(body.config)

    def start(self, task: Any, config: dict[str, Any], epochs: int, seed: int, device: str | None) -> int | None:
        """Start a trial in a thread; None when one is running already."""
        with self.lock:
            if self.current is not None:
                return None
            number = next(self.ids)
            clock = _StopClock()
            self.trials[number] = {"state": "running", "epochs": [], "clock": clock, "done": threading.Event()}
            self.current = number
        threading.Thread(target=self._run, args=(number, task, config, epochs, seed, device), daemon=True).start()
        return number

    def _run(self, number: int, task: Any, config: dict[str, Any], epochs: int, seed: int,
             device: str | None) -> None:
        from hpo_mab.backends.base import Decision, Outcome
        from hpo_mab.backends.train import TrainBackend, pick_device

        trial = self.trials[number]
        clock = trial["clock"]

        def report(epoch: int, value: float, seconds: float) -> str:
            trial["epochs"].append([int(epoch), float(value), float(seconds)])
            return Decision.STOP if clock.flag.is_set() else Decision.CONTINUE

        try:
            if task.name not in self.data:
                self.data[task.name] = task.data(self.datasets)
            backend = TrainBackend(task, self.data[task.name], epochs, pick_device(device or self.device))
            backend.clock = clock
            outcome = backend.run_trial(SimpleNamespace(config=config), draw=seed / 2**31, deadline=1.0,
                                        report=report)
        except Exception as exc:  # noqa: BLE001 - whatever fails here is the trial's failure, reported to the runner
            outcome = Outcome("failed", [], None, None, 0.0, f"node error: {type(exc).__name__}: {str(exc)[:300]}")
        if clock.flag.is_set() and outcome.state != "failed":
            outcome.state, outcome.reason = "stopped", "stopped on request"
        final = {"state": outcome.state, "value": outcome.value, "test": outcome.test, "seconds": outcome.seconds,
                 "reason": outcome.reason, "info": outcome.info}
        with self.lock:
            trial.update(final)
            self.current = None
        trial["done"].set()

    def view(self, number: int, after: int) -> dict[str, Any]:
        trial = self.trials[number]
        out = {k: v for k, v in trial.items() if k not in ("clock", "done", "epochs")}
        out["epochs"] = trial["epochs"][after:]
        out["id"] = number
        return _finite(out)


def _finite(value: Any) -> Any:
    """JSON has no NaN: non-finite floats become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def make_app(token: str, node: Node | None = None):
    """The FastAPI application of a node holding `token`."""
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.responses import JSONResponse

    node = node or Node()
    app = FastAPI(title="hpo_mab train node")
    expected = f"Bearer {token}".encode()

    @app.middleware("http")
    async def authorize(request: Request, call_next):
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return JSONResponse({"detail": "missing or wrong bearer token"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        size = request.headers.get("content-length", "0")
        if not size.isdigit() or int(size) > MAX_BODY:  # a trial request is a few hundred bytes
            return JSONResponse({"detail": f"a request body is at most {MAX_BODY} bytes"}, status_code=413)
        return await call_next(request)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"busy": node.current is not None, "trial": node.current}

    @app.post("/trials", status_code=201)
    def start(body: TrialRequest) -> dict[str, Any]:
        try:
            task, config = node.check(body)
            if body.device is not None:
                from hpo_mab.surrogates.builder import check_device

                check_device(body.device)
        except HpoError as exc:
            raise HTTPException(422, str(exc))
        number = node.start(task, config, body.epochs, body.seed, body.device)
        if number is None:
            raise HTTPException(409, f"this node is busy with trial {node.current}")
        return {"id": number}

    def _trial(number: int) -> dict[str, Any]:
        if number not in node.trials:
            raise HTTPException(404, f"no trial {number} on this node")
        return node.trials[number]

    @app.get("/trials/{number}")
    def get(number: int, after: int = 0) -> dict[str, Any]:
        _trial(number)
        return node.view(number, max(after, 0))

    @app.delete("/trials/{number}")
    def stop(number: int) -> dict[str, Any]:
        trial = _trial(number)
        trial["clock"].flag.set()
        trial["done"].wait(30.0)  # the trainer sees the flag within an epoch (mid-epoch for the MLPs)
        return node.view(number, 0)

    return app


def serve_main(argv: list[str]) -> int:
    """`hpo-runner serve --port 6100 [--host H] [--token-file F] [--datasets DIR] [--device D]`."""
    p = OneLineParser(prog="hpo-runner serve", description="a remote train node: runs trials sent by "
                      "`hpo-runner TASK N --train -w http://HOST:PORT`, one at a time")
    p.add_argument("--port", type=int, default=6100, help="TCP port (0: any free one; the line printed names it)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--token-file", default=None, help=f"file holding the shared secret (default ${TOKEN_ENV})")
    p.add_argument("--datasets", default=None, help="datasets directory of this node (as hpo-runner --datasets)")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    args = p.parse_args(argv)
    if not 0 <= args.port <= 65535:
        raise HpoError(f"--port must be in 0..65535, but got {args.port}")
    token = read_token(args.token_file)
    if args.device is not None:
        from hpo_mab.surrogates.builder import check_device

        check_device(args.device)
    if args.datasets is not None:
        from hpo_mab.tasks import datasets_dir

        datasets_dir(args.datasets)
    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
        sock.listen(64)  # connections wait in the backlog from the line below until uvicorn takes them
    except OSError as exc:
        raise HpoError(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc})")
    port = sock.getsockname()[1]
    app = make_app(token, Node(args.datasets, args.device))
    print(f"hpo-runner serve: train node listening on http://{args.host}:{port}", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    started = time.monotonic()
    server.run(sockets=[sock])
    print(f"hpo-runner serve: stopped after {time.monotonic() - started:.0f} s", flush=True)
    return 0
