"""One invocation of a handler binary behind the stand-in's Lambda Runtime
API (standin.lambdas.Runtime), as Lambda runs it, timed from the event
handed over to the answer: `make bench`'s catalog swap runs the release
build users deploy, not the debug build of the library the benchmark links.

    python -m bench.invoke --endpoint URL --binary PATH --event FILE [--env NAME=VALUE ...]

prints {"seconds": s, "cpu_seconds": s, "errored": bool, "answer": <the function's answer>}:
cpu_seconds is the process's own user and system time (/proc/<pid>/stat),
start-up included, so the function's share of the wall time can be told
from the stand-in's.
"""

import argparse
import json
import os
import sys
import time
import types
from pathlib import Path

from standin import lambdas


def cpu_seconds(pid: int) -> float:
    """utime + stime of a running process (proc(5): fields 14 and 15, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--binary", required=True, type=Path)
    parser.add_argument("--event", required=True, type=Path)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE, the function's environment")
    args = parser.parse_args()
    lambdas.ENDPOINT["url"] = args.endpoint
    name = args.binary.name
    fn = types.SimpleNamespace(
        function_name=name, function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        environment_vars=dict(item.split("=", 1) for item in args.env), timeout=900, memory_size=256,
        region="us-east-1")
    runtime = lambdas.Runtime(fn, args.binary)
    try:
        deadline = time.monotonic() + 30
        while runtime.first_next is None:  # not yet asking for its event: still starting
            if runtime.process.poll() is not None or time.monotonic() > deadline:
                print(f"{name} did not start: {runtime.init_error or 'see its log'}", file=sys.stderr)
                return 1
            time.sleep(0.005)
        event = args.event.read_text()
        started = time.monotonic()
        payload, errored = runtime.invoke(event)
        seconds = time.monotonic() - started
        cpu = cpu_seconds(runtime.process.pid)
    finally:
        runtime.stop()
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "errored": errored, "answer": json.loads(payload)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
