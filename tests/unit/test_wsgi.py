"""The production entry point (gunicorn wsgi:app), in a fresh interpreter as a worker starts it."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_served_app_leaves_what_it_built_at_start_out_of_the_garbage_collector(tmp_path):
    """A full collection walks every object the collector tracks: with the app's
    startup objects among them, about 110 ms with the worker stalled, every few hundred
    requests (bench/RESULTS.md, seventh round). They live as long as the worker, so
    the entry point freezes them, and a full collection walks only what came after."""
    script = "\n".join(
        [
            "import gc",
            "import wsgi",
            "print(gc.get_freeze_count(), len(gc.get_objects()))",
        ]
    )
    environment = {
        "PATH": "/usr/bin:/bin",
        "PORTAL_SECRET_KEY": "test-secret-key-not-for-production",
        "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
    }
    ran = subprocess.run(  # noqa: S603 (this interpreter, this test's own script)
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env=environment,
    )
    assert ran.returncode == 0, ran.stderr
    frozen, tracked = map(int, ran.stdout.split())
    assert frozen > 10 * tracked, f"{frozen} objects frozen, {tracked} still walked by every full collection"
