"""Load the portal's main pages at district scale and report figures.

For each size (requests in the database): a fresh PostgreSQL database is filled with
`seed-demo --scale N`, the app is served by gunicorn (2 workers, PostgreSQL,
Redis-backed rate limits), and wrk, a separate process, loads each page over loopback
with 8 connections of a signed-in session. Reported per page: requests/s and the
p50/p95/p99 latency, and the bytes the page sends over the wire (HTML plus every
asset it links, as a browser with gzip fetches them). Results go to
bench/RESULTS.md and bench/results.json. Not part of the test suite: figures, not
pass/fail."""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import plans  # bench/plans.py: the script's own directory is on the path
import psycopg
import pyotp

from portal.sample_data.demo import DEMO_TOTP_SECRET, FAMILY_EMAIL, STAFF_EMAIL

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
VENV_BIN = Path(sys.executable).parent
# The public demo sign-ins of seed-demo (see the README).
PASSWORD = "demo-password"  # noqa: S105
FAMILY, STAFF = FAMILY_EMAIL, STAFF_EMAIL
# 8 connections on 2 workers, as the issue asks; wrk's own threads are separate.
CONNECTIONS, THREADS, WORKERS = 8, 2, 2
TARGET_P99_MS, TARGET_PAGE_KB = 50, 60


@dataclass
class PageResult:
    page: str
    path: str
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    html_bytes: int
    asset_bytes: int

    @property
    def total_kb(self) -> float:
        return (self.html_bytes + self.asset_bytes) / 1024


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(command, check=True, text=True, capture_output=True, **kwargs)


def fresh_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin_url)
    return f"postgresql+psycopg://{parts.netloc}/{name}"


def environment(database_url: str, port: int, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_SECRET_KEY": "bench-secret-key-not-for-production",
        "PORTAL_BASE_URL": f"http://127.0.0.1:{port}",
        "PORTAL_REDIS_URL": redis_url,
        # The benchmark signs in once per role; the limits are not what is measured.
        "PORTAL_SIGN_IN_LIMIT_PER_CLIENT": "1000 per minute",
    }


def seed(env: dict[str, str], scale: int) -> str:
    flask = [str(VENV_BIN / "flask"), "--app", "portal"]
    run([*flask, "init-db"], env=env, cwd=ROOT)
    seeded = run([*flask, "seed-demo", "--scale", str(scale)], env=env, cwd=ROOT).stdout.strip().splitlines()[-1]
    # A bulk load leaves the planner without statistics and the visibility map unset
    # until autovacuum comes by; a database that has been in use has both.
    url = env["PORTAL_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return seeded


def serve(env: dict[str, str], port: int, threads: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "--workers",
            str(WORKERS),
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        env=env,
        cwd=ROOT,
    )
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not start")


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if match is None:
        raise RuntimeError("no CSRF token on the page")
    return match[1]


def signed_in(base: str, email: str, *, second_factor: bool) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10)
    token = csrf(client.get("/sign-in").text)
    response = client.post("/sign-in", data={"csrf_token": token, "email": email, "password": PASSWORD})
    if second_factor:
        token = csrf(client.get("/sign-in/code").text)
        response = client.post("/sign-in/code", data={"csrf_token": token, "code": pyotp.TOTP(DEMO_TOTP_SECRET).now()})
    if response.status_code != 302:
        raise RuntimeError(f"sign-in of {email} failed: {response.status_code}")
    return client


def page_bytes(client: httpx.Client, path: str) -> tuple[int, int]:
    """Bytes over the wire: the page, then each asset it links, as a browser with gzip fetches them."""
    headers = {"Accept-Encoding": "gzip"}
    page = client.get(path, headers=headers)
    html = len(page.content) if "Content-Encoding" not in page.headers else int(page.headers["Content-Length"])
    assets = 0
    for link in sorted(set(re.findall(r'(?:href|src)="(/assets/[^"]+)"', page.text))):
        response = client.get(link, headers=headers)
        assets += int(response.headers.get("Content-Length", len(response.content)))
    return html, assets


