#!/usr/bin/env python3
"""Lists the cycles between the modules of each crate (`use crate::a` in module b, and back).

A module is a file under src/ (`foo.rs` or `foo/mod.rs` is `foo`; `foo/bar.rs` is `foo::bar`).
An edge b -> a is any `crate::a...` or `super::...` path in b that names another module; a child
using its parent (or the parent using its child) is not an edge: that is nesting, not a cycle.
Exits 1 when a crate has a cycle, printing it.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRATES = ["argon2", "shared", "client", "server", "bench", "client/lanes"]


def module_name(src, path):
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return "::".join(parts)


def resolve(modules, current, path):
    """The longest known module that a `crate::`/`super::` path starts with."""
    if path.startswith("crate::"):
        segments = path[len("crate::"):].split("::")
    else:
        base = current.split("::") if current else []
        segments = path.split("::")
        while segments and segments[0] == "super":
            segments.pop(0)
            base = base[:-1]
        segments = base + segments
    for n in range(len(segments), 0, -1):
        name = "::".join(segments[:n])
        if name in modules:
            return name
    return None


def strip_comments(text):
    return re.sub(r"//[^\n]*", "", text)


def uses(text):
    """Every `crate::`/`super::` path, with `use` groups expanded one level."""
    text = strip_comments(text)
    paths = []
    for match in re.finditer(r"\b(crate|super)((?:::\w+)*)::\{([^}]*)\}", text):
        head = match.group(1) + match.group(2)
        for item in match.group(3).split(","):
            item = item.strip().split(" as ")[0].strip()
            if item and item != "self":
                paths.append(f"{head}::{item}")
            elif item == "self":
                paths.append(head)
    text = re.sub(r"\b(crate|super)((?:::\w+)*)::\{[^}]*\}", "", text)
    paths += [m.group(0) for m in re.finditer(r"\b(?:crate|super)(?:::\w+)+", text)]
    return paths


def related(a, b):
    """One module is inside the other."""
    return a == b or a.startswith(b + "::") or b.startswith(a + "::") or a == "" or b == ""


def cycles(crate):
    src = ROOT / crate / "src"
    files = {module_name(src, p): p for p in src.rglob("*.rs")}
    edges = {m: set() for m in files}
    for module, path in files.items():
        for used in uses(path.read_text()):
            target = resolve(files, module, used)
            if target is not None and not related(module, target):
                edges[module].add(target)
    found, seen = [], set()

    def visit(node, stack):
        for nxt in sorted(edges[node]):
            if nxt in stack:
                cycle = stack[stack.index(nxt):] + [nxt]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    found.append(cycle)
            elif len(stack) < 12:
                visit(nxt, stack + [nxt])

    for module in sorted(files):
        visit(module, [module])
    return found


def main():
    bad = False
    for crate in CRATES:
        for cycle in cycles(crate):
            bad = True
            print(f"{crate}: " + " -> ".join(cycle))
    if bad:
        sys.exit(1)
    print("no module cycles in " + ", ".join(CRATES))


if __name__ == "__main__":
    main()
