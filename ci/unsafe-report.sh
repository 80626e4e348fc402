#!/usr/bin/env bash
# Per kernel crate: lines of Rust, `unsafe` blocks/impls/fns, and whether the
# crate forbids unsafe code. Used by `umbra test` (tests/) and by hand:
#   ci/unsafe-report.sh            table
#   ci/unsafe-report.sh --check    also fail if services/attestation lost
#                                  #![forbid(unsafe_code)] or contain unsafe
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
check=false
[ "${1:-}" = "--check" ] && check=true
status=0
printf '%-12s %8s %8s %8s %8s  %s\n' crate lines unsafe{} "unsafe fn" "unsafe impl" policy
for crate in boot framework tee services attestation kernel; do
  files=$(find "$crate/src" -name '*.rs' 2>/dev/null | sort)
  [ -n "$files" ] || continue
  lines=$(cat $files | grep -cv '^\s*\(//.*\)\?$' || true)
  # Count code, not comments: drop // comments before matching.
  code=$(sed 's://.*$::' $files)
  count() { { grep -oE "$1" <<<"$code" || true; } | wc -l; }
  blocks=$(count 'unsafe[[:space:]]*\{')
  fns=$(count 'unsafe[[:space:]]+(extern[[:space:]]+"[^"]*"[[:space:]]+)?fn')
  impls=$(count 'unsafe[[:space:]]+impl')
  policy=allowed
  grep -q '#!\[forbid(unsafe_code)\]' "$crate/src/lib.rs" "$crate/src/main.rs" 2>/dev/null && policy=forbidden
  grep -q '#!\[deny(unsafe_code)\]' "$crate/src/lib.rs" "$crate/src/main.rs" 2>/dev/null && policy=denied
  printf '%-12s %8s %8s %8s %8s  %s\n' "$crate" "$lines" "$blocks" "$fns" "$impls" "$policy"
  if $check; then
    case "$crate" in
      services|attestation)
        if [ "$policy" != forbidden ]; then echo "FAIL: $crate must carry #![forbid(unsafe_code)]"; status=1; fi
        if [ $((blocks + fns + impls)) -ne 0 ]; then echo "FAIL: $crate contains unsafe code"; status=1; fi ;;
    esac
  fi
done
exit $status
