#!/usr/bin/env bash
# Checks the signatures and attestations release/sign.sh made:
#
#   release/verify.sh --key PUB REF...
#   release/verify.sh --identity REGEXP REF...
#       Each REF carries a valid signature by PUB (a cosign public key), or a
#       keyless one whose certificate was issued to a GitHub Actions workflow
#       identity matching REGEXP.
#   release/verify.sh (--key PUB | --identity REGEXP) --attestation TYPE REF
#       REF carries a valid TYPE attestation; prints its in-toto statement
#       (JSON, one line).
#
# With --key the transparency log is not consulted (release/sign.sh --key
# writes none). Exits non-zero when a check fails.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

flags=()
attestation=""
while [ $# -gt 0 ]; do
  case "$1" in
    --key) [ $# -ge 2 ] || usage; flags+=(--key "$2" --insecure-ignore-tlog=true); shift 2 ;;
    --identity)
      [ $# -ge 2 ] || usage
      flags+=(--certificate-identity-regexp "$2" --certificate-oidc-issuer https://token.actions.githubusercontent.com)
      shift 2
      ;;
    --attestation) [ $# -ge 2 ] || usage; attestation=$2; shift 2 ;;
    --*) usage ;;
    *) break ;;
  esac
done
[ ${#flags[@]} -gt 0 ] && [ $# -ge 1 ] || usage
cosign=$(tool COSIGN cosign)

if [ -z "$attestation" ]; then
  for ref in "$@"; do
    "$cosign" verify "${flags[@]}" "$ref" >/dev/null
    echo "verified $ref"
  done
else
  [ $# -eq 1 ] || usage
  envelope=$("$cosign" verify-attestation "${flags[@]}" --type "$attestation" "$1")
  # One DSSE envelope per line; its payload is the base64 in-toto statement.
  echo "$envelope" | while read -r line; do
    payload=${line#*\"payload\":\"}
    payload=${payload%%\"*}
    echo "$payload" | base64 -d
    echo
  done
fi
