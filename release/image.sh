#!/usr/bin/env bash
# The operator image, the one recipe the release and the tests both run
# (crane, from go-containerregistry; no Docker):
#
#   release/image.sh platform BASE REPOSITORY PLATFORM BINARY
#       BASE (a reference; its PLATFORM image when BASE is an index) plus one
#       layer holding BINARY as /zpa-operator; user 65532:65532, entrypoint
#       ["/zpa-operator"], cmd ["run"], the OCI labels (title, description,
#       licenses, source, version, revision) and PLATFORM (linux/amd64,
#       linux/arm64) in its config. Pushed by digest to REPOSITORY; prints
#       REPOSITORY@sha256:...
#   release/image.sh index REPOSITORY TAG IMAGE...
#       The multi-arch index of the IMAGEs (REPOSITORY@sha256:... lines of
#       `platform`), pushed as REPOSITORY:TAG; prints REPOSITORY@sha256:...
#       of the index.
#
# The release runs it on gcr.io/distroless/cc-debian12:nonroot (see the
# README); the tests on a base they make, and differ from the release in
# BASE alone. $SOURCE_URL is the repository's web address (the `source`
# label); the version is the workspace's, the revision HEAD's ($REVISION
# wins), the layer's time stamps those of that commit.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# The ELF machine of BINARY must be PLATFORM's architecture.
check_architecture() { # BINARY PLATFORM
  local machine expected
  machine=$(od -An -tx1 -j18 -N2 "$1" | tr -d ' \n')
  case "${2#linux/}" in
    amd64) expected=3e00 ;;
    arm64) expected=b700 ;;
    *) die "unsupported platform $2 (linux/amd64 or linux/arm64)" ;;
  esac
  [ "$machine" = "$expected" ] || die "$1 is not a $2 binary (ELF machine $machine)"
}

platform_image() { # BASE REPOSITORY PLATFORM BINARY
  local base=$1 repository=$2 platform=$3 binary=$4
  [ -f "$binary" ] && [ -x "$binary" ] || die "$binary is not an executable file"
  [ -n "${SOURCE_URL:-}" ] || die "SOURCE_URL is not set (the repository's web address, for the source label)"
  check_architecture "$binary" "$platform"
  local crane version epoch stage
  crane=$(tool CRANE crane)
  version=$(workspace_version)
  epoch=$(source_date_epoch)
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' RETURN
  install -m 0755 "$binary" "$stage/zpa-operator"
  # One file, owned by root and not writable by the nonroot user, stamped with
  # the commit's time so the same binary gives the same layer digest.
  tar --create --file "$stage/layer.tar" --directory "$stage" --format=gnu \
    --owner=0 --group=0 --numeric-owner --mtime="@$epoch" zpa-operator
  local labels=(
    "org.opencontainers.image.title=zpa-operator"
    "org.opencontainers.image.description=$(package_field description)"
    "org.opencontainers.image.licenses=$(package_field license)"
    "org.opencontainers.image.source=$SOURCE_URL"
    "org.opencontainers.image.version=$version"
    "org.opencontainers.image.revision=$(revision)"
  )
  local label_flags=()
  for label in "${labels[@]}"; do
    # crane reads each --label as comma-separated pairs.
    case "$label" in *,*) die "a label value holds a comma: $label" ;; esac
    label_flags+=(--label "$label")
  done
  "$crane" mutate "$base" --platform "$platform" --append "$stage/layer.tar" \
    --user 65532:65532 --entrypoint /zpa-operator --cmd run \
    "${label_flags[@]}" --set-platform "$platform" --repo "$repository"
}

index_image() { # REPOSITORY TAG IMAGE...
  local repository=$1 tag=$2
  shift 2
  [ $# -gt 0 ] || usage
  local manifests=()
  for image in "$@"; do
    case "$image" in "$repository"@sha256:*) ;; *) die "$image is not $repository@sha256:..." ;; esac
    manifests+=(--manifest "$image")
  done
  "$(tool CRANE crane)" index append "${manifests[@]}" --tag "$repository:$tag"
}

case "${1:-}" in
  platform) [ $# -eq 5 ] || usage; platform_image "$2" "$3" "$4" "$5" ;;
  index) [ $# -ge 4 ] || usage; shift; index_image "$@" ;;
  *) usage ;;
esac
