#!/usr/bin/env python3
"""Attribute `umbra bench --profile` samples to benchmarks and symbols.

Usage: profile.py CONSOLE.log SAMPLES SYMBOLS [BENCH...]

CONSOLE.log  the console log of one boot (target/umbra/bench/logs-PID/*.log,
             lines `[  seconds] text`, times from QEMU start)
SAMPLES      the matching *.samples file (`seconds rip cpl`)
SYMBOLS      `nm -C` output of the kernel ELF (Umbra:
             target/x86_64-unknown-none/release/umbra-kernel) or Linux's
             System.map (target/linux-bench/System.map; the profile boot
             uses nokaslr, so addresses match)
BENCH        only these benchmarks (default: all)

A benchmark's window runs from the previous BENCH line to its own line.
Prints, per benchmark, the share of samples in user mode (CPL 3), and the
kernel symbols with the most samples.
"""
import bisect
import re
import sys
from collections import Counter


def load_symbols(path):
    syms = []
    for line in open(path, errors="replace"):
        parts = line.split(None, 2)
        if len(parts) < 3 or parts[1] not in "tTwW":
            continue
        try:
            syms.append((int(parts[0], 16), parts[2].strip()))
        except ValueError:
            pass
    syms.sort()
    return [a for a, _ in syms], [n for _, n in syms]


def short(name):
    # Rust: drop the hash suffix and generic noise.
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)
    return name if len(name) < 110 else name[:107] + "..."


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    log, samples, symbols = sys.argv[1:4]
    only = set(sys.argv[4:])
    windows = []
    start = None
    for line in open(log, errors="replace"):
        m = re.match(r"\[\s*([0-9.]+)\] .*?(BENCH(?:-MEM|-INIT)?) (\S+)?", line)
        if not m:
            continue
        t = float(m.group(1))
        if m.group(2) == "BENCH" and start is not None:
            windows.append((m.group(3), start, t))
        start = t
    addrs, names = load_symbols(symbols)
    pts = []
    for line in open(samples):
        p = line.split()
        if len(p) == 3:
            pts.append((float(p[0]), int(p[1], 16), p[2]))
    for name, t0, t1 in windows:
        if only and name not in only:
            continue
        inside = [s for s in pts if t0 < s[0] <= t1]
        if not inside:
            continue
        user = sum(1 for s in inside if s[2] == "3")
        kern = Counter()
        for _, rip, cpl in inside:
            if cpl == "3":
                continue
            i = bisect.bisect_right(addrs, rip) - 1
            kern[short(names[i]) if i >= 0 else hex(rip)] += 1
        n = len(inside)
        print(f"== {name}: {n} samples, user {100 * user / n:.0f}%, kernel {100 * (n - user) / n:.0f}%")
        for sym, c in kern.most_common(12):
            print(f"   {100 * c / n:5.1f}%  {sym}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
