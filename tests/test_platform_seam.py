"""The platform seam: nothing outside ``integrations/`` imports a platform package.

The rest of Comeback asks ``integrations.platforms`` (the registry and the adapter interface) for
what a platform does; only ``integrations/`` itself, the sandboxes, the benches and the tests may reach into
``integrations.shopify`` or ``integrations.woocommerce``.  Adding a platform is then one folder
under ``integrations/``, one under ``sandbox/`` and one line in ``INSTALLED_APPS`` (a string, not
an import, so settings are allowed to name it).
"""

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Top-level folders that may import a platform package (or are not ours): the platforms themselves,
#: their sandboxes, the tests, and the benches (which measure a platform's own code paths, e.g.
#: Shopify's bulk-file ingest, on purpose).
ALLOWED = {"integrations", "sandbox", "tests", "bench", ".venv", "node_modules", ".git", "var"}
#: Every platform package: a folder under integrations/ with an apps.py (its Django app).
PLATFORMS = sorted(
    f"integrations.{path.parent.name}" for path in (ROOT / "integrations").glob("*/apps.py")
)


def modules() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in ALLOWED or any(part.startswith(".") for part in relative.parts):
            continue
        yield path


def is_platform(name: str) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in PLATFORMS)


def platform_imports(source: str, where: str) -> list[str]:
    """``import integrations.shopify``, ``from integrations.shopify.x import y``,
    ``from integrations import shopify`` and ``import_module("integrations.shopify...")``, each as
    ``<where>:<line> <module>``."""
    tree = ast.parse(source, filename=where)
    found: list[str] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if is_platform(node.module) else [f"{node.module}.{a.name}" for a in node.names]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")):
            names = [node.args[0].value]
        found += [f"{where}:{node.lineno} {name}" for name in names if is_platform(name)]
    return found


def test_the_platform_packages_are_found() -> None:
    # the test would pass vacuously if it looked for nothing
    assert {"integrations.shopify", "integrations.woocommerce"} <= set(PLATFORMS)
    assert sum(1 for _ in modules()) > 50
    assert is_platform("integrations.shopify.oauth") and not is_platform("integrations.shopifyish")


def test_the_detector_sees_every_import_form() -> None:
    sample = (
        "import integrations.shopify.oauth\n"
        "from integrations.woocommerce.client import Client\n"
        "from integrations import shopify\n"
        "import importlib\n"
        "importlib.import_module('integrations.woocommerce.sync')\n"
        "from integrations import platforms\n"
        "from integrations.platforms import adapter_for\n"
    )
    assert platform_imports(sample, "sample.py") == [
        "sample.py:1 integrations.shopify.oauth", "sample.py:2 integrations.woocommerce.client",
        "sample.py:3 integrations.shopify", "sample.py:5 integrations.woocommerce.sync"]


def test_nothing_outside_integrations_imports_a_platform_package() -> None:
    leaks = [leak for path in modules()
             for leak in platform_imports(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert leaks == [], "modules outside integrations/ import a platform package:\n" + "\n".join(leaks)
