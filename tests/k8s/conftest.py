"""Shared helpers for the Kubernetes checks: rendering charts with the repository's own Helm."""

import pathlib
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
HELM = ROOT / "tools" / "bin" / "helm"
KUBERNETES_VERSION = "1.33.0"
CHARTS = ["microshop", "microshop-operator"]


def chart_dir(chart: str) -> pathlib.Path:
    return ROOT / "charts" / chart


def values_files(chart: str, folder: str) -> list[pathlib.Path]:
    return sorted((chart_dir(chart) / folder).glob("*.yaml"))


def helm(*args: str) -> subprocess.CompletedProcess:
    if not HELM.exists():
        pytest.fail("tools/bin/helm is missing: run scripts/k8s-tools.sh (make test does)")
    return subprocess.run([str(HELM), *args], capture_output=True, text=True, cwd=ROOT, check=False)


def render(chart: str, values: pathlib.Path, *extra: str, release: str = "t") -> list[dict]:
    """The manifests `helm template` renders, as dicts (empty documents dropped)."""
    result = helm("template", release, str(chart_dir(chart)), "-f", str(values), *extra)
    assert result.returncode == 0, f"helm template {chart} -f {values.name}:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def load_yaml(path: pathlib.Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
