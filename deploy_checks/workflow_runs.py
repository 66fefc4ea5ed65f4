"""Write every `run:` block of GitHub workflows as a bash script, for shellcheck.

    python -m deploy_checks.workflow_runs OUT_DIR WORKFLOW.yml...

GitHub runs them with `bash -e`; a `${{ ... }}` expression becomes one word.
"""

import re
import sys
from pathlib import Path

import yaml

EXPRESSION = re.compile(r"\$\{\{[^}]*\}\}")


def run_blocks(workflow_path: Path) -> dict[str, str]:
    """Script name -> script text for each step with `run:`."""
    workflow = yaml.safe_load(workflow_path.read_text())
    scripts = {}
    for job_name, job in workflow.get("jobs", {}).items():
        for i, step in enumerate(job.get("steps", [])):
            if "run" in step:
                body = EXPRESSION.sub("GITHUB_EXPRESSION", step["run"])
                name = f"{workflow_path.name}-{job_name}-{i}.sh"
                scripts[name] = "#!/usr/bin/env bash\nset -e\n" + body
    return scripts


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    count = 0
    for workflow in argv[1:]:
        for name, text in run_blocks(Path(workflow)).items():
            (out / name).write_text(text)
            count += 1
    print(f"{count} run blocks")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
