#!/usr/bin/env bash
# Builds the Go test tools of go.mod's `tool` block, and of the release tools'
# module (../releasetools/go.mod: crane, cosign, actionlint, a module of its own
# so that their version selection does not move the control plane's pins),
# into one cache directory keyed by both modules' go.mod and go.sum and this
# script, so a warm machine does not rebuild:
#
#   tests/controlplane/build.sh            # prints the directory holding the binaries
#
# The directory is controlplane/<key>/ under cargo's target directory
# ($CARGO_TARGET_DIR, else target/ at the workspace root). A build goes to a temporary directory first and
# is renamed into place only when every tool built, so a half-built cache is never
# used. Concurrent callers wait on one lock.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${CARGO_TARGET_DIR:-$root/target}/controlplane"

release_tools="$root/tests/releasetools"
key=$(cat "$here/go.mod" "$here/go.sum" "$release_tools/go.mod" "$release_tools/go.sum" "$here/build.sh" | sha256sum | cut -c1-16)
out="$cache/$key"
if [ -f "$out/.complete" ]; then
  echo "$out"
  exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$out/.complete" ]; then
  echo "$out"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "tests/controlplane/build.sh: Go is not installed; install Go 1.26 (https://go.dev/dl/) to build the Kubernetes control plane the tests run on" >&2
  exit 127
fi

k8s=$(awk '$1 == "k8s.io/kubernetes" { print $2 }' "$here/go.mod")
minor=${k8s#v1.}; minor=${minor%%.*}
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"

tmp="$cache/.building-$key-$$"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

start=$(date +%s)
echo "tests/controlplane/build.sh: building the test tools ($k8s) into $out; a cold build takes several minutes" >&2
cd "$here"
# One `go build` per tool: the binary names differ from the package paths' last element.
build() { # NAME PACKAGE [EXTRA LDFLAGS]
  local began
  began=$(date +%s)
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags ${3:-}" -o "$tmp/$1" "$2"
  echo "  built $1 ($(( $(date +%s) - began )) s)" >&2
}
build etcd go.etcd.io/etcd/server/v3
build etcdctl go.etcd.io/etcd/etcdctl/v3
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
build kubectl k8s.io/kubernetes/cmd/kubectl
# The tools that check what users' tools see: Prometheus rules, offline schema
# validation, Argo CD's Lua health checks, Flux's kstatus.
build promtool github.com/prometheus/prometheus/cmd/promtool
build kubeconform github.com/yannh/kubeconform/cmd/kubeconform
build argocd-health ./cmd/argocd-health
build kstatus ./cmd/kstatus
# Helm, stamped as its own Makefile does: its version, and the Kubernetes
# version `helm template` assumes without a cluster (otherwise v1.20, below the
# charts' kubeVersion).
helm=$(awk '$1 == "helm.sh/helm/v3" { print $2 }' "$here/go.mod")
build helm helm.sh/helm/v3/cmd/helm "-X helm.sh/helm/v3/internal/version.version=$helm -X helm.sh/helm/v3/internal/version.gitTreeState=clean -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor"

# The release tools (release/*.sh and tests/release.rs run them), from their
# own module, stamped with their versions as their own release builds do.
cd "$release_tools"
version_of() { awk -v module="$1" '$1 == module { print $2 }' go.mod; }
ldflags="-s -w"
build crane github.com/google/go-containerregistry/cmd/crane \
  "-X github.com/google/go-containerregistry/cmd/crane/cmd.Version=$(version_of github.com/google/go-containerregistry)"
build cosign github.com/sigstore/cosign/v3/cmd/cosign \
  "-X sigs.k8s.io/release-utils/version.gitVersion=$(version_of github.com/sigstore/cosign/v3)"
build actionlint github.com/rhysd/actionlint/cmd/actionlint \
  "-X github.com/rhysd/actionlint.version=$(version_of github.com/rhysd/actionlint)"

echo "tests/controlplane/build.sh: built in $(( $(date +%s) - start )) s" >&2
touch "$tmp/.complete"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
# Builds for other versions of go.mod are of no further use here.
find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$key" ! -name ".building-*" -exec rm -rf {} +
echo "$out"
