"""What both peers of `amber bench models` share: the command line, the timing
loop (Amber's bench_time_stats in Python) and the result list."""
import argparse
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--min-s", type=float, default=0.05)
    return ap.parse_args()


def timed(fn, reps, min_s):
    """One warm-up call, a calibration call, then reps samples of enough calls
    each to last min_s: median, fastest and slowest ms per call."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = time.perf_counter() - t0
    inner = 1 if one >= min_s else int(min_s / max(one, 1e-9)) + 1
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner * 1e3)
    samples.sort()
    return {"median_ms": samples[len(samples) // 2], "min_ms": samples[0], "max_ms": samples[-1]}


class Results(list):
    """The rows a peer prints; a mode that fails is reported and left out."""

    def __init__(self, peer, args):
        super().__init__()
        self.peer, self.args = peer, args

    def add(self, mode, phase, fn):
        try:
            r = timed(fn, self.args.reps, self.args.min_s)
        except Exception as e:  # noqa: BLE001 - report the mode as failed, keep the others
            print("%s: %s %s failed: %s" % (self.peer, mode, phase, str(e).splitlines()[0]),
                  file=sys.stderr)
            return
        r.update(mode=mode, phase=phase)
        self.append(r)
