#!/usr/bin/env bash
# Regenerates the `replace` block of go.mod from k8s.io/kubernetes's own go.mod:
# k8s.io/kubernetes requires each staging module at v0.0.0 and maps it to
# ./staging/src/..., which a consumer does not inherit (kubernetes/kubernetes#79384).
# Each staging module is pinned here at the v0.x.y matching the v1.x.y in use.
#
#   tests/controlplane/gen-replaces.sh        # rewrites go.mod in place, then `go mod tidy`
set -euo pipefail
cd "$(dirname "$0")"

k8s=$(awk '$1 == "k8s.io/kubernetes" { print $2 }' go.mod)
[ -n "$k8s" ] || { echo "gen-replaces.sh: go.mod requires no k8s.io/kubernetes" >&2; exit 1; }
staging="v0.${k8s#v1.}"
gomod=$(go mod download -json "k8s.io/kubernetes@$k8s" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
[ -f "$gomod" ] || { echo "gen-replaces.sh: no go.mod for k8s.io/kubernetes@$k8s" >&2; exit 1; }

block=$(awk -v v="$staging" '
  $2 == "=>" && $3 ~ /^\.\/staging\/src\// { printf "\t%s => %s %s\n", $1, $1, v }
' "$gomod")
[ -n "$block" ] || { echo "gen-replaces.sh: no staging replaces found in $gomod" >&2; exit 1; }

# Drop the old generated block, append the new one.
awk '/^\/\/ BEGIN generated staging replaces/ { skip = 1 } !skip { print } /^\/\/ END generated staging replaces/ { skip = 0 }' go.mod > go.mod.new
{
  printf '// BEGIN generated staging replaces (gen-replaces.sh, from k8s.io/kubernetes@%s)\n' "$k8s"
  printf 'replace (\n%s\n)\n' "$block"
  printf '// END generated staging replaces\n'
} >> go.mod.new
mv go.mod.new go.mod
go mod tidy
