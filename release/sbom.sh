#!/usr/bin/env bash
# The SBOM of the operator's Rust dependency tree, the recipe the release and
# the tests both run:
#
#   release/sbom.sh TARGET OUT
#
# CycloneDX 1.5 JSON from cargo-cyclonedx (`cargo install cargo-cyclonedx
# --locked`; .ci/run installs the pinned version) for the Rust target TARGET
# (x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu): the zpa-operator
# package and every crate it links, at the versions of Cargo.lock, without
# dev- and build-only dependencies. Written to OUT.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 2 ] || { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
target=$1
out=$2
cargo cyclonedx --version >/dev/null 2>&1 ||
  die "cargo-cyclonedx is not installed: cargo install cargo-cyclonedx --version 0.5.9 --locked"

# cargo-cyclonedx writes NAME.json next to every workspace member's
# Cargo.toml: a name of this run's own, the root's kept, the others removed.
name="sbom-$$.tmp"
cleanup() { find "$release_root" -name "$name.json" -not -path '*/target/*' -delete; }
trap cleanup EXIT
SOURCE_DATE_EPOCH=$(source_date_epoch) cargo cyclonedx --manifest-path "$release_root/Cargo.toml" \
  --format json --spec-version 1.5 --all --no-build-deps --target "$target" \
  --override-filename "$name" --quiet >&2
mv "$release_root/$name.json" "$out"
