#!/usr/bin/env bash
#===- scripts/setup-venv.sh - Create the project's Python venv -------------===#
#
# Creates .venv (git-ignored) and installs scripts/requirements.txt into it.
# Skips pip entirely when the requirements file has not changed since the last
# successful install (a stamp file inside the venv records its hash).
#
#===------------------------------------------------------------------------===#
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
req="$root/scripts/requirements.txt"
stamp="$venv/.requirements.sha256"

python=${PYTHON:-}
if [ -z "$python" ]; then
  # Prefer Debian's interpreter: it has the venv module installed above.
  if [ -x /usr/bin/python3 ]; then python=/usr/bin/python3; else python=python3; fi
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "setup-venv: creating $venv"
  "$python" -m venv "$venv"
fi

want=$(sha256sum "$req" | cut -d' ' -f1)
have=$(cat "$stamp" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  echo "setup-venv: installing Python test tools"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -r "$req"
  echo "$want" > "$stamp"
else
  echo "setup-venv: Python test tools present"
fi
