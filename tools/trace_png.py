#!/usr/bin/python3
"""Draws an Amber trace (Chrome trace-event JSON, docs/profiling.md) as a PNG
timeline: one lane per nesting depth, slices coloured by category, the host
memory counter below.  With --compare-modes it adds, at one time scale, the
last eager and the last hybridized training step (from a top-level block call
to the end of the trainer step after it), as tutorial 08 records them.

    python3 tools/trace_png.py build/profile-trace.json docs/profiling.png --compare-modes

Needs matplotlib (Debian: python3-matplotlib, installed by `make deps`).
Perfetto (ui.perfetto.dev) and chrome://tracing show the same trace
interactively; this is for documents and machines without a browser."""

import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

COLOURS = {
    "block": "#9ecae1", "op": "#fdae6b", "step": "#74c476", "plan": "#31a354",
    "autograd": "#c6dbef", "optimizer": "#bcbddc", "hybrid": "#fb6a4a",
    "compile": "#e7969c", "pass": "#de9ed6",
}


def load(path):
    with open(path) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    slices = [e for e in events if e.get("ph") == "X"]
    counters = [e for e in events if e.get("ph") == "C"]
    instants = [e for e in events if e.get("ph") == "i"]
    return slices, counters, instants


def assign_depths(slices):
    """Nesting depth of each complete event on its thread (parents first)."""
    by_tid = {}
    for e in slices:
        by_tid.setdefault(e["tid"], []).append(e)
    for evs in by_tid.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []
        for e in evs:
            while stack and e["ts"] >= stack[-1]["ts"] + stack[-1]["dur"] - 1e-3:
                stack.pop()
            e["depth"] = len(stack)
            stack.append(e)


def draw_slices(ax, slices, instants, t0, t1, title):
    """Slices that overlap [t0, t1] (microseconds), time in ms from t0."""
    width = t1 - t0
    depth = 0
    for e in slices:
        s, d = e["ts"], e["dur"]
        if s + d < t0 or s > t1:
            continue
        depth = max(depth, e["depth"])
        x, w = (s - t0) / 1e3, max(d, width * 1e-4) / 1e3
        ax.add_patch(Rectangle((x, e["depth"]), w, 0.9, facecolor=COLOURS.get(e["cat"], "#cccccc"),
                               edgecolor="#555555", linewidth=0.3))
        if d > width * 0.035:
            ax.text(x + w / 2, e["depth"] + 0.45, e["name"], ha="center", va="center",
                    fontsize=6, clip_on=True)
    for e in instants:
        if t0 <= e["ts"] <= t1:
            ax.plot([(e["ts"] - t0) / 1e3], [-0.3], marker="v", color=COLOURS["hybrid"], ms=4)
    ax.set_xlim(0, width / 1e3)
    ax.set_ylim(depth + 1, -0.6)
    ax.set_yticks([])
    ax.set_ylabel("depth")
    ax.set_title(title, fontsize=9, loc="left")


def draw_memory(ax, counters, t0, t1):
    pts = sorted((e["ts"], list(e["args"].values())[0]) for e in counters
                 if e["name"] == "host memory" and t0 <= e["ts"] <= t1)
    if pts:
        ax.step([(t - t0) / 1e3 for t, _ in pts], [v / 2**20 for _, v in pts], where="post",
                color="#3182bd", linewidth=0.8)
    ax.set_xlim(0, (t1 - t0) / 1e3)
    ax.set_ylabel("host MiB", fontsize=8)
    ax.set_xlabel("ms since the first event")


def last_step(slices, mode):
    """[start, end] of the last training step in mode, or None.  A step ends
    with a trainer step event and begins after the one before; it is
    hybridized when a top-level block call in it ran hybridized."""
    top = sorted((e for e in slices if e["depth"] == 0), key=lambda e: e["ts"])
    steps, begin = [], None
    for e in top:
        if begin is None:
            begin = e
        if e["name"] == "trainer step":
            steps.append((begin, e))
            begin = None
    found = None
    for b, e in steps:
        modes = {x.get("args", {}).get("mode") for x in top
                 if x["cat"] == "block" and b["ts"] <= x["ts"] <= e["ts"]}
        if ("hybridized" if "hybridized" in modes else "eager") == mode:
            found = (b["ts"], e["ts"] + e["dur"])
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace")
    ap.add_argument("png")
    ap.add_argument("--compare-modes", action="store_true",
                    help="add the last eager and hybridized training steps at one scale")
    ap.add_argument("--title", default=None)
    a = ap.parse_args()
    slices, counters, instants = load(a.trace)
    if not slices:
        sys.exit("trace_png: %s has no complete (X) events" % a.trace)
    assign_depths(slices)
    t0 = min(e["ts"] for e in slices + counters)
    t1 = max([e["ts"] + e["dur"] for e in slices] + [e["ts"] for e in counters])
    windows = []
    if a.compare_modes:
        for mode in ("eager", "hybridized"):
            w = last_step(slices, mode)
            if w:
                windows.append((mode, w))
    rows = 2 + len(windows)
    fig, axes = plt.subplots(rows, 1, figsize=(13, 2.4 * len(windows) + 4.2),
                             gridspec_kw={"height_ratios": [3, 1] + [3] * len(windows)})
    draw_slices(axes[0], slices, instants, t0, t1,
                a.title or "%s: %d slices over %.1f ms" % (a.trace.split("/")[-1], len(slices),
                                                          (t1 - t0) / 1e3))
    draw_memory(axes[1], counters, t0, t1)
    span = max((w[1] - w[0] for _, w in windows), default=0)
    for ax, (mode, (s, e)) in zip(axes[2:], windows):
        draw_slices(ax, slices, instants, s, s + span,
                    "the last %s training step: %.3f ms (forward, loss, backward, update)"
                    % (mode, (e - s) / 1e3))
        ax.set_xlabel("ms since the step began (both steps at one scale)")
    handles = [Rectangle((0, 0), 1, 1, facecolor=c, edgecolor="#555555") for c in COLOURS.values()]
    fig.legend(handles, list(COLOURS), loc="upper right", ncol=len(COLOURS), fontsize=7,
               frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(a.png, dpi=110)
    print("trace_png: wrote %s (%d slices, %d counter events)" % (a.png, len(slices),
                                                                 len(counters)))


if __name__ == "__main__":
    main()
