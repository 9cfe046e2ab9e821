"""The modelling package is pure: no orchestration, tracking or warehouse code, so it runs in a notebook, a test or
the serving process without Dagster, MLflow or DuckDB."""

import ast
import graphlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import f1_pipeline.modeling
import f1_serving
from f1_pipeline.registry.tracking import MODEL_CODE
from tests.import_rules import imported_modules, is_forbidden

PACKAGE = Path(f1_pipeline.modeling.__file__).parent
SOURCES = sorted(PACKAGE.glob("*.py"))


def test_the_package_has_the_expected_modules():
    names = {path.stem for path in SOURCES}
    assert {
        "field",
        "feature_matrix",
        "estimators",
        "backtest",
        "tuning",
        "candidates",
        "training",
        "promotion",
        "elo",
    } <= names


DECLARATIONS = ("f1_pipeline.tables", "f1_pipeline.contracts")
"""Where tables are named and their columns declared: leaves below every package, the modelling one included, so
the code that writes a table declares it."""


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_no_module_imports_dagster_mlflow_or_duckdb(path):
    modules = imported_modules(path)
    assert not [module for module in modules if is_forbidden(module)]
    project = {module for module in modules if module.split(".")[0] in ("f1_pipeline", "f1_serving")}
    assert all(module.startswith("f1_pipeline.modeling.") or module in DECLARATIONS for module in project), project


@pytest.mark.parametrize("module", DECLARATIONS)
def test_the_declarations_import_nothing_of_the_project_and_travel_with_a_logged_model(module):
    """A logged model carries the modelling code and what it imports, so it loads where the project is not
    installed: the declarations must be in its code and must pull in nothing more."""
    path = Path(__file__).parents[3] / (module.replace(".", "/") + ".py")
    assert not [name for name in imported_modules(path) if name.split(".")[0] in ("f1_pipeline", "f1_serving")]
    assert path.name in MODEL_CODE


def test_importing_the_whole_package_loads_none_of_them():
    modules = [f"f1_pipeline.modeling.{path.stem}" for path in SOURCES if path.stem != "__init__"]
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    loaded = json.loads(completed.stdout)
    assert set(modules) <= set(loaded)
    assert not [module for module in loaded if is_forbidden(module)]


SERVING_SOURCES = sorted(Path(f1_serving.__file__).parent.rglob("*.py"))
SERVING_FORBIDDEN = ("dagster", "duckdb", "f1_pipeline.defs", "f1_pipeline.warehouse", "f1_pipeline.definitions")


@pytest.mark.parametrize("path", SERVING_SOURCES, ids=lambda path: path.name)
def test_the_api_never_touches_the_warehouse_or_dagster(path):
    """The API reads what the pipeline publishes; the DuckDB warehouse belongs to the pipeline's one writer."""
    modules = imported_modules(path)
    assert not [module for module in modules if module.startswith(SERVING_FORBIDDEN)], path


SERVING = Path(f1_serving.__file__).parent
SHARED_WORDING = "dashboard.formatting"
"""How numbers and dates are written for people: a leaf module the freshness rule and the CLI share with the
dashboard, so it counts as a room of its own."""
ROOM_IMPORTS: dict[str, set[str]] = {
    "settings": set(),
    "field_docs": set(),
    SHARED_WORDING: set(),
    "accounts": set(),
    "errors": {"field_docs"},
    "schemas": {"accounts", "field_docs"},
    "freshness": {SHARED_WORDING},
    "guards": {"errors", "settings"},
    "served": {"errors", "schemas", "freshness"},
    "runtime": {"settings", "accounts", "guards", "served"},
    "deps": {"settings", "errors", "accounts", "guards", "served", "runtime"},
    "repeated_answers": {"errors", "guards", "served", "runtime", "deps"},
    "docs": {"guards"},
    "routes": {"settings", "errors", "schemas", "accounts", "served", "deps"},
    "dashboard": {SHARED_WORDING, "freshness", "schemas", "served", "runtime", "deps"},
    "main": {"settings", "errors", "guards", "runtime", "repeated_answers", "docs", "routes", "dashboard"},
}
"""What each room of the serving package may import from the others. The parts (accounts, guards, served) know
nothing of the web pages or routers that use them; `runtime` and `deps` hold them together for the routes; only
`main` sees every room. A room is a folder (`accounts/`, `guards/`, ...) or a module at the package's top."""


def room_of(module: str) -> str:
    """The room of a dotted `f1_serving.` module name, or of a path inside the package."""
    parts = module.split(".")[1:]
    dotted = ".".join(parts)
    if dotted == SHARED_WORDING or dotted.startswith(f"{SHARED_WORDING}."):
        return SHARED_WORDING
    return parts[0]


def serving_module(path: Path) -> str:
    relative = path.relative_to(SERVING.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def serving_imports(path: Path) -> set[str]:
    return {module for module in imported_modules(path) if module.split(".")[0] == "f1_serving"}


ROOM_SOURCES = [path for path in SERVING_SOURCES if path != SERVING / "__init__.py"]


def test_every_module_of_the_serving_package_is_in_a_room():
    rooms = {room_of(serving_module(path)) for path in ROOM_SOURCES}
    assert rooms == set(ROOM_IMPORTS)


def test_the_rooms_import_one_another_one_way_only():
    graphlib.TopologicalSorter(ROOM_IMPORTS).prepare()  # raises CycleError on a cycle


@pytest.mark.parametrize("path", ROOM_SOURCES, ids=serving_module)
def test_each_room_imports_only_the_rooms_it_may(path):
    room = room_of(serving_module(path))
    reached = {room_of(module) for module in serving_imports(path) if module != "f1_serving"} - {room}
    assert reached <= ROOM_IMPORTS[room], f"{serving_module(path)} imports {sorted(reached - ROOM_IMPORTS[room])}"


def test_no_module_of_the_serving_package_imports_itself_back():
    """No cycle between modules either, imports inside functions included."""
    modules = {serving_module(path) for path in ROOM_SOURCES}
    graph = {serving_module(path): _imported_serving_modules(path, modules) for path in ROOM_SOURCES}
    graphlib.TopologicalSorter(graph).prepare()


def _imported_serving_modules(path: Path, modules: set[str]) -> set[str]:
    """The package's modules the file imports, `from package import module` resolved to the module."""
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module in modules:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & modules
            imported |= submodules or {node.module}
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names} & modules
    return imported - {serving_module(path)}


def _imported_names(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == module
        for alias in node.names
    }


@pytest.mark.parametrize("path", ROOM_SOURCES, ids=serving_module)
def test_only_the_routes_build_routers(path):
    """Endpoints live in `routes/` (the API) and `dashboard/routes.py` (the pages); every other module is logic or
    wiring a route calls."""
    module = serving_module(path)
    builds_routers = "APIRouter" in _imported_names(path, "fastapi") | _imported_names(path, "fastapi.routing")
    assert builds_routers == (room_of(module) == "routes" or module == "f1_serving.dashboard.routes"), module
