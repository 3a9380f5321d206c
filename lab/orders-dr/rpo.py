#!/usr/bin/env python3
"""RPO and RTO of an orders DR drill (docs/orders-dr.md).

Reads `keel load --results` (one line per finished request: seq,
intended_unix_us, status, latency_us, outcome), takes every request answered
201 as an acknowledged order, and asks the promoted server which of their
idempotency keys (PREFIX + seq, in orders.idempotency_keys, finished and with
its order row) it holds. Prints the figures and writes them as JSON.

  rpo.py --results R.csv --port P --db shop --kill-file OUT/kill_unix_ms \
         [--max-lost 0|N|any] [--json OUT/rpo.json]

RPO = acknowledged orders the promoted server does not have (and the span of
their send times). RTO = from the kill to the first 201 answered after it;
the last 201 answered before it, and the last failure after it (when every
request succeeded again), are reported too. Times are answer times
(intended send time + corrected latency), in unix ms.

Exit codes: 0 lost <= --max-lost (default 0); 1 more were lost, or the
server is still a standby; 2 bad input (unreadable file, psql failed).
Stdlib only; SQL goes through psql.
"""

import argparse
import csv
import json
import statistics
import subprocess
import sys


def read_results(path):
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            intended_ms = int(r["intended_unix_us"]) / 1000.0
            rows.append({
                "seq": int(r["seq"]),
                "intended_ms": intended_ms,
                "answered_ms": intended_ms + int(r["latency_us"]) / 1000.0,
                "status": int(r["status"]),
                "outcome": r["outcome"],
            })
    return rows


def psql(args, query):
    cmd = ["psql", "-h", args.host, "-p", str(args.port), "-U", args.user, "-d", args.db,
           "-v", "ON_ERROR_STOP=1", "-At", "-c", query]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("psql: " + r.stderr.strip())
    return [line for line in r.stdout.splitlines() if line]


def quote(text):
    return "'" + text.replace("'", "''") + "'"


def server_keys(args):
    """Keys (PREFIX + seq) of orders the server finished: key row and order row."""
    rows = psql(args, f"""
        SELECT k.key FROM {args.schema}.idempotency_keys k
        JOIN {args.schema}.orders o ON o.id = k.order_id
        WHERE k.recovery_point = 'finished' AND k.key LIKE {quote(args.key_prefix + '%')}""")
    return set(rows)


def kill_time_ms(args, rows):
    if args.kill_unix_ms is not None:
        return float(args.kill_unix_ms), "given"
    if args.kill_file:
        with open(args.kill_file) as f:
            return float(f.read().split()[0]), "file"
    # No marker: the first failure's answer time (the kill breaks the
    # requests in flight at once), an estimate.
    failed = [r["answered_ms"] for r in rows if r["status"] != 201]
    if not failed:
        raise RuntimeError("no kill time given and no failed request to estimate it from")
    return min(failed), "first failure (estimate)"


def parse_max_lost(text):
    if text == "any":
        return None
    n = int(text)
    if n < 0:
        raise argparse.ArgumentTypeError("--max-lost: a count >= 0 or 'any'")
    return n


