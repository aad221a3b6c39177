#!/usr/bin/env bash
# Signatures and attestations of the release's artefacts, the recipe the
# release and the tests both run (cosign, built from its Go module):
#
#   release/sign.sh [--key KEY] REF...
#       Signs each REF (REPOSITORY@sha256:..., an image, an index or a chart).
#   release/sign.sh [--key KEY] --attest TYPE PREDICATE REF
#       Attaches PREDICATE (a file; TYPE e.g. cyclonedx) to REF as a signed
#       in-toto attestation.
#
# Without --key, keyless: a certificate from Sigstore's Fulcio for the CI's
# OIDC identity, recorded in the Rekor transparency log (the release). With
# --key (a cosign key pair's private key; its password in $COSIGN_PASSWORD),
# nothing leaves for Sigstore's services: no certificate, no log entry, and
# the signature is stored next to REF in its registry only (the tests).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

key=""
attest=()
while [ $# -gt 0 ]; do
  case "$1" in
    --key) [ $# -ge 2 ] || usage; key=$2; shift 2 ;;
    --attest) [ $# -ge 3 ] || usage; attest=("$2" "$3"); shift 3 ;;
    --*) usage ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
for ref in "$@"; do
  case "$ref" in *@sha256:*) ;; *) die "$ref is not a reference by digest (REPOSITORY@sha256:...)" ;; esac
done

cosign=$(tool COSIGN cosign)
flags=(--yes)
if [ -n "$key" ]; then
  flags+=(--key "$key" --tlog-upload=false --use-signing-config=false)
fi

if [ ${#attest[@]} -eq 0 ]; then
  for ref in "$@"; do
    "$cosign" sign "${flags[@]}" "$ref" >&2
    echo "signed $ref"
  done
else
  [ $# -eq 1 ] || usage
  [ -f "${attest[1]}" ] || die "${attest[1]} is not a file"
  "$cosign" attest "${flags[@]}" --type "${attest[0]}" --predicate "${attest[1]}" "$1" >&2
  echo "attested ${attest[0]} $1"
fi
