#!/bin/bash
# The real QEMU with RDRAND and RDSEED taken out of the CPU model
# (`-cpu max` -> `-cpu max,-rdrand,-rdseed`), for the test of the random
# generator's fallback (tests/tests/random.rs). Use as UMBRA_QEMU.
args=()
for a in "$@"; do
    case "$a" in
        max|host) args+=("$a,-rdrand,-rdseed") ;;
        *) args+=("$a") ;;
    esac
done
exec qemu-system-x86_64 "${args[@]}"
