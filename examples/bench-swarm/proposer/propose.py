"""Bench proposer of `npm run bench` (a `command` proposer; not an LLM, not a search operator).

metaswarm has already copied the parent's harness into $METASWARM_HARNESS_DIR; this "tweak" only
rewrites tweak.json with the new candidate's id and generation, which the harness uses to pick
its (deterministic) sleep. It is as cheap as a proposer can be, so the benchmark measures the
swarm's overhead, not a proposer's thinking.
"""
import json
import os

harness = os.environ["METASWARM_HARNESS_DIR"]
path = os.path.join(harness, "tweak.json")
try:
    with open(path, encoding="utf-8") as f:
        parent = json.load(f)
except (OSError, ValueError):
    parent = {}
tweak = {
    "candidate": os.environ["METASWARM_CANDIDATE_ID"],
    "parent": os.environ.get("METASWARM_PARENT_ID", ""),
    "generation": int(parent.get("generation", 0)) + 1,
}
with open(path, "w", encoding="utf-8") as f:
    json.dump(tweak, f)
with open(os.path.join(os.environ["METASWARM_PROPOSAL_DIR"], "rationale.md"), "w", encoding="utf-8") as f:
    f.write(f"Benchmark tweak: tweak.json names {tweak['candidate']} (generation {tweak['generation']}).\n")
