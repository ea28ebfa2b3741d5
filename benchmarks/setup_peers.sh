#!/usr/bin/env bash
# Create the virtualenvs of the benchmark's peer servers under benchmarks/.venvs/.
# mlflow and fasttrackml are benchmark extras: they never go into aiotrack's own environment.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py="${PYTHON:-python3}"
mkdir -p "$here/.venvs"
for name in mlflow fml; do
  venv="$here/.venvs/$name"
  if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
  fi
  # fasttrackml's Python deps (an old mlflow client) are not needed: only its bundled Go binary `fml` is run.
  extra=""; [ "$name" = fml ] && extra="--no-deps"
  "$venv/bin/pip" install -q $extra -r "$here/requirements-peers-$name.txt" 2>&1 | { grep -v 'is ignored: it is neither' || true; }
done
echo "mlflow: $("$here/.venvs/mlflow/bin/mlflow" --version)"
echo "fml:    $("$here/.venvs/fml/bin/fml" --version 2>&1 | head -1)"
