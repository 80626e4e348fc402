#!/bin/sh
# Fetch the Linux kernel `umbra bench` compares Umbra with: Debian's
# linux-image-amd64 from bookworm-backports (6.12) when apt knows that
# suite, else the bookworm one. Puts its bzImage at
# target/linux-bench/vmlinuz, its System.map (symbols for
# `umbra bench --profile`, which boots Linux with nokaslr) and the package
# name at target/linux-bench/package. Prints the bzImage path.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/target/linux-bench"
if [ -f "$out/vmlinuz" ] && [ -f "$out/package" ] && [ -f "$out/System.map" ]; then
    echo "$out/vmlinuz"
    exit 0
fi
mkdir -p "$out"
versioned() {
    apt-cache depends "$1" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}
package=$(versioned linux-image-amd64/bookworm-backports)
suite=bookworm-backports
if [ -z "$package" ]; then
    package=$(versioned linux-image-amd64)
    suite=
fi
[ -n "$package" ] || { echo "fetch-linux-bench-kernel: apt knows no linux-image-amd64" >&2; exit 1; }
cd "$out"
rm -rf deb extract
mkdir deb
if [ -n "$suite" ]; then
    (cd deb && apt-get download "$package/$suite" >&2)
else
    (cd deb && apt-get download "$package" >&2)
fi
dpkg-deb -x deb/*.deb extract
cp extract/boot/vmlinuz-* vmlinuz
cp extract/boot/System.map-* System.map
basename deb/*.deb .deb > package
rm -rf deb extract
echo "$out/vmlinuz"
