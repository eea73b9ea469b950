"""make watch: the environment `cargo lambda watch` runs the functions with.

The functions of the stack `make demo` deployed to the running stand-in
(`snaplake-local-<function>`) hold their configuration (bucket, pinned
policy, source, export role, salt secret). This writes it, with the stand-in
as their AWS (and RUST_LOG if set), to the env file named on the command
line, one KEY=VALUE a line.

    python watch_env.py ../.local/watch.env [--stack snaplake-local]
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import boto3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("env_file", type=Path)
    parser.add_argument("--stack", default="snaplake-local")
    args = parser.parse_args()
    status = subprocess.run([sys.executable, "-m", "standin", "status"], capture_output=True, text=True)
    endpoint = status.stdout.strip() if status.returncode == 0 else ""
    if not endpoint:
        print("no stand-in is running: start one with `make standin`", file=sys.stderr)
        return 1
    aws = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}
    client = boto3.client("lambda", endpoint_url=endpoint, region_name=aws["AWS_REGION"],
                          aws_access_key_id="test", aws_secret_access_key="test")
    env = {}
    for page in client.get_paginator("list_functions").paginate():
        for fn in page["Functions"]:
            if fn["FunctionName"].startswith(f"{args.stack}-"):
                env.update(fn.get("Environment", {}).get("Variables", {}))
    if not env:
        print(f"the stand-in at {endpoint} holds no function of the stack {args.stack}: "
              "deploy it with `DATE=2026-11-21 make demo` (the day the examples in events/ name)", file=sys.stderr)
        return 1
    env.update(aws, AWS_LAMBDA_LOG_FORMAT="Text")
    if os.environ.get("RUST_LOG"):
        env["RUST_LOG"] = os.environ["RUST_LOG"]
    args.env_file.parent.mkdir(parents=True, exist_ok=True)
    args.env_file.write_text("".join(f"{k}={v}\n" for k, v in sorted(env.items())))
    print(f"{args.env_file}: the functions of {args.stack}, against the stand-in at {endpoint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
