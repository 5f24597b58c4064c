"""imurun's import graph by layer: `python tests/import_graph.py` draws it, tests/test_layers.py keeps
it one-way (docs/architecture.md, "Layers").

Every `import imurun...` / `from imurun... import` in a module counts, wherever it stands (inside a
function, under TYPE_CHECKING): a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "imurun"

# Bottom to top; a module may import its own layer and those below, never one above. A module is in
# the layer of the longest name here that it is or lies under ("imurun" is the package's __init__
# only, so that a new top-level module must be placed).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("imurun", "imurun.errors", "imurun.outputs", "imurun.blocks")),
    ("core", ("imurun.core",)),
    ("sources", ("imurun.session", "imurun.sources", "imurun.ble")),
    ("pipeline", ("imurun.pipeline", "imurun.sinks")),
    ("sinks", ("imurun.console", "imurun.coach", "imurun.ui", "imurun.report", "imurun.analyze",
               "imurun.summary", "imurun.validate", "imurun.batch", "imurun.cohort", "imurun.export")),
    ("apps", ("imurun.live", "imurun.commands", "imurun.cli", "imurun.__main__")),
)
RANK = {name: k for k, (name, _) in enumerate(LAYERS)}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str | None:
    hits = [(len(name), layer) for layer, names in LAYERS for name in names
            if module == name or (name != "imurun" and module.startswith(name + "."))]
    return max(hits)[1] if hits else None


def imports(path: Path) -> set[str]:
    """The imurun modules `path` imports (`from imurun.x import y` counts as imurun.x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found.update(n for n in names if n == "imurun" or n.startswith("imurun."))
    return found


def edges() -> list[tuple[str, str]]:
    """(importer, imported) for every import of one imurun module by another."""
    return sorted((module_name(p), m) for p in PACKAGE.rglob("*.py") for m in imports(p))


def upward(pairs: list[tuple[str, str]]) -> list[str]:
    """Imports that reach a layer above the importer's, and modules in no layer."""
    bad = []
    for a, b in pairs:
        la, lb = layer_of(a), layer_of(b)
        if la is None or lb is None:
            bad.append(f"{a if la is None else b}: in no layer (add it to LAYERS)")
        elif RANK[lb] > RANK[la]:
            bad.append(f"{a} ({la}) imports {b} ({lb})")
    return sorted(set(bad))


def main() -> int:
    pairs = edges()
    between = Counter((layer_of(a), layer_of(b)) for a, b in pairs if layer_of(a) != layer_of(b))
    for layer, names in reversed(LAYERS):
        print(f"{layer:<9} {', '.join(names)}")
        for (la, lb), n in sorted(between.items(), key=lambda e: RANK.get(e[0][1], -1), reverse=True):
            if la == layer:
                print(f"{'':<9}  -> {lb} ({n} imports)")
    bad = upward(pairs)
    print("\n".join(["", "upward imports:", *bad]) if bad else "\nno upward import")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
