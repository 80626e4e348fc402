#!/usr/bin/env bash
# End-to-end TDX attestation under the TDX emulator:
#   host picks a nonce -> guest (busybox shell, configfs-tsm) puts it in
#   REPORTDATA and reads the quote from outblob -> the quote comes back
#   over the console -> host verifies it (test roots allowed: emulated TEE)
#   against the nonce and the kernel's reference MRTD.
# Usage: verifier/e2e/tdx-emu.sh [--tamper]   (--tamper flips one quote
# byte before verifying, to show the failure path). Exit status: that of
# umbra-verify (0 verified, 1 not verified, 2 error).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
tamper=false
[ "${1:-}" = "--tamper" ] && tamper=true
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

RUSTC_BOOTSTRAP=1 cargo build --release -q -p umbra-frontend -p umbra-verifier
umbra="$root/target/release/umbra"
verify="$root/target/release/umbra-verify"
"$umbra" build --tee tdx-emu >/dev/null
kernel_elf="${CARGO_TARGET_DIR:-$root/target}/tee-emu/x86_64-unknown-none/release/umbra-kernel"

# 64 ASCII characters (TDX's inblob takes exactly 64 bytes): the hex of
# 32 random bytes. REPORTDATA then holds these characters.
nonce_text="$(head -c 32 /dev/urandom | od -An -tx1 -v | tr -d ' \n')"
nonce_hex="$(printf %s "$nonce_text" | od -An -tx1 -v | tr -d ' \n')"

r=/sys/kernel/config/tsm/report/e2e
guest="mount -t configfs none /sys/kernel/config && mkdir $r && printf %s $nonce_text > $r/inblob \
&& echo QUOTE-BEGIN && od -An -tx1 -v $r/outblob && echo QUOTE-END \
&& if [ -e /sys/firmware/acpi/tables/data/CCEL ]; then echo CCEL-BEGIN; od -An -tx1 -v /sys/firmware/acpi/tables/data/CCEL; echo CCEL-END; fi"
"$umbra" run --tee tdx-emu --busybox --timeout "${UMBRA_E2E_TIMEOUT:-300}" -- sh -c "$guest" | tr -d '\r' >"$work/console"

extract() { # MARKER -> hex bytes between MARKER-BEGIN and MARKER-END
    sed -n "/^$1-BEGIN\$/,/^$1-END\$/p" "$work/console" | sed '1d;$d' | tr -d ' \n'
}
extract QUOTE | xxd -r -p >"$work/quote.bin"
if [ ! -s "$work/quote.bin" ]; then
    echo "e2e: no quote came back; console:" >&2
    tail -n 30 "$work/console" >&2
    exit 2
fi
log_args=()
if grep -q '^CCEL-BEGIN$' "$work/console"; then
    extract CCEL | xxd -r -p >"$work/ccel.bin"
    log_args=(--event-log "$work/ccel.bin")
fi
if $tamper; then
    printf '\xff' | dd of="$work/quote.bin" bs=1 seek=200 conv=notrunc status=none
fi
"$verify" measure --kernel "$kernel_elf" --out "$work/reference.json"
echo "e2e: nonce $nonce_hex, quote of $(stat -c %s "$work/quote.bin") bytes"
"$verify" tdx --quote "$work/quote.bin" "${log_args[@]}" --nonce "$nonce_hex" \
    --reference "$work/reference.json" --allow-test-roots
