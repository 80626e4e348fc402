#!/bin/sh
# Fetch Debian's cloud kernel (the versioned package linux-image-cloud-amd64
# depends on) with apt and put its bzImage at target/linux-compare/vmlinuz,
# for the opt-in Linux compare mode of the ABI suites
# (UMBRA_COMPARE_LINUX=1, tests/tests/abi_groups.rs). Prints the path.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/target/linux-compare"
if [ -f "$out/vmlinuz" ]; then
    echo "$out/vmlinuz"
    exit 0
fi
mkdir -p "$out"
package=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$package" ] || { echo "fetch-linux-kernel: no versioned package behind linux-image-cloud-amd64" >&2; exit 1; }
cd "$out"
rm -rf deb extract
mkdir deb
(cd deb && apt-get download "$package" >&2)
dpkg-deb -x deb/*.deb extract
cp extract/boot/vmlinuz-* vmlinuz
rm -rf deb extract
echo "$out/vmlinuz"
