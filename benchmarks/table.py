#!/usr/bin/env python3
"""Markdown table from one or more `umbra bench` JSON files, their
repetitions pooled (same columns as `umbra bench` prints).

Usage: table.py results-A.json [results-B.json ...]
"""
import json
import statistics
import sys


def cell(v):
    if not v:
        return "-"
    med = statistics.median(v)
    num = f"{med:.0f}" if med >= 100 else f"{med:.1f}" if med >= 10 else f"{med:.2f}"
    if len(v) == 1:
        return num
    spread = (max(v) - min(v)) / med * 50 if med else 0
    return f"{num} (±{spread:.0f}%)"


def main():
    order, data = [], {}
    for path in sys.argv[1:]:
        for m in json.load(open(path))["metrics"]:
            if m["name"] not in data:
                order.append(m["name"])
                data[m["name"]] = {"unit": m["unit"], "umbra": [], "linux": []}
            data[m["name"]]["umbra"] += [x for x in m["umbra"] if x is not None]
            data[m["name"]]["linux"] += [x for x in m["linux"] if x is not None]
    print("| benchmark | unit | Umbra median (spread) | Linux median (spread) | Umbra/Linux | (of minimums) |")
    print("|---|---|--:|--:|--:|--:|")
    for name in order:
        d = data[name]
        u, l = d["umbra"], d["linux"]
        r = f"{statistics.median(u) / statistics.median(l):.2f}" if u and l else "-"
        rm = f"{min(u) / min(l):.2f}" if u and l else "-"
        print(f"| {name} | {d['unit']} | {cell(u)} | {cell(l)} | {r} | {rm} |")


if __name__ == "__main__":
    main()
