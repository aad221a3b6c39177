# shellcheck shell=bash
# What the release scripts share (sourced, never run): the repository root,
# the workspace version every artefact carries, the OCI labels, and the tools.
#
# Tools: $CRANE, $HELM and $COSIGN name the binaries; unset, they are the ones
# tests/controlplane/build.sh builds from Go modules (the same the tests run).

set -euo pipefail

release_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Fails the script with one line on stderr.
die() {
  echo "$(basename "$0"): $*" >&2
  exit 1
}

# The workspace version: `version` of [package] in the root Cargo.toml (the
# operator package; the chart, the image labels and the CRDs carry the same).
workspace_version() {
  awk '
    /^\[/ { in_package = ($0 == "[package]") }
    in_package && $1 == "version" && $2 == "=" { gsub(/"/, "", $3); print $3; exit }
  ' "$release_root/Cargo.toml"
}

# `description` and `license` of [package] in the root Cargo.toml.
package_field() { # FIELD
  awk -v field="$1" '
    /^\[/ { in_package = ($0 == "[package]") }
    in_package && $1 == field && $2 == "=" { sub(/^[^=]*= *"/, ""); sub(/" *$/, ""); print; exit }
  ' "$release_root/Cargo.toml"
}

# The commit the artefacts are built from ($REVISION wins: CI sets it).
revision() {
  if [ -n "${REVISION:-}" ]; then
    echo "$REVISION"
  else
    git -C "$release_root" rev-parse HEAD
  fi
}

# Seconds since the epoch of that commit: the time stamp of every file the
# release writes into an archive, so the same source gives the same digests.
source_date_epoch() {
  if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    echo "$SOURCE_DATE_EPOCH"
  else
    git -C "$release_root" log -1 --format=%ct "$(revision)"
  fi
}

tools_dir() {
  if [ -z "${release_tools:-}" ]; then
    release_tools="$(bash "$release_root/tests/controlplane/build.sh")"
  fi
  echo "$release_tools"
}

# The path of tool NAME: $VARIABLE if set, else the Go-built one.
tool() { # VARIABLE NAME
  local configured="${!1:-}"
  if [ -n "$configured" ]; then
    echo "$configured"
  else
    echo "$(tools_dir)/$2"
  fi
}
