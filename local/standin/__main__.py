"""Start, stop and serve the stand-in.

    python -m standin start [--port N]   start in the background, wait until it answers, print the endpoint
    python -m standin stop               stop the one `start` started (and nothing else)
    python -m standin status             print the endpoint if it is running
    python -m standin serve [--port N] [--ready-file F] [--exit-with-parent PID]
                                         run in the foreground (what `start` and the test harness run)

State lives in $SNAPLAKE_STANDIN_DIR (default: .local/standin in the repo).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STATE_DIR = Path(os.environ.get("SNAPLAKE_STANDIN_DIR", REPO / ".local" / "standin"))
STATE_FILE = STATE_DIR / "state.json"
LOG_FILE = STATE_DIR / "server.log"


def serve(port: int, ready_file: str | None, parent: int | None) -> None:
    from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from . import athena, control, dispatch, events, exports, glue, iam, lambdas, lineage, s3, stepfunctions

    athena.install()
    events.install()
    exports.install()
    glue.install()
    lineage.install()
    iam.install()
    s3.install()
    stepfunctions.install()
    dispatch.install()
    control.apply_moto_config()
    app = control.Control(dispatch.Dispatcher(create_backend_app))
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    endpoint = f"http://127.0.0.1:{server.server_port}"
    # moto's Step Functions engine calls other services (SQS, Lambda, S3
    # ItemReader) through boto3 at localhost:$MOTO_PORT: point it at ourselves.
    os.environ["MOTO_PORT"] = str(server.server_port)
    lambdas.install(endpoint)
    if parent:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    if ready_file:
        _write_atomically(Path(ready_file), {"pid": os.getpid(), "endpoint": endpoint})
    print(f"standin: serving {endpoint}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    finally:
        lambdas.stop_all()


def _exit_with(parent: int) -> None:
    """A test binary that dies without cleaning up must not leave us behind."""
    from . import lambdas

    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            lambdas.stop_all()
            os._exit(0)


def start(port: int) -> int:
    running = _running()
    if running:
        print(running["endpoint"])
        print(f"standin: already running (pid {running['pid']})", file=sys.stderr)
        return 0
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    STATE_FILE.unlink(missing_ok=True)
    with open(LOG_FILE, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "standin", "serve", "--port", str(port), "--ready-file", str(STATE_FILE)],
            cwd=REPO / "local",
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            print(f"standin: exited with {proc.returncode} before answering; see {LOG_FILE}", file=sys.stderr)
            return 1
        state = _read_state()
        if state and _healthy(state["endpoint"]):
            print(state["endpoint"])
            return 0
        time.sleep(0.2)
    proc.kill()
    print(f"standin: no answer within 60 s; see {LOG_FILE}", file=sys.stderr)
    return 1


def stop() -> int:
    state = _read_state()
    if not state:
        print("standin: not running")
        return 0
    pid = state["pid"]
    if _is_ours(pid):
        os.killpg(pid, signal.SIGTERM)
        for _ in range(50):
            if not _alive(pid):
                break
            time.sleep(0.1)
        else:
            os.killpg(pid, signal.SIGKILL)
    STATE_FILE.unlink(missing_ok=True)
    print(f"standin: stopped (pid {pid})")
    return 0


def status() -> int:
    running = _running()
    if not running:
        print("standin: not running")
        return 1
    print(running["endpoint"])
    return 0


def _running() -> dict | None:
    state = _read_state()
    if state and _is_ours(state["pid"]) and _healthy(state["endpoint"]):
        return state
    return None


def _read_state() -> dict | None:
    try:
        return json.loads(STATE_FILE.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _write_atomically(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _is_ours(pid: int) -> bool:
    """Guards against a reused pid: only a live `standin serve` is ours to stop."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return False
    return _alive(pid) and b"standin" in cmdline and b"serve" in cmdline


def _healthy(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/_snaplake/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(prog="standin", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "serve"):
        p = sub.add_parser(name)
        p.add_argument("--port", type=int, default=int(os.environ.get("SNAPLAKE_STANDIN_PORT", "0")),
                       help="loopback port; 0 picks a free one")
    sub.choices["serve"].add_argument("--ready-file")
    sub.choices["serve"].add_argument("--exit-with-parent", type=int)
    sub.add_parser("stop")
    sub.add_parser("status")
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.port, args.ready_file, args.exit_with_parent)
        return 0
    if args.command == "start":
        return start(args.port)
    return stop() if args.command == "stop" else status()


if __name__ == "__main__":
    sys.exit(main())
