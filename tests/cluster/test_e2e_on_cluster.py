"""The end-to-end client suite (tests/e2e) against a cluster router instead of `tessera local`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cluster_helpers import REPO, now, report

pytestmark = pytest.mark.slow

E2E_TIMEOUT = float(os.environ.get("TESSERA_CLUSTER_E2E_TIMEOUT", "900"))


def test_e2e_suite_passes_against_router(fresh_cluster):
    """Start a fresh cluster and run `pytest tests/e2e` with TESSERA_ENDPOINT set to router1:
    every test that does not need its own local server (those skip themselves) passes."""
    c = fresh_cluster()
    env = dict(os.environ, TESSERA_ENDPOINT=c.url("router1"))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "console_output_style=classic",
           str(REPO / "tests" / "e2e")]
    t0 = now()
    try:
        p = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=E2E_TIMEOUT,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        pytest.fail(f"tests/e2e against the cluster did not finish within {E2E_TIMEOUT:.0f}s\n{out[-5000:]}",
                    pytrace=False)
    summary = [ln for ln in p.stdout.splitlines() if ln.strip()][-1:] or ["(no output)"]
    report(f"e2e suite against router1 of a fresh cluster: {summary[0]} ({now() - t0:.0f}s)")
    assert p.returncode == 0, f"tests/e2e failed against the cluster (exit {p.returncode}):\n{p.stdout[-15000:]}\n{p.stderr[-3000:]}"
