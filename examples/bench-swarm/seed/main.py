"""Bench harness of `npm run bench` (bench/run.ts): sleeps, then answers. No model, no CPU work.

The benchmark measures the swarm's own cost (scheduling, archive, processes), so the harness does
nothing but wait: input.sleepMs, times a heavy-tail factor when input.tail is set. The factor is
deterministic from (tail.seed, candidate, instance): the swarm and the baselines that run the
same harness folder on the same instance sleep exactly as long. The candidate's id comes from
tweak.json, which the bench proposer (proposer/propose.py) rewrites in every child.

With $BENCH_LOG_DIR set (the evaluator passes it through: evaluator.passEnv) and input.tag,
one line per run goes to $BENCH_LOG_DIR/<tag>.jsonl: {candidate, instance, start, end, sleepMs}
in seconds since the epoch. The bench sums these into busy slot-seconds; the evaluator's own
timings are not used, so the swarm and the baselines are measured the same way.
"""
import time

START = time.time()

import json  # noqa: E402 (after START: the import is part of the harness's work)
import os  # noqa: E402
import sys  # noqa: E402
import zlib  # noqa: E402 (crc32: a cheap, stable hash; hashlib doubles the start-up time)


def unit(key: str) -> float:
    """A number in [0, 1) fixed by `key` (crc32, then a murmur-style finaliser to spread it)."""
    x = zlib.crc32(key.encode("utf-8"))
    x = ((x ^ (x >> 16)) * 0x45D9F3B) & 0xFFFFFFFF
    x = ((x ^ (x >> 16)) * 0x45D9F3B) & 0xFFFFFFFF
    x ^= x >> 16
    return x / 2**32


def tail_factor(tail: dict, candidate: str, instance: str) -> float:
    """1, or 10-50x (tail.min..tail.max) for a share of candidates (all of their instances) and
    of (candidate, instance) pairs."""
    lo, hi = float(tail.get("min", 10)), float(tail.get("max", 50))
    key = f"{tail.get('seed', 0)}:{candidate}"
    factor = 1.0
    if unit(key + ":candidate") < float(tail.get("pCandidate", 0)):
        factor = max(factor, lo + (hi - lo) * unit(key + ":candidate-factor"))
    if unit(f"{key}:{instance}:instance") < float(tail.get("pInstance", 0)):
        factor = max(factor, lo + (hi - lo) * unit(f"{key}:{instance}:instance-factor"))
    return factor


def main() -> None:
    request = json.load(sys.stdin)
    instance = str(request.get("id"))
    data = request.get("input") or {}
    try:
        with open("tweak.json", encoding="utf-8") as f:
            tweak = json.load(f)
    except (OSError, ValueError):
        tweak = {}
    candidate = str(tweak.get("candidate", "seed"))
    sleep_ms = float(data.get("sleepMs", 5))
    if data.get("tail"):
        sleep_ms *= tail_factor(data["tail"], candidate, instance)
    time.sleep(sleep_ms / 1000)
    log_dir, tag = os.environ.get("BENCH_LOG_DIR"), data.get("tag")
    if log_dir and tag:
        line = {"candidate": candidate, "instance": instance, "start": START, "end": time.time(), "sleepMs": round(sleep_ms, 1)}
        # One short line in one write() on an O_APPEND file: concurrent runs never interleave.
        with open(os.path.join(log_dir, f"{tag}.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
    print(json.dumps({"answer": data.get("answer", "ok"), "candidate": candidate, "generation": tweak.get("generation", 0), "sleptMs": round(sleep_ms, 1)}))


main()
