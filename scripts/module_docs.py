"""Writes the Inputs and Outputs tables of a Terraform module's README from
its variables.tf and outputs.tf, as the Terraform Registry shows a module,
between the README's `<!-- BEGIN_TF_DOCS -->` and `<!-- END_TF_DOCS -->`.

    .venv-tools/bin/python scripts/module_docs.py infra/modules/snaplake          # rewrite
    .venv-tools/bin/python scripts/module_docs.py --check infra/modules/snaplake  # CI

terraform-docs is not in the registries this project installs from, so the
blocks are found with python-hcl2 (pinned for checkov in
local/requirements-tools.txt) and each `type` and `default` is quoted as
written in the source, not as the parser re-renders it. --check fails when
the README is out of date or a variable or an output has no description.
"""
import re
import sys
from pathlib import Path

import hcl2

BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"


def blocks(path: Path, kind: str) -> list[tuple[str, dict, list[str]]]:
    """(name, parsed attributes, source lines) of every `kind` block, in the
    file's order (terraform fmt puts a top-level block's `}` at column 0)."""
    lines = path.read_text().splitlines()
    with path.open() as f:
        parsed = {name: body for entry in hcl2.load(f).get(kind, []) for name, body in entry.items()}
    found = []
    for i, line in enumerate(lines):
        m = re.match(rf'^{kind} "([^"]+)" {{', line)
        if m:
            end = next(j for j in range(i, len(lines)) if lines[j] == "}")
            found.append((m.group(1), parsed[m.group(1)], lines[i : end + 1]))
    return found


def attribute_source(block_lines: list[str], attribute: str) -> str | None:
    """The expression of a top-level `attribute = …` as written, spanning
    lines until its brackets close, on one line."""
    for i, line in enumerate(block_lines[1:], start=1):
        m = re.match(rf"^  {attribute}\s*=\s*(.*)$", line)
        if not m:
            continue
        text, j = m.group(1), i
        depth = _depth(text)
        while depth > 0 and j + 1 < len(block_lines):
            j += 1
            more = block_lines[j].strip()
            text += " " + more
            depth += _depth(more)
        return re.sub(r"\s+", " ", text).replace("( ", "(").replace(" )", ")").strip()
    return None


def _depth(text: str) -> int:
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    return sum(text.count(c) for c in "([{") - sum(text.count(c) for c in ")]}")


def cell(text: str) -> str:
    """Markdown table text: pipes escaped, and <name>-style placeholders
    shown, not taken for HTML tags."""
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def code(text: str) -> str:
    return "`" + text.replace("|", "\\|") + "`" if "`" not in text else f"<code>{cell(text)}</code>"


def description(body: dict) -> str | None:
    value = body.get("description")
    if isinstance(value, list):
        value = value[0] if value else None
    return value


def render(module: Path) -> tuple[str, list[str]]:
    problems = []
    out = ["## Inputs", "", "| Name | Description | Type | Default | Required |", "|---|---|---|---|:---:|"]
    for name, body, source in blocks(module / "variables.tf", "variable"):
        text = description(body)
        if not text:
            problems.append(f"variables.tf: variable {name!r} has no description; add one")
        type_ = attribute_source(source, "type") or "any"
        default = attribute_source(source, "default")
        flags = [f for f in ("sensitive", "ephemeral") if attribute_source(source, f) == "true"]
        note = f" ({', '.join(flags)})" if flags else ""
        out.append(
            f"| `{name}` | {cell(text or '')}{note} | {code(type_)} | "
            f"{code(default) if default is not None else 'n/a'} | {'no' if default is not None else 'yes'} |"
        )
    out += ["", "## Outputs", "", "| Name | Description |", "|---|---|"]
    for name, body, source in blocks(module / "outputs.tf", "output"):
        text = description(body)
        if not text:
            problems.append(f"outputs.tf: output {name!r} has no description; add one")
        sensitive = " (sensitive)" if attribute_source(source, "sensitive") == "true" else ""
        out.append(f"| `{name}` | {cell(text or '')}{sensitive} |")
    return "\n".join(out) + "\n", problems


def main(argv: list[str]) -> int:
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    module = Path(args[0])
    readme = module / "README.md"
    tables, problems = render(module)
    current = readme.read_text() if readme.exists() else ""
    if BEGIN not in current or END not in current:
        problems.append(f"{readme}: no {BEGIN} … {END} section; add the two markers where the tables go")
        wanted = current
    else:
        head, rest = current.split(BEGIN, 1)
        wanted = head + BEGIN + "\n" + tables + END + rest.split(END, 1)[1]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    if wanted == current:
        print(f"{readme}: inputs and outputs up to date")
        return 0
    if check:
        print(
            f"{readme} is out of date with variables.tf/outputs.tf; run "
            f".venv-tools/bin/python scripts/module_docs.py {module}",
            file=sys.stderr,
        )
        return 1
    readme.write_text(wanted)
    print(f"{readme}: inputs and outputs written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
