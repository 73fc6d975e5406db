"""The CI definitions and shell scripts are checked offline: actionlint over the GitHub workflows
(with shellcheck over their `run:` blocks), shellcheck over scripts/*.sh and .ci/run, and the
assumptions of scripts/e2e-kind.sh (which needs Docker and kind, so it runs on GitHub Actions,
not here). Each linter is also shown to fail on a deliberately broken input, so a green run
means the linter really looked."""

import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, chart_dir, helm, load_yaml

WORKFLOWS = sorted([*ROOT.glob(".github/workflows/*.yml"), *ROOT.glob(".github/workflows/*.yaml")])
SHELL_SCRIPTS = [*sorted(ROOT.glob("scripts/*.sh")), ROOT / ".ci" / "run"]
E2E = ROOT / "scripts" / "e2e-kind.sh"


def actionlint() -> str:
    """The actionlint of the venv running the tests (scripts/k8s-tools.sh installs it)."""
    for folder in (pathlib.Path(sys.executable).parent, ROOT / "tools" / "venv" / "bin"):
        if (folder / "actionlint").exists():
            return str(folder / "actionlint")
    pytest.fail("actionlint is missing from tools/venv: run scripts/k8s-tools.sh (make charts does)")


def shellcheck() -> str:
    path = shutil.which("shellcheck")
    if not path:
        pytest.fail("shellcheck is not installed: run scripts/deps.sh (make deps; make test runs it)")
    return path


def run_actionlint(*files: pathlib.Path) -> subprocess.CompletedProcess:
    # shellcheck explicitly (a missing one would silently skip the run: blocks), pyflakes off.
    return subprocess.run(
        [actionlint(), "-no-color", "-shellcheck", shellcheck(), "-pyflakes", "", *map(str, files)],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=120)


def run_shellcheck(*files: pathlib.Path) -> subprocess.CompletedProcess:
    # From the repository root, so `source scripts/services.sh` resolves under -x.
    return subprocess.run([shellcheck(), "-x", *map(str, files)],
                          capture_output=True, text=True, cwd=ROOT, check=False, timeout=120)


def test_the_workflows_pass_actionlint():
    assert WORKFLOWS, "no workflow in .github/workflows"
    result = run_actionlint(*WORKFLOWS)
    assert result.returncode == 0 and not result.stdout.strip(), \
        f"actionlint findings (exit {result.returncode}):\n{result.stdout}{result.stderr}"


def test_actionlint_reports_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on:\n"
        "  push:\n"
        "    branch: main\n"  # the key is `branches`
        "jobs:\n"
        "  test:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - run: echo $GREETING\n")  # unquoted: shellcheck's SC2086
    result = run_actionlint(broken)
    assert result.returncode != 0, result.stdout
    assert 'unexpected key "branch"' in result.stdout, result.stdout
    assert "SC2086" in result.stdout, f"shellcheck did not check the run: block:\n{result.stdout}"


def test_the_shell_scripts_pass_shellcheck():
    assert E2E in SHELL_SCRIPTS and len(SHELL_SCRIPTS) > 5, SHELL_SCRIPTS
    result = run_shellcheck(*SHELL_SCRIPTS)
    assert result.returncode == 0 and not result.stdout.strip(), \
        f"shellcheck findings (exit {result.returncode}):\n{result.stdout}{result.stderr}"


def test_shellcheck_reports_an_unquoted_variable(tmp_path):
    script = tmp_path / "unquoted.sh"
    script.write_text('#!/usr/bin/env bash\nrm -f $1\n')
    result = run_shellcheck(script)
    assert result.returncode != 0, result.stdout
    assert "SC2086" in result.stdout, result.stdout


def workflow_jobs() -> dict:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers), triggers
    return workflow["jobs"]


def test_the_workflow_runs_the_project_ci_and_the_kind_test_bounded():
    jobs = workflow_jobs()
    assert {"test", "e2e-kind"} <= set(jobs), set(jobs)
    runs = {name: "\n".join(step.get("run", "") for step in job["steps"]) for name, job in jobs.items()}
    assert "bash .ci/run" in runs["test"]
    assert "bash scripts/e2e-kind.sh" in runs["e2e-kind"]
    assert jobs["test"]["timeout-minutes"] == 90
    for name, job in jobs.items():
        assert 0 < job["timeout-minutes"] <= 90, name
        for step in job["steps"]:
            if "uses" in step:
                assert re.search(r"@(v\d+(\.\d+)*|stable|[0-9a-f]{40})$", step["uses"]), \
                    f"{name}: {step['uses']} is not pinned to a version"


def test_the_kind_test_uses_files_that_exist():
    text = E2E.read_text()
    for path in ["k8s/kind-config.yaml", "k8s/dev/postgres.yaml", "k8s/dev/rabbitmq.yaml",
                 "charts/microshop-operator", "k8s/samples/microshop.yaml", "scripts/walkthrough.sh"]:
        assert path in text and (ROOT / path).exists(), path
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE))
    for target in re.findall(r"docker build --target (\S+)", text):
        assert target in stages, target
    assert re.findall(r"docker build --target (\S+)", text) == ["microshop", "microshop-operator"]


def test_the_sample_runs_the_image_the_operator_is_installed_with():
    """The kind test installs the chart with shopImage=microshop:<tag> and expects the sample
    Microshop's Deployments to run that image: the sample must not pin spec.image."""
    shops = [doc for doc in load_yaml(ROOT / "k8s" / "samples" / "microshop.yaml") if doc["kind"] == "Microshop"]
    assert [shop["metadata"]["name"] for shop in shops] == ["shop"]
    assert "image" not in shops[0]["spec"], "k8s/samples/microshop.yaml pins spec.image"
    assert shops[0]["spec"].get("deletionPolicy", "Retain") == "Retain"


def test_the_operator_chart_takes_the_values_the_kind_test_sets():
    """The values of the kind test's `helm upgrade --install` are accepted (values.schema.json)
    and reach the operator: its image, and the shop image as MICROSHOP_IMAGE."""
    result = helm("template", "microshop-operator", str(chart_dir("microshop-operator")),
                  "-n", "microshop-system", "--set", "image.repository=microshop-operator",
                  "--set", "image.tag=e2e-abc", "--set", "shopImage=microshop:e2e-abc")
    assert result.returncode == 0, result.stderr
    deployment = next(doc for doc in yaml.safe_load_all(result.stdout) if doc and doc["kind"] == "Deployment")
    assert deployment["metadata"]["name"] == "microshop-operator"  # the script reads its logs
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "microshop-operator:e2e-abc"
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert env.get("MICROSHOP_IMAGE") == "microshop:e2e-abc", env
