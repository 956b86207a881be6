"""Two commits side by side, for a machine whose speed swings: the app CPU a page costs
at an earlier commit and at this checkout, measured in turns.

    .venv/bin/python bench/compare.py BEFORE [--pages "staff queue,feedback queue"]
        [--pairs 4] [--requests 60]

BEFORE is checked out in a temporary worktree (made once, then reused) and run with this
checkout's venv, its code first on the path: the same installed packages on both sides,
only the code differs (a worktree with a venv of its own ran the unchanged family home
10-35 % slower: bench/RESULTS.md, seventh round). Each turn runs the portal in-process
(bench/profile_pages.py's sign-in and bench/bench.py's pages, on the database the
environment names: see profile_pages.py) and takes the process's CPU time for 5 batches
of N requests a page, the median batch counted. Turns alternate, BEFORE then this
checkout, so a slow spell of the machine falls on both; what is claimed from the output
is a ratio that holds across the pairs.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench

# A turn, run from the measured tree's root with its code first on the path.
TURN = """
import json, os, statistics, sys, time
sys.path.insert(0, "bench")
import bench, profile_pages
from portal import create_app
app = create_app()
wanted, count = sys.argv[1].split(","), int(sys.argv[2])
family = profile_pages.sign_in(app, bench.FAMILY, second_factor=False)
staff = profile_pages.sign_in(app, bench.STAFF, second_factor=True)
found = {}
for name, _kind, path, client in bench.pages(dict(os.environ), family, staff):
    if name not in wanted:
        continue
    for _ in range(20):
        assert client.get(path).status_code == 200, path
    batches = []
    for _ in range(5):
        started = time.process_time()
        for _ in range(count):
            client.get(path)
        batches.append((time.process_time() - started) / count * 1000)
    found[name] = statistics.median(batches)
print(json.dumps(found))
"""
# The staff sign-in takes a second-factor code, and a code is taken once: a turn waits
# for the next 30-second step.
TOTP_STEP_SECONDS = 30


def worktree(commit: str) -> Path:
    """The commit's worktree, made the first time it is asked for."""
    resolved = subprocess.run(
        ["git", "rev-parse", "--short", commit], cwd=bench.ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    tree = Path(tempfile.gettempdir()) / f"portal-compare-{resolved}"
    if not (tree / "portal").exists():
        subprocess.run(
            ["git", "worktree", "add", "--force", "--detach", str(tree), resolved], cwd=bench.ROOT, check=True
        )
    return tree


def turn(tree: Path, pages: str, requests: int) -> dict[str, float]:
    """One turn of `tree`'s code, with this venv's packages: the tree is first on the path."""
    time.sleep(TOTP_STEP_SECONDS - time.time() % TOTP_STEP_SECONDS + 1)
    done = subprocess.run(
        [sys.executable, "-c", TURN, pages, str(requests)],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")])},
        check=True,
        capture_output=True,
        text=True,
    )
    found: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", help="the earlier commit")
    parser.add_argument("--pages", default="family home,staff queue,staff request page,feedback queue")
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--requests", type=int, default=60, help="requests a batch; 5 batches a page a turn")
    args = parser.parse_args()
    earlier, current = worktree(args.before), bench.ROOT
    pairs = []
    for number in range(1, args.pairs + 1):
        pair = (turn(earlier, args.pages, args.requests), turn(current, args.pages, args.requests))
        pairs.append(pair)
        print(f"pair {number}: before {pair[0]}\n        after  {pair[1]}", flush=True)
    print(f"\napp CPU a request (ms), {args.before} against this checkout, {args.pairs} alternating pairs:")
    print(f"{'page':<22} {'before':>8} {'after':>8}  after/before per pair")
    for page in pairs[0][0]:
        before = statistics.median(p[0][page] for p in pairs)
        after = statistics.median(p[1][page] for p in pairs)
        ratios = ", ".join(f"{p[1][page] / p[0][page]:.2f}" for p in pairs)
        print(f"{page:<22} {before:8.2f} {after:8.2f}  {ratios}")


if __name__ == "__main__":
    main()
