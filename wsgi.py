"""Production entry point: gunicorn wsgi:app."""

import gc

from portal import create_app

app = create_app()
# What the app built at start lives as long as the worker: frozen, a full collection no
# longer walks it (about 110 ms each time, every few hundred requests, with the worker
# stalled; with it frozen, at most 12 ms: bench/RESULTS.md, seventh round).
gc.collect()
gc.freeze()
