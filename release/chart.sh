#!/usr/bin/env bash
# The charts as OCI artifacts, the recipe the release and the tests both run:
#
#   release/chart.sh REGISTRY [IMAGE]
#
# Packages charts/zpa-operator-crds and charts/zpa-operator (crd-sources
# resolved) and pushes them to oci://REGISTRY/charts. IMAGE
# (REPOSITORY@sha256:..., the index `release/image.sh index` printed) becomes
# the operator chart's default image.repository and image.digest, so that
# `helm install zpa-operator oci://REGISTRY/charts/zpa-operator --version X`
# runs exactly the image released with it. Both charts' version and
# appVersion must be the workspace version. Prints one line per chart:
# REGISTRY/charts/NAME:VERSION@sha256:... ($HELM_PUSH_FLAGS, e.g.
# --plain-http for a registry on loopback, go to helm push).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -ge 1 ] && [ $# -le 2 ] || { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
registry=$1
image=${2:-}
helm=$(tool HELM helm)
version=$(workspace_version)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

chart_field() { # CHART FIELD
  awk -v field="$2:" '$1 == field { gsub(/"/, "", $2); print $2; exit }' "$release_root/charts/$1/Chart.yaml"
}

# Replaces the one line `  KEY: ""` of values.yaml's image block.
set_image_value() { # VALUES KEY VALUE
  local count
  count=$(grep -c "^  $2: \"\"$" "$1" || true)
  [ "$count" = 1 ] || die "values.yaml has $count lines '  $2: \"\"', expected one"
  sed -i "s|^  $2: \"\"$|  $2: \"$3\"|" "$1"
}

for chart in zpa-operator-crds zpa-operator; do
  for field in version appVersion; do
    found=$(chart_field "$chart" "$field")
    [ "$found" = "$version" ] || die "charts/$chart/Chart.yaml has $field $found, the workspace version is $version"
  done
  cp -RL "$release_root/charts/$chart" "$stage/$chart"
  if [ "$chart" = zpa-operator ] && [ -n "$image" ]; then
    case "$image" in *@sha256:*) ;; *) die "IMAGE must be REPOSITORY@sha256:..., not $image" ;; esac
    set_image_value "$stage/$chart/values.yaml" repository "${image%@*}"
    set_image_value "$stage/$chart/values.yaml" digest "${image#*@}"
  fi
  "$helm" package "$stage/$chart" --destination "$stage/out" >&2
  # shellcheck disable=SC2086 # HELM_PUSH_FLAGS is a list of flags
  pushed=$("$helm" push "$stage/out/$chart-$version.tgz" "oci://$registry/charts" ${HELM_PUSH_FLAGS:-} 2>&1) ||
    die "helm push $chart failed: $pushed"
  digest=$(echo "$pushed" | awk '$1 == "Digest:" { print $2 }')
  [ -n "$digest" ] || die "helm push $chart printed no digest: $pushed"
  echo "$registry/charts/$chart:$version@$digest"
done
