"""Run by the image's own interpreter: every entry point imports without dev or test packages.

    /path/to/image-venv/bin/python deploy_checks/image_imports.py

Standard library only, so it runs in the runtime environment the Dockerfile builds.
"""

import ast
import importlib
import importlib.util
import sys

ABSENT = ("mongomock", "mongomock_motor", "pytest", "ruff", "mypy")
ENTRY_POINTS = ("command_service", "query_service", "query_service.projector")


def imported_modules(source: str) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def main() -> int:
    present = [name for name in ABSENT if importlib.util.find_spec(name) is not None]
    if present:
        print(f"installed in the image environment: {present}", file=sys.stderr)
        return 1
    imported: set[str] = set()
    for package in ENTRY_POINTS:
        spec = importlib.util.find_spec(package + ".__main__")
        if not spec or not spec.origin or "site-packages" not in spec.origin:
            print(f"python -m {package}: not installed as a wheel", file=sys.stderr)
            return 1
        with open(spec.origin) as source:
            modules = imported_modules(source.read())
        for module in sorted(modules):
            importlib.import_module(module)
        imported |= modules
    print(f"entry points {', '.join(ENTRY_POINTS)} import cleanly: {sorted(imported)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
