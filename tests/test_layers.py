"""The layering of the package: the core imports nothing else of the project, the framework no pipeline,
and no pipeline another pipeline (reuse is composition, through the catalog)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "bank_segmentation"


def imports_of(path: Path) -> set[str]:
    """Every bank_segmentation module a file imports; a relative import reaching out of its folder counts too."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level > 1:  # `from ..other import x` leaves the folder
            found.add("bank_segmentation." + "." * node.level + (node.module or ""))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bank_segmentation"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("bank_segmentation"))
    return found


def modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def test_the_core_imports_nothing_else_of_the_project():
    offending = {
        str(path.relative_to(PACKAGE)): sorted(
            m for m in imports_of(path) if not m.startswith("bank_segmentation.core")
        )
        for path in modules("core")
    }
    assert not {k: v for k, v in offending.items() if v}


def test_the_framework_imports_no_pipeline():
    offending = {
        str(path.relative_to(PACKAGE)): sorted(
            m for m in imports_of(path) if m.startswith("bank_segmentation.pipelines")
        )
        for path in modules("framework")
    }
    assert not {k: v for k, v in offending.items() if v}


def test_no_pipeline_imports_another_pipeline():
    offending = {}
    for path in modules("pipelines"):
        own = path.relative_to(PACKAGE / "pipelines").parts[0]
        others = sorted(
            m
            for m in imports_of(path)
            if (m.startswith("bank_segmentation.pipelines.") and m.split(".")[2] != own) or ".." in m
        )
        if others:
            offending[str(path.relative_to(PACKAGE))] = others
    assert not offending


def test_the_spark_engine_imports_only_the_core():
    offending = {
        str(path.relative_to(PACKAGE)): sorted(
            m for m in imports_of(path) if not m.startswith(("bank_segmentation.core", "bank_segmentation.spark"))
        )
        for path in modules("spark")
    }
    assert not {k: v for k, v in offending.items() if v}


def test_pyspark_is_imported_only_by_the_spark_engine_and_its_session():
    allowed = {PACKAGE / "framework" / "spark_session.py", *modules("spark")}
    importing = set()
    for path in set(PACKAGE.rglob("*.py")) - allowed:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(name.split(".")[0] == "pyspark" for name in names):
                importing.add(str(path.relative_to(PACKAGE)))
    assert not importing  # the pandas engine runs without the spark extra