def analyse(rows, held, kill_ms, key_prefix):
    acked = [r for r in rows if r["status"] == 201]
    lost = sorted((r for r in acked if key_prefix + str(r["seq"]) not in held), key=lambda r: r["seq"])
    acked_keys = {key_prefix + str(r["seq"]) for r in acked}
    before = [r["answered_ms"] for r in acked if r["answered_ms"] < kill_ms]
    after = [r["answered_ms"] for r in acked if r["answered_ms"] >= kill_ms]
    last_before = max(before) if before else None
    first_after = min(after) if after else None
    failed_until, failed_later = {}, 0
    last_failure = None
    for r in rows:
        if r["status"] == 201 or r["answered_ms"] < kill_ms:
            continue
        last_failure = max(last_failure or r["answered_ms"], r["answered_ms"])
        if first_after is None or r["answered_ms"] <= first_after:
            failed_until[r["outcome"]] = failed_until.get(r["outcome"], 0) + 1
        else:
            failed_later += 1
    acked_ms = sorted(r["answered_ms"] - r["intended_ms"] for r in acked)
    out = {
        "requests": len(rows),
        "acknowledged": len(acked),
        "lost": len(lost),
        "lost_seqs": [r["seq"] for r in lost[:100]],
        # The send times the lost orders span, relative to the kill (negative: before it).
        "lost_span_ms": ([round(lost[0]["intended_ms"] - kill_ms, 1), round(max(r["intended_ms"] for r in lost) - kill_ms, 1)]
                         if lost else None),
        "lost_answered_before_kill_ms": (round(kill_ms - min(r["answered_ms"] for r in lost), 1) if lost else None),
        # Keys on the server whose request was not answered 201 (the commit
        # happened, the answer did not arrive): not lost, not acknowledged.
        "held_unacknowledged": len(held - acked_keys),
        "kill_unix_ms": round(kill_ms, 1),
        "last_201_before_kill_ms": round(last_before - kill_ms, 1) if last_before is not None else None,
        "first_201_after_kill_ms": round(first_after - kill_ms, 1) if first_after is not None else None,
        "rto_ms": round(first_after - kill_ms, 1) if first_after is not None else None,
        "gap_ms": round(first_after - last_before, 1) if first_after is not None and last_before is not None else None,
        "failures_until_recovered": failed_until,
        # Failures after the first 201 (workers still reconnecting), and the
        # last failure: when every request succeeded again.
        "failures_after_first_201": failed_later,
        "last_failure_after_kill_ms": round(last_failure - kill_ms, 1) if last_failure is not None else None,
        "acknowledged_latency_p50_ms": round(statistics.median(acked_ms), 2) if acked_ms else None,
    }
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", required=True, help="keel load --results CSV")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", required=True, type=int, help="the promoted server's port")
    ap.add_argument("--db", required=True)
    ap.add_argument("--user", default="keel")
    ap.add_argument("--schema", default="orders")
    ap.add_argument("--key-prefix", default="dr-", help="Idempotency-Key = PREFIX + {{seq}} (default dr-)")
    ap.add_argument("--kill-unix-ms", type=float, help="when the primary was killed")
    ap.add_argument("--kill-file", help="a file whose first word is that time (unix ms)")
    ap.add_argument("--max-lost", type=parse_max_lost, default=0,
                    help="acknowledged orders allowed to be lost: a count (default 0) or 'any'")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()

    try:
        rows = read_results(args.results)
        kill_ms, kill_source = kill_time_ms(args, rows)
        standby = psql(args, "SELECT pg_is_in_recovery()") == ["t"]
        held = server_keys(args)
    except (OSError, ValueError, KeyError, RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"rpo.py: {e}", file=sys.stderr)
        return 2
    out = analyse(rows, held, kill_ms, args.key_prefix)
    out["kill_time_from"] = kill_source
    out["server_in_recovery"] = standby
    out["max_lost"] = "any" if args.max_lost is None else args.max_lost
    out["passed"] = not standby and (args.max_lost is None or out["lost"] <= args.max_lost)

    print(f"requests {out['requests']}, acknowledged (201) {out['acknowledged']}, "
          f"held by {args.host}:{args.port} but not acknowledged {out['held_unacknowledged']}")
    span = out["lost_span_ms"]
    print(f"RPO: {out['lost']} acknowledged orders lost"
          + (f", sent {span[0]} ms to {span[1]} ms from the kill; first seqs {out['lost_seqs'][:10]}" if span else ""))
    print(f"RTO: {out['rto_ms']} ms from the kill to the first 201 "
          f"(last 201 before it {out['last_201_before_kill_ms']} ms; gap {out['gap_ms']} ms; "
          f"kill time from {kill_source}); failures until then {out['failures_until_recovered']}, "
          f"{out['failures_after_first_201']} after it, the last {out['last_failure_after_kill_ms']} ms from the kill")
    if standby:
        print("FAIL: the server is still in recovery (not promoted)")
    elif not out["passed"]:
        print(f"FAIL: {out['lost']} lost, at most {out['max_lost']} allowed")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
    return 0 if out["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