WRK_SCRIPT = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format('{"rps": %f, "p50": %f, "p95": %f, "p99": %f, "errors": %d}\\n',
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, errors))
end
"""


def load(base: str, path: str, cookie: str, seconds: int) -> dict[str, float]:
    script = BENCH / ".wrk-report.lua"
    script.write_text(WRK_SCRIPT)
    output = run(
        [
            "wrk",
            f"-t{THREADS}",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "-s",
            str(script),
            "-H",
            f"Cookie: {cookie}",
            f"{base}{path}",
        ]
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def cookie_of(client: httpx.Client) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def pages(env: dict[str, str], family: httpx.Client, staff: httpx.Client) -> list[tuple[str, str, httpx.Client]]:
    """The main pages, with ids of rows that exist at this size."""
    url = env["PORTAL_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as connection:
        family_request = connection.execute(
            "SELECT r.id FROM request r JOIN guardianship g ON g.household_id = r.household_id "
            'JOIN "user" u ON u.id = g.user_id WHERE u.email = %s ORDER BY r.id LIMIT 1',
            (FAMILY,),
        ).fetchone()[0]
        staff_request = connection.execute(
            "SELECT r.id FROM request r JOIN department_member m ON m.department_id = r.department_id "
            "JOIN \"user\" u ON u.id = m.user_id WHERE u.email = %s AND r.status IN ('open', 'in_progress') "
            "ORDER BY r.due_at LIMIT 1",
            (STAFF,),
        ).fetchone()[0]
        household = connection.execute("SELECT household_id FROM request WHERE id = %s", (staff_request,)).fetchone()[0]
    return [
        ("family home", "/family/", family),
        ("my account (contact)", "/account/contact", family),
        ("my requests", "/requests/", family),
        ("request page", f"/requests/{family_request}", family),
        ("new request form", "/requests/new", family),
        ("staff queue", "/staff/requests/", staff),
        ("staff request page", f"/staff/requests/{staff_request}", staff),
        ("feedback queue", "/staff/feedback/", staff),
        ("household page", f"/staff/households/{household}", staff),
    ]


def bench_size(args: argparse.Namespace, scale: int) -> tuple[str, list[PageResult], list[plans.PlanResult]]:
    database_url = fresh_database(args.postgres, f"portal_bench_{scale}")
    env = environment(database_url, args.port, args.redis)
    print(f"== {scale} requests: seeding", flush=True)
    seeded = seed(env, scale)
    print(f"   {seeded}", flush=True)
    server = serve(env, args.port, args.threads)
    try:
        base = f"http://127.0.0.1:{args.port}"
        family = signed_in(base, FAMILY, second_factor=False)
        staff = signed_in(base, STAFF, second_factor=True)
        results = []
        for name, path, client in pages(env, family, staff):
            if client.get(path).status_code != 200:
                raise RuntimeError(f"{path} does not answer 200")
            load(base, path, cookie_of(client), 2)  # warm up: connections, caches
            figures = load(base, path, cookie_of(client), args.seconds)
            html, assets = page_bytes(client, path)
            result = PageResult(
                name,
                re.sub(r"/\d+", "/<id>", path),
                round(figures["rps"], 1),
                round(figures["p50"], 2),
                round(figures["p95"], 2),
                round(figures["p99"], 2),
                int(figures["errors"]),
                html,
                assets,
            )
            print(
                f"   {name:<22} {result.requests_per_second:>8.1f} req/s  p50 {result.p50_ms:6.2f} ms  "
                f"p95 {result.p95_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  {result.total_kb:5.1f} KB",
                flush=True,
            )
            results.append(result)
        return seeded, results, plans.measure(env)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = re.findall(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = f"{names[0]} ({len(names)} cores)" if names else cpu
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(re.search(r"MemTotal:\s*(\d+)", meminfo.read_text())[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    return f"{cpu}{memory}; {platform.system()} {platform.release()}; Python {platform.python_version()}"


def report(sizes: dict[int, tuple[str, list[PageResult], list[plans.PlanResult]]], args: argparse.Namespace) -> str:
    seconds, postgres = args.seconds, args.postgres
    workers = f"{WORKERS} sync workers" if args.threads == 1 else f"{WORKERS} gthread workers of {args.threads} threads"
    with psycopg.connect(postgres) as connection:
        version = connection.execute("SHOW server_version").fetchone()[0]
    lines = [
        "# Benchmark results",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `bench/run` on {machine()}; PostgreSQL {version};",
        f"gunicorn with {workers}; wrk with {CONNECTIONS} connections ({THREADS} threads), "
        f"{seconds} s per page after a 2 s warm-up, over loopback, one signed-in session per role.",
        "wrk, PostgreSQL and the app share the machine's cores, as they would not in production.",
        "Bytes are what a browser with gzip receives: the page, plus every asset it links.",
        f"Targets: p99 under {TARGET_P99_MS} ms; the staff queue at the largest size no slower than 1.5x "
        f"its speed at the smallest; every page with its assets under {TARGET_PAGE_KB} KB.",
        "",
    ]
    for scale, (seeded, results, queue_plans) in sizes.items():
        lines += [
            f"## {scale:,} requests in the database",
            "",
            f"{seeded}",
            "",
            "| page | path | req/s | p50 ms | p95 ms | p99 ms | errors | HTML bytes | asset bytes | total KB |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in results:
            flag = " ⚠" if r.p99_ms >= TARGET_P99_MS else ""
            lines.append(
                f"| {r.page} | `{r.path}` | {r.requests_per_second} | {r.p50_ms} | {r.p95_ms} | {r.p99_ms}{flag} | "
                f"{r.errors} | {r.html_bytes} | {r.asset_bytes} | {r.total_kb:.1f} |"
            )
        lines += [
            "",
            "Queue queries under EXPLAIN ANALYZE (planning and execution, every statement of the view):",
            "",
            "| queue view | statements | ms in the database | tables read whole |",
            "|---|---:|---:|---|",
        ]
        for p in queue_plans:
            lines.append(f"| {p.view} | {p.statements} | {p.database_ms} | {', '.join(p.whole_table_reads) or '—'} |")
        lines.append("")
    if len(sizes) > 1:
        smallest, largest = min(sizes), max(sizes)
        queue = {s: next(r for r in sizes[s][1] if r.page == "staff queue") for s in (smallest, largest)}
        ratio = queue[largest].p50_ms / queue[smallest].p50_ms if queue[smallest].p50_ms else float("nan")
        lines += [
            "## Staff queue as the data grows",
            "",
            f"p50 {queue[smallest].p50_ms} ms at {smallest:,} requests, {queue[largest].p50_ms} ms at "
            f"{largest:,}: {ratio:.2f}x (target at most 1.5x); requests/s "
            f"{queue[smallest].requests_per_second} and {queue[largest].requests_per_second}.",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000", help="requests in the database, comma-separated")
    parser.add_argument("--seconds", type=int, default=10, help="load per page, in seconds")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--port", type=int, default=8097)
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per gunicorn worker (1: sync workers, more: gthread)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    sizes = {}
    for scale in sorted(int(size) for size in args.sizes.split(",")):
        sizes[scale] = bench_size(args, scale)
    (BENCH / "results.json").write_text(
        json.dumps(
            {
                scale: {"pages": [asdict(r) for r in results], "queue_plans": [asdict(p) for p in queue_plans]}
                for scale, (_s, results, queue_plans) in sizes.items()
            },
            indent=2,
        )
        + "\n"
    )
    (BENCH / "RESULTS.md").write_text(report(sizes, args) + "\n")
    (BENCH / ".wrk-report.lua").unlink(missing_ok=True)
    print("Wrote bench/RESULTS.md and bench/results.json")


if __name__ == "__main__":
    main()
