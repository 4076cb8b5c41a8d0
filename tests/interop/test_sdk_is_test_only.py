"""The CloudEvents SDK is a test dependency: no module of the product needs it.

``cloudevents`` is in the ``test`` extra, not in ``[project] dependencies``, so an installed
receiver does not have it. Every module of every product package is imported in a fresh
interpreter in which importing ``cloudevents`` fails, which catches an import however indirect.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

IMPORT_EVERYTHING_WITHOUT_THE_SDK = """
import importlib, importlib.abc, pkgutil, sys

class NoSdk(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "cloudevents" or name.startswith("cloudevents."):
            raise ImportError(f"{name} is a test dependency")
        return None

sys.meta_path.insert(0, NoSdk())
for package_name in sys.argv[1:]:
    package = importlib.import_module(package_name)
    for module in pkgutil.walk_packages(package.__path__, package_name + "."):
        importlib.import_module(module.name)
"""


def _product_packages() -> list[str]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns: list[str] = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    return [pattern.rstrip("*") for pattern in patterns]


def test_every_product_module_imports_without_the_sdk() -> None:
    packages = _product_packages()
    assert "receiver" in packages
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING_WITHOUT_THE_SDK, *packages],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_sdk_is_not_a_runtime_dependency() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = [requirement.split("==")[0] for requirement in project["dependencies"]]
    test_extra = [
        requirement.split("==")[0] for requirement in project["optional-dependencies"]["test"]
    ]
    assert "cloudevents" not in runtime
    assert "cloudevents" in test_extra
