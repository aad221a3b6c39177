#!/usr/bin/env bash
# Installs Zscaler's official Python SDK, at the pinned version, into a
# virtual environment under cargo's target directory (not into the system's
# Python), for tests/simulator_sdk.rs; prints the environment's python:
#
#   tests/sdk/install.sh        # -> .../target/python-sdk/<version>/bin/python3
#
# Kept between runs; concurrent callers wait on one lock.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version="1.11.3"
cache="${CARGO_TARGET_DIR:-$root/target}/python-sdk"
venv="$cache/$version"

if ! command -v python3 >/dev/null 2>&1; then
  echo "tests/sdk/install.sh: python3 is not installed; install Python 3.10+ with pip and venv" >&2
  exit 127
fi
if [ -f "$venv/.complete" ]; then
  echo "$venv/bin/python3"
  exit 0
fi
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$venv/.complete" ]; then
  echo "$venv/bin/python3"
  exit 0
fi
rm -rf "$venv"
python3 -m venv "$venv" >&2
"$venv/bin/python3" -m pip install --quiet --disable-pip-version-check "zscaler-sdk-python==$version" >&2
"$venv/bin/python3" -c 'import zscaler.oneapi_client, zscaler.zpa.legacy'
touch "$venv/.complete"
echo "$venv/bin/python3"
