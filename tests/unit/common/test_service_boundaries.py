"""No service package imports another's: services share events and ask each other's
APIs, never each other's code or tables. ``services.common`` is shared by all;
``services.devstack`` starts them all and may import any."""
import ast

from tests.support.system import ROOT

SERVICES_DIR = ROOT / "services"
SHARED = {"common"}


def packages(services_dir=SERVICES_DIR):
    return sorted(path.name for path in services_dir.iterdir() if (path / "__init__.py").is_file())


def imported_modules(path, package, services_dir):
    """The ``services.*`` modules a file imports (relative imports resolved), with the
    lines that import them."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = ["services", package, *path.relative_to(services_dir / package).parent.parts]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names = [module, *(f"{module}.{alias.name}" for alias in node.names)]
        else:
            continue
        yield from ((name, node.lineno) for name in names if name.startswith("services."))


def crossings(package, services_dir=SERVICES_DIR):
    """``[(file:line, module)]``: where ``package`` imports another service's package."""
    found = []
    for path in sorted((services_dir / package).rglob("*.py")):
        for module, line in imported_modules(path, package, services_dir):
            other = module.split(".")[1]
            if other != package and other not in SHARED:
                found.append((f"{path.relative_to(services_dir.parent)}:{line}", module))
    return found


def test_every_service_package_is_checked():
    assert {"admin", "common", "intake", "notify", "reporting", "routing"} <= set(packages())


def test_no_service_package_imports_another_services_package():
    for package in packages():
        assert crossings(package) == [], f"{package} imports another service's package"


def test_the_check_sees_an_import_of_another_service(tmp_path):
    root = tmp_path / "services"
    (root / "admin" / "use_cases").mkdir(parents=True)
    (root / "admin" / "__init__.py").write_text("")
    (root / "admin" / "use_cases" / "__init__.py").write_text(
        "from services.common import config\nfrom ... import routing\n"
        "from ..cli import main\nimport services.reporting.store\n")
    assert packages(root) == ["admin"]
    assert crossings("admin", root) == [("services/admin/use_cases/__init__.py:2", "services.routing"),
                                  ("services/admin/use_cases/__init__.py:4", "services.reporting.store")]
