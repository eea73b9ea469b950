"""The import graph of the library crate (shared/src) and of the stand-in
(local/standin): one node per file, one arrow per file it imports from.
Fails when the arrows close a circle, naming the files of each.

    python3 scripts/import_graph.py            # both; exit 1 on a circle
    python3 scripts/import_graph.py --arrows   # and print every arrow

A circle means neither side can be understood, tested or changed alone
(docs/ARCHITECTURE.md, "Layers"). Rust arrows are the `crate::`, `super::`
and `self::` paths of `use` lines, of code and of doc links (a doc link
points the way imports do); a path is resolved to the deepest file that
defines it. Python arrows are the stand-in's relative imports. The standard
library only: it runs before `make deps`.
"""
import re
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent


def rust_modules(src: Path) -> dict[tuple[str, ...], Path]:
    """Module path -> file: lib.rs is (), a/mod.rs and a.rs are ("a",)."""
    modules = {}
    for f in src.rglob("*.rs"):
        parts = list(f.relative_to(src).with_suffix("").parts)
        if parts[-1] in ("lib", "mod", "main"):
            parts = parts[:-1]
        modules[tuple(parts)] = f
    return modules


def rust_paths(text: str) -> list[str]:
    """Every `crate::…`, `super::…` and `self::…` path, `use` groups expanded."""
    text = re.sub(r"(?m)^\s*//(?![/!]).*$", "", text)  # plain comments, not doc comments
    paths = []
    for m in re.finditer(r"(?m)^([ \t]*)(?:pub(?:\([\w:]+\))?\s+)?use\s+((?:crate|super|self)::[^;]+);", text):
        path = re.sub(r"\s+", "", m.group(2))
        if m.group(1) and path.startswith("super::"):
            # An indented `use super::…` is in an inline module (`mod tests`):
            # its super is this file's module.
            path = "self::" + path.removeprefix("super::")
        paths += expand(path)
    without_uses = re.sub(r"\buse\s+[^;]+;", "", text, flags=re.S)
    paths += re.findall(r"\b((?:crate|super|self)(?:::\w+)+)", without_uses)
    return paths


def expand(path: str) -> list[str]:
    """`a::{b, c::{d}}` -> a::b, a::c::d."""
    if "{" not in path:
        return [path.split(" as ")[0]]
    head, rest = path.split("{", 1)
    inner = rest[: rest.rfind("}")]
    items, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    items.append(cur)
    out = []
    for item in filter(None, items):
        out += expand(head + item) if item != "self" else [head.rstrip(":")]
    return out


def resolve(path: str, here: tuple[str, ...], modules) -> tuple[str, ...] | None:
    parts = path.split("::")
    if parts[0] == "crate":
        base, rest = (), parts[1:]
    else:
        base = here  # the module `self` names: a/b.rs and a/b/mod.rs are both a::b
        rest = parts[1:]
        while parts and parts[0] == "super":
            base = base[:-1]
            parts = parts[1:]
            rest = parts
        if parts and parts[0] == "self":
            rest = parts[1:]
    for n in range(len(rest), -1, -1):
        candidate = base + tuple(rest[:n])
        if candidate in modules:
            return candidate
    return None


def rust_graph(src: Path) -> dict[str, set[str]]:
    modules = rust_modules(src)
    graph = {}
    for mod, f in modules.items():
        arrows = set()
        for path in rust_paths(f.read_text()):
            target = resolve(path, mod, modules)
            if target is not None and target != mod:
                # A module's own children are declared in it (`mod x;`),
                # which is structure, not an import: mod.rs -> child is kept
                # only when mod.rs uses the child's items.
                arrows.add(str(modules[target].relative_to(src)))
        graph[str(f.relative_to(src))] = arrows
    return graph


def python_graph(pkg: Path) -> dict[str, set[str]]:
    files = {f.stem: f for f in pkg.glob("*.py")}
    graph = {}
    for stem, f in files.items():
        arrows = set()
        for line in f.read_text().splitlines():
            m = re.match(r"\s*from \.(\w*) import (.+)", line)
            if not m:
                continue
            if m.group(1):
                arrows.add(m.group(1))
            else:
                arrows.update(n.strip().split(" as ")[0] for n in m.group(2).strip("() ").split(","))
        graph[f.name] = {f"{a}.py" for a in arrows if a in files and a != stem}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main(argv: list[str]) -> int:
    failed = False
    for name, graph in (
        ("shared/src", rust_graph(TOP / "shared/src")),
        ("local/standin", python_graph(TOP / "local/standin")),
    ):
        arrows = sum(len(a) for a in graph.values())
        if "--arrows" in argv:
            for f in sorted(graph):
                for t in sorted(graph[f]):
                    print(f"{name}/{f} -> {t}")
        found = circles(graph)
        print(f"{name}: {len(graph)} files, {arrows} arrows, {len(found)} circle(s)")
        for c in found:
            failed = True
            print(f"  circle: {' <-> '.join(c)}", file=sys.stderr)
    if failed:
        print("break each circle: move what both sides need to a module below them (docs/ARCHITECTURE.md, Layers)",
              file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
