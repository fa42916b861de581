#!/usr/bin/env python3
"""Writes stats_reference.json: reference values for planner/src/bench/stats.rs, computed with numpy/scipy.

Run: python3 stats_reference.py > stats_reference.json   (numpy 2.x, scipy 1.1x)
"""
import json

import numpy as np
from scipy import stats

SETS = [
    [6863.1, 7147.6, 7136.4, 7115.8, 7237.2],
    [41.2, 40.9, 41.5, 40.7, 41.1, 41.3],
    [10.0, 12.0, 12.0, 15.0, 9.0, 12.0, 11.0],
    [1.0],
    [3.5, 2.5],
]

PAIRS = [
    ([6863.1, 7147.6, 7136.4, 7115.8, 7237.2], [6500.2, 6610.9, 6580.3, 6702.0, 6555.5]),
    ([1, 2, 2, 3, 3, 3, 4], [2, 3, 3, 4, 4, 5, 5, 6]),
    ([41.2, 40.9, 41.5, 40.7, 41.1, 41.3], [41.0, 41.4, 40.8, 41.2, 41.6, 40.9]),
    ([5, 5, 5], [5, 5, 5, 5]),
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], [11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0]),
]

BOOT = [10.1, 9.7, 10.4, 10.0, 9.9, 10.3, 9.5, 10.8, 10.2, 9.8, 10.0, 10.6]

out = {"summaries": [], "mann_whitney": [], "bootstrap_mean": None}
for s in SETS:
    a = np.array(s)
    out["summaries"].append({
        "samples": s,
        "median": float(np.median(a)),
        "mean": float(np.mean(a)),
        "stddev": float(np.std(a, ddof=1)) if len(a) > 1 else 0.0,
    })
for x, y in PAIRS:
    r = stats.mannwhitneyu(x, y, alternative="two-sided", use_continuity=True, method="asymptotic")
    out["mann_whitney"].append({"a": x, "b": y, "u1": float(r.statistic), "p": float(r.pvalue)})
res = stats.bootstrap((np.array(BOOT),), np.mean, confidence_level=0.95, n_resamples=20000,
                      method="percentile", random_state=np.random.default_rng(1))
out["bootstrap_mean"] = {"samples": BOOT, "low": float(res.confidence_interval.low),
                         "high": float(res.confidence_interval.high)}
print(json.dumps(out, indent=1))
