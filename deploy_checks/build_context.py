"""Copy the Docker build context `.dockerignore` lets through, and check it holds the wheel.

python -m deploy_checks.build_context PROJECT_DIR DEST_DIR
"""

import os
import re
import shutil
import sys
import tomllib
from pathlib import Path

Rule = tuple[bool, re.Pattern[str]]  # (re-include?, pattern)
SKIPPED_DIRECTORIES = {".git", ".venv", ".tools", "node_modules"}
REQUIRED_FILES = ("pyproject.toml", "uv.lock", "README.md")


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go filepath.Match plus `**`) as a regular expression."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + "$")


def parse_rules(text: str) -> list[Rule]:
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rules.append((line.startswith("!"), pattern_regex(line.lstrip("!").strip("/"))))
    return rules


def excluded(relative: str, rules: list[Rule]) -> bool:
    """Docker's semantics: the last matching rule wins; a rule matching a parent directory
    matches everything below it."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for include, regex in rules:
        if any(regex.match(prefix) for prefix in prefixes):
            result = not include
    return result


def copy_context(root: Path, dest: Path) -> int:
    rules = parse_rules((root / ".dockerignore").read_text())
    copied = 0
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if d not in SKIPPED_DIRECTORIES]
        for name in files:
            relative = (Path(directory) / name).relative_to(root)
            if not excluded(relative.as_posix(), rules):
                (dest / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / relative, dest / relative)
                copied += 1
    return copied


def wheel_packages(root: Path) -> list[str]:
    project = tomllib.loads((root / "pyproject.toml").read_text())
    packages: list[str] = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    return packages


def missing_from_context(root: Path, dest: Path) -> list[str]:
    missing = [p for p in wheel_packages(root) if not (dest / p).is_dir()]
    return missing + [f for f in REQUIRED_FILES if not (dest / f).exists()]


def main(argv: list[str]) -> int:
    root, dest = Path(argv[0]), Path(argv[1])
    copied = copy_context(root, dest)
    missing = missing_from_context(root, dest)
    if missing:
        print(f".dockerignore keeps these out of the build context: {missing}", file=sys.stderr)
        return 1
    print(f"build context: {copied} files, packages {wheel_packages(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
