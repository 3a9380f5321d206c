"""Writes a realistic `keel lab --out DIR` directory (docs/lab-output.md) for report tests.

    python3 lab_fixture.py DIR

One 60 s load of 1000 req/s starting 2 s into a 65 s scenario, a 100 ms latency
toxic from 20 s to 35 s, an instant kill at 45 s followed by 3 s of errors, two
SLOs (availability fails, latency passes) and a metrics scrape per second. The
scenario and fault names carry markup so the page's escaping is exercised.
"""

import json
import os
import sys

SCENARIO = "hello <b>under</b> fire & \"friends\""
OFFSET_S = 2.0
SECONDS = 60
RATE = 1000
FAULT = (20.0, 35.0)
KILL_AT = 45.0


def second(t):
    """One CSV row's values for the load's second t (1-based, load time)."""
    at = OFFSET_S + t
    slow = FAULT[0] < at <= FAULT[1]
    down = KILL_AT < at <= KILL_AT + 3
    errors = 400 if down else (2 if t % 7 == 0 else 0)
    completed = RATE - errors
    p50 = 100.8 if slow else 0.42 + 0.01 * (t % 5)
    p99 = 104.0 if slow else 1.9 + 0.1 * (t % 3)
    p999 = 130.0 if slow else 4.5 + 0.2 * (t % 4)
    le_50 = 0 if slow else completed
    return [f"{t:.3f}", RATE, completed, errors, f"{p50:.3f}", f"{p99:.3f}", f"{p999:.3f}",
            "true", le_50]


def main(out):
    os.makedirs(os.path.join(out, "load"), exist_ok=True)
    os.makedirs(os.path.join(out, "metrics"), exist_ok=True)
    rows = [second(t) for t in range(1, SECONDS + 1)]
    with open(os.path.join(out, "load", "main.csv"), "w") as f:
        f.write("t,sent,completed,errors,p50_ms,p99_ms,p999_ms,corrected,le_50ms\n")
        for r in rows:
            f.write(",".join(str(v) for v in r) + "\n")
    errors = sum(r[3] for r in rows)
    summary = {
        "schema_version": 1, "url": "http://127.0.0.1:1234/hello", "mode": "open",
        "threads": 1, "connections": 64, "duration_s": float(SECONDS),
        "requested_rate": float(RATE), "achieved_rate": RATE - errors / SECONDS,
        "sent": RATE * SECONDS, "completed": RATE * SECONDS - errors,
        "errors": {"connect": errors, "timeout": 0, "read": 0, "status_4xx": 0,
                   "status_5xx": 0, "total": errors},
        "backlog": {"requests": 0, "max": 0, "not_sent": 0},
        "latency_ms": {"corrected": {"p50": 0.45, "p75": 0.6, "p90": 1.1, "p99": 103.9,
                                     "p99_9": 129.0, "p99_99": 131.0, "max": 140.2,
                                     "mean": 25.1, "stdev": 43.0},
                       "uncorrected": {"p50": 0.45, "p75": 0.6, "p90": 1.1, "p99": 103.0,
                                       "p99_9": 120.0, "p99_99": 125.0, "max": 130.0,
                                       "mean": 24.0, "stdev": 41.0}},
        "seconds": [], "slo": [],
    }
    with open(os.path.join(out, "load", "main.json"), "w") as f:
        json.dump(summary, f, indent=2)
    run = {
        "schema": "keel.lab/v1", "scenario": SCENARIO, "started_unix_ms": 1764070000000,
        "duration_s": 65.0, "passed": False,
        "loads": [{"name": "main", "target": "http://127.0.0.1:1234/hello",
                   "offset_s": OFFSET_S, "json": "load/main.json",
                   "timeseries": "load/main.csv"}],
        "processes": [{"name": "hello", "command": ["keel", "serve", "hello"]}],
    }
    with open(os.path.join(out, "run.json"), "w") as f:
        json.dump(run, f, indent=2)
    faults = [
        {"name": "latency 100ms <toxic>", "kind": "toxic", "target": "hello",
         "start_s": FAULT[0], "end_s": FAULT[1], "detail": {"latency_ms": 100, "jitter_ms": 5}},
        {"name": "kill hello", "kind": "kill", "target": "hello", "start_s": KILL_AT,
         "end_s": None, "detail": {"signal": "SIGKILL"}},
    ]
    with open(os.path.join(out, "faults.json"), "w") as f:
        json.dump(faults, f, indent=2)
    total = RATE * SECONDS

    slos = [
        {"name": "availability", "kind": "availability", "objective": 0.999,
         "threshold_ms": None, "good": total - errors, "total": total,
         "measured": (total - errors) / total, "budget_consumed": (errors / total) / 0.001,
         "passed": False,
         "windows": [
             {"long_s": 5.0, "short_s": 0.5, "burn_threshold": 14.4, "max_long_burn": 240.0,
              "max_short_burn": 400.0, "fired": True, "first_fired_s": 46.0,
              "evaluated": True, "label": "page (1h/5m \u00d714.4)"},
             {"long_s": 30.0, "short_s": 3.0, "burn_threshold": 6.0, "max_long_burn": 40.0,
              "max_short_burn": 400.0, "fired": True, "first_fired_s": 48.0,
              "evaluated": True, "label": "ticket (6h/30m \u00d76)"}]},
        {"name": "latency < 200ms", "kind": "latency", "objective": 0.99,
         "threshold_ms": 200, "good": total, "total": total, "measured": 1.0,
         "budget_consumed": 0.0, "passed": True,
         "windows": [
             {"long_s": 5.0, "short_s": 0.5, "burn_threshold": 14.4, "max_long_burn": 0.0,
              "max_short_burn": 0.0, "fired": False, "first_fired_s": None,
              "evaluated": True, "label": "page"},
             {"long_s": 300.0, "short_s": 30.0, "burn_threshold": 1.0, "max_long_burn": 0.0,
              "max_short_burn": 0.0, "fired": False, "first_fired_s": None,
              "evaluated": False, "label": "slow burn"}]},
    ]

    with open(os.path.join(out, "slos.json"), "w") as f:
        json.dump(slos, f, indent=2)
    with open(os.path.join(out, "metrics", "hello.prom"), "w") as f:
        cpu = 0.0
        for t in range(0, 66):
            cpu += 0.35 if FAULT[0] < t <= FAULT[1] else 0.2
            f.write(f"# keel-lab scrape t={t:.3f}\n# TYPE process_cpu_seconds_total counter\n")
            f.write(f"process_cpu_seconds_total {cpu:.3f}\n")
            f.write(f'keel_http_requests_total{{route="/hello",code="200"}} {t * RATE}\n')


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: lab_fixture.py DIR")
    main(sys.argv[1])
