"""Whose CPU a page costs: the portal's gunicorn workers and PostgreSQL, in milliseconds of
CPU per request, while wrk loads the page as bench/bench.py does (8 connections, 2 workers).

    .venv/bin/python bench/cpu_split.py [--pages "staff queue,family home"] [--seconds 8]

Reads the database bench/bench.py seeded (portal_bench_100000 by default, --database).
The CPU times are those the kernel keeps for each process (/proc/<pid>/stat), before
and after the load: every gunicorn process, and every PostgreSQL process (the server
of the machine, so nothing else should use it meanwhile). On a 2-core machine a page
can serve at most 2000 / (app + PostgreSQL + wrk) requests a second.
"""

import argparse
import os
from collections.abc import Callable
from pathlib import Path

import bench

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
GROUPS: dict[str, Callable[[str, str], bool]] = {
    "app (gunicorn)": lambda name, command: "gunicorn" in command,
    "PostgreSQL": lambda name, command: name.startswith("postgres"),
}


def cpu_seconds(belongs: Callable[[str, str], bool]) -> float:
    """User and system CPU time of the running processes that `belongs` picks."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            command = Path(f"/proc/{pid}/cmdline").read_text()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if belongs(name, command):
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS_PER_SECOND


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", default="family home,staff queue,feedback queue", help="comma-separated page names")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench_100000")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--port", type=int, default=8097)
    args = parser.parse_args()
    env = bench.environment(args.database, args.port, args.redis)
    server = bench.serve(env, args.port, 1)
    try:
        base = f"http://127.0.0.1:{args.port}"
        family = bench.signed_in(base, bench.FAMILY, second_factor=False)
        staff = bench.signed_in(base, bench.STAFF, second_factor=True)
        wanted = args.pages.split(",")
        for name, _kind, path, client in bench.pages(env, family, staff):
            if name not in wanted:
                continue
            cookie = bench.cookie_of(client)
            bench.load(base, path, cookie, 2)  # warm up
            before = {group: cpu_seconds(belongs) for group, belongs in GROUPS.items()}
            result = bench.load(base, path, cookie, args.seconds)
            after = {group: cpu_seconds(belongs) for group, belongs in GROUPS.items()}
            served = result["rps"] * args.seconds
            split = ", ".join(f"{group} {(after[group] - before[group]) / served * 1000:.2f} ms" for group in GROUPS)
            print(f"{name:<22} {result['rps']:7.1f} req/s  p99 {result['p99']:6.1f} ms  CPU a request: {split}")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
