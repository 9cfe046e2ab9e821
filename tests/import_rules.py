"""Import rules the layering tests share: which modules a file imports, and which of them break a layer."""

import ast
from pathlib import Path

FORBIDDEN = ("dagster", "dagster_postgres", "dagster_webserver", "mlflow", "duckdb")


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement of the file names, wherever the statement is (functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: use absolute imports"
            names.add(node.module or "")
    return names


def is_forbidden(module: str) -> bool:
    top = module.split(".")[0]
    return top in FORBIDDEN or top.startswith("dagster")
