#!/usr/bin/env python3
"""Bar chart (SVG) of Umbra/Linux ratios from an `umbra bench` JSON file.

Usage: plot.py results-DATE.json > results-DATE.svg

One bar per benchmark measured on both kernels, on a log2 scale centred
on 1 (left of the line: Umbra faster; right: Umbra slower), with the
ratio of the medians written next to it.
"""
import json
import math
import sys


def main():
    d = json.load(open(sys.argv[1]))
    rows = [(m["name"], m["ratio"]) for m in d["metrics"] if m.get("ratio")]
    span = max(6.0, max(abs(math.log2(r)) for _, r in rows) + 0.5)
    left, width, bar, top = 190, 560, 18, 50
    height = top + bar * len(rows) + 40
    scale = (width / 2) / span
    mid = left + width / 2
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<text x="10" y="20" font-size="14">Umbra / Linux time ratio, {d["accelerator"]}, {d["repetitions"]} repetitions, {d["date"]} (log scale; lower is better for Umbra)</text>']
    for k in range(-int(span), int(span) + 1):
        x = mid + k * scale
        out.append(f'<line x1="{x:.1f}" y1="{top - 8}" x2="{x:.1f}" y2="{height - 30}" stroke="#ddd"/>')
        label = f"{2 ** k:g}" if k >= 0 else f"1/{2 ** -k:g}"
        out.append(f'<text x="{x:.1f}" y="{height - 15}" text-anchor="middle" fill="#666">{label}</text>')
    for i, (name, r) in enumerate(rows):
        y = top + i * bar
        w = math.log2(r) * scale
        x = mid if w >= 0 else mid + w
        colour = "#c0504d" if r > 1 else "#4f81bd"
        out.append(f'<text x="{left - 8}" y="{y + 13}" text-anchor="end">{name}</text>')
        out.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{abs(w):.1f}" height="{bar - 6}" fill="{colour}"/>')
        tx = mid + w + (6 if w >= 0 else -6)
        out.append(f'<text x="{tx:.1f}" y="{y + 13}" text-anchor="{"start" if w >= 0 else "end"}">{r:.2f}</text>')
    out.append(f'<line x1="{mid}" y1="{top - 8}" x2="{mid}" y2="{height - 30}" stroke="#000"/>')
    out.append("</svg>")
    print("\n".join(out))


if __name__ == "__main__":
    main()
