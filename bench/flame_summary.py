"""The heaviest functions of a py-spy flame graph, as text.

    python bench/flame_summary.py profiles/report-form.svg [--top 25] [--under submit]

Reads the frames py-spy wrote into the SVG (name, depth, first sample and width in
samples) and prints the functions with the most samples of their own (self), and the
most samples in all (total, counted once where a function calls itself). --under keeps
only the stacks that pass through a frame whose name starts with the given text (a
view function, say), so one request's share can be read on its own.
"""

from __future__ import annotations

import argparse
import html
import itertools
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

FRAME = re.compile(
    r'<title>(?P<title>[^<]*)</title><rect [^>]*?y="(?P<y>\d+(?:\.\d+)?)"[^>]*?'
    r'fg:x="(?P<x>\d+)" fg:w="(?P<w>\d+)"'
)
SAMPLES = re.compile(r" \([\d,]+ samples?, [\d.]+%\)$")


@dataclass
class Frame:
    name: str
    depth: float
    x: int
    w: int
    children: list[Frame] = field(default_factory=list)


def frames(svg: str) -> list[Frame]:
    return [
        Frame(SAMPLES.sub("", html.unescape(m["title"])), float(m["y"]), int(m["x"]), int(m["w"]))
        for m in FRAME.finditer(svg)
    ]


def tree(all_frames: list[Frame]) -> list[Frame]:
    """Link each frame to the frame one level nearer the root that spans it; the roots."""
    levels = sorted({f.depth for f in all_frames})
    # py-spy draws the root at the bottom (largest y) unless the graph is inverted.
    root_at_bottom = bool(all_frames) and max(all_frames, key=lambda f: f.w).depth == levels[-1]
    if root_at_bottom:
        levels.reverse()
    by_level = {
        d: sorted((f for f in all_frames if f.depth == d), key=lambda f: f.x) for d in levels
    }
    for parent_level, child_level in itertools.pairwise(levels):
        parents = by_level[parent_level]
        i = 0
        for child in by_level[child_level]:
            while i < len(parents) and parents[i].x + parents[i].w <= child.x:
                i += 1
            if i < len(parents) and parents[i].x <= child.x:
                parents[i].children.append(child)
    return by_level[levels[0]] if levels else []


def walk(frame: Frame, path: tuple[str, ...], self_: Counter[str], total: Counter[str]) -> None:
    self_[frame.name] += frame.w - sum(c.w for c in frame.children)
    if frame.name not in path:
        total[frame.name] += frame.w
    for child in frame.children:
        walk(child, (*path, frame.name), self_, total)


def under(roots: list[Frame], prefix: str) -> list[Frame]:
    found: list[Frame] = []
    stack = list(roots)
    while stack:
        frame = stack.pop()
        if frame.name.startswith(prefix):
            found.append(frame)
        else:
            stack.extend(frame.children)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("svg", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--under", default=None, help="only stacks through this frame")
    args = parser.parse_args(argv)
    roots = tree(frames(args.svg.read_text()))
    if args.under:
        roots = under(roots, args.under)
    self_: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for root in roots:
        walk(root, (), self_, total)
    samples = sum(r.w for r in roots) or 1
    print(f"{args.svg}: {samples:,} samples" + (f" under {args.under}" if args.under else ""))
    for title, counter in (("self", self_), ("total", total)):
        print(f"\nmost samples, {title}:")
        for name, count in counter.most_common(args.top):
            print(f"{100 * count / samples:6.1f} %  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
