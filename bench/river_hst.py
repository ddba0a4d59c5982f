"""Scores a labelled stream with River's HalfSpaceTrees, the reference implementation.

Usage: river_hst.py FEATURES_F64 N SCORES_OUT_F64 N_TREES HEIGHT WINDOW SEED
Reads N events of (value, temperature) as little-endian float64, scores then learns each
(River's score_one / learn_one), writes the N scores as float64 and prints
`river_hst_events_per_sec=<rate>` on stdout.
"""
import struct
import sys
import time

from river import anomaly


def main() -> None:
    path, n, out, n_trees, height, window, seed = sys.argv[1:8]
    n = int(n)
    with open(path, "rb") as f:
        flat = struct.unpack(f"<{2 * n}d", f.read(16 * n))
    events = [{"value": flat[2 * i], "temperature": flat[2 * i + 1]} for i in range(n)]
    model = anomaly.HalfSpaceTrees(
        n_trees=int(n_trees),
        height=int(height),
        window_size=int(window),
        limits={"value": (-100.0, 100.0), "temperature": (-20.0, 80.0)},
        seed=int(seed),
    )
    scores = [0.0] * n
    started = time.perf_counter()
    for i, x in enumerate(events):
        scores[i] = model.score_one(x)
        model.learn_one(x)
    elapsed = time.perf_counter() - started
    with open(out, "wb") as f:
        f.write(struct.pack(f"<{n}d", *scores))
    print(f"river_hst_events_per_sec={n / elapsed:.0f}")


if __name__ == "__main__":
    main()
