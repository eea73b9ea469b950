"""Writes every file's sha256 of each pinned version into a requirements file,
so `pip install --require-hashes` (make deps) installs those bytes and no other.

    python3 scripts/hash_requirements.py local/requirements.txt

Run it after changing a pin (`name==version`); it reads PyPI's simple index
(JSON form) and replaces the hashes already there.
"""
import json
import re
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def hashes(name: str, version: str) -> list[str]:
    request = urllib.request.Request(f"https://pypi.org/simple/{normalized(name)}/",
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        index = json.load(answer)
    found = []
    for f in index["files"]:
        stem = f["filename"].removesuffix(".tar.gz").removesuffix(".zip").removesuffix(".whl")
        parts = stem.split("-")
        if len(parts) >= 2 and normalized(parts[0]) == normalized(name) and parts[1] == version:
            found.append(f["hashes"]["sha256"])
    if not found:
        raise SystemExit(f"PyPI has no file of {name}=={version}")
    return sorted(found)


def main(path: str) -> None:
    logical = open(path).read().replace("\\\n", " ").splitlines()
    pins = [line.split()[0] for line in logical if line.strip() and not line.startswith("#")]
    with ThreadPoolExecutor(16) as pool:
        found = list(pool.map(lambda pin: hashes(*pin.split("==")), pins))
    out = [line for line in logical if line.startswith("#") or not line.strip()]
    for pin, digests in zip(pins, found):
        out.append(" \\\n".join([pin] + [f"    --hash=sha256:{d}" for d in digests]))
    open(path, "w").write("\n".join(out) + "\n")
    print(f"{path}: {len(pins)} pins hashed")


if __name__ == "__main__":
    main(sys.argv[1])
