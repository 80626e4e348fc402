#!/bin/bash
# Installs what Umbra needs on Debian bookworm: Debian's Rust 1.96 with the
# standard-library source (for -Zbuild-std), lld, QEMU 10 from
# bookworm-backports (7.2 from bookworm only if backports is unreachable),
# OVMF, busybox, musl and build tools, and the Linux kernel for `umbra
# bench` (scripts/fetch-linux-bench-kernel.sh). Idempotent; prints nothing when all
# is present.
set -euo pipefail

packages=(rustc-web cargo-web rust-web-src rust-web-clippy lld ovmf busybox-static musl-tools cpio gcc make xxd)
backports_list=/etc/apt/sources.list.d/bookworm-backports.list

if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
export DEBIAN_FRONTEND=noninteractive

installed() {
    dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

qemu_version() {
    dpkg-query -W -f='${Version}\n' qemu-system-x86 2>/dev/null | sed -E 's/^[0-9]+://; s/[^0-9.].*$//'
}

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done
# Set when backports was unreachable and QEMU 7.2 was accepted instead;
# retried after a day.
fallback_stamp="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/umbra/qemu-backports-unreachable"
qemu_ok=false
if installed qemu-system-x86; then
    if [ "$(qemu_version | cut -d. -f1)" -ge 10 ] 2>/dev/null; then
        qemu_ok=true
    elif [ -n "$(find "$fallback_stamp" -mmin -1440 2>/dev/null)" ]; then
        qemu_ok=true
    fi
fi

# The Linux kernel `umbra bench` compares Umbra with: Debian's
# linux-image-amd64 (6.12 from bookworm-backports) in target/linux-bench.
fetch_bench_kernel() {
    "$(dirname "$0")/fetch-linux-bench-kernel.sh" >/dev/null 2>&1 ||
        echo "umbra setup: could not fetch Debian's Linux kernel for umbra bench (it tries again when run)" >&2
}

if [ ${#missing[@]} -eq 0 ] && $qemu_ok; then
    fetch_bench_kernel
    exit 0
fi

echo "umbra setup: installing ${missing[*]}$($qemu_ok || echo ' qemu-system-x86 (backports)')" >&2

if ! grep -rqs '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo 'deb http://deb.debian.org/debian bookworm-backports main' | "${sudo[@]}" tee "$backports_list" >/dev/null
fi

apt_quiet() {
    local log
    log=$(mktemp)
    if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}

apt_quiet update || echo "umbra setup: apt-get update reported errors; trying to install anyway" >&2

if [ ${#missing[@]} -gt 0 ]; then
    apt_quiet install -y --no-install-recommends "${missing[@]}"
fi

if ! $qemu_ok; then
    if ! apt_quiet install -y --no-install-recommends -t bookworm-backports qemu-system-x86; then
        echo "umbra setup: bookworm-backports unreachable; falling back to bookworm's QEMU 7.2" >&2
        installed qemu-system-x86 || apt_quiet install -y --no-install-recommends qemu-system-x86
        mkdir -p "$(dirname "$fallback_stamp")" && touch "$fallback_stamp"
    fi
fi

fetch_bench_kernel
