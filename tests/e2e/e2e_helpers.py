"""Shared helpers for the end-to-end suite: starting `tessera local`, clients, raw HTTP, errors.

The fixtures in conftest.py are thin wrappers around these; test modules import what they need
from here directly (`from e2e_helpers import ...`).
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import select
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

REPO = pathlib.Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "x"
READY_RE = re.compile(r"^tessera local listening on (http://127\.0\.0\.1:(\d+))$")
START_TIMEOUT = float(os.environ.get("TESSERA_START_TIMEOUT", "30"))
STOP_TIMEOUT = 10.0

# No retries at all (standard mode counts the first attempt): a 500 or a throttle must surface.
CLIENT_CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"},
    connect_timeout=5,
    read_timeout=60,
)


# Opt-in: run the suite against an already running endpoint (e.g. a cluster router started by
# scripts/cluster) instead of starting `tessera local`. Tests that need their own local server
# are skipped in that mode.
EXTERNAL_ENDPOINT = os.environ.get("TESSERA_ENDPOINT", "").rstrip("/") or None


class ExternalServer:
    """Stand-in for `Server` when TESSERA_ENDPOINT is set: nothing to start or stop."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.port = int(endpoint.rsplit(":", 1)[1]) if re.search(r":\d+$", endpoint) else None

    def log_tail(self, n: int = 40) -> str:
        return f"(external endpoint {self.endpoint}: no server log)"

    def client(self):
        return make_client(self.endpoint)

    def resource(self):
        return make_resource(self.endpoint)


# With TESSERA_ENDPOINT (a cluster router), reads of tables are made strongly consistent: the
# suite checks read-your-writes, which DynamoDB (and a replicated Tessera cluster) only promises
# for ConsistentRead=true. TESSERA_E2E_STRONG_READS=0 turns it off. Tests that exist to read with
# ConsistentRead=False right after a write are skipped then.
EVENTUAL_READ_AFTER_WRITE_TESTS = {"test_items.py::test_consistent_read"}
STRONG_READ_OPS = ("GetItem", "Query", "Scan")


def strong_reads_by_default() -> bool:
    return bool(EXTERNAL_ENDPOINT) and os.environ.get("TESSERA_E2E_STRONG_READS", "1") != "0"


def strong_read_params(operation_name: str, params):
    """`params` of a DynamoDB read with ConsistentRead=true (not for index reads: a GSI refuses it)."""
    if not isinstance(params, dict):
        return params
    if operation_name in STRONG_READ_OPS and not params.get("IndexName"):
        return {**params, "ConsistentRead": True}
    if operation_name == "BatchGetItem" and isinstance(params.get("RequestItems"), dict):
        return {**params, "RequestItems": {
            t: ({**spec, "ConsistentRead": True} if isinstance(spec, dict) else spec)
            for t, spec in params["RequestItems"].items()
        }}
    return params


def force_consistent_reads() -> None:
    """Patch every botocore client in this process (boto3 and PynamoDB, which always sends
    ConsistentRead) so table reads are strongly consistent. Idempotent."""
    from botocore.client import BaseClient

    if getattr(BaseClient._make_api_call, "_tessera_strong_reads", False):
        return
    original = BaseClient._make_api_call

    def _make_api_call(self, operation_name, api_params):
        if self.meta.service_model.service_name == "dynamodb":
            api_params = strong_read_params(operation_name, api_params)
        return original(self, operation_name, api_params)

    _make_api_call._tessera_strong_reads = True
    BaseClient._make_api_call = _make_api_call


def tessera_bin() -> str:
    return os.environ.get("TESSERA_BIN") or str(REPO / "target" / "debug" / "tessera")


class Server:
    """One `tessera local` process. `start()` blocks until the ready line (or fails clearly)."""

    def __init__(self, work_dir: pathlib.Path, data_dir: pathlib.Path | None = None, in_memory: bool = False):
        self.work_dir = pathlib.Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = None if in_memory else pathlib.Path(data_dir or self.work_dir / "data")
        self.in_memory = in_memory
        self.proc: subprocess.Popen | None = None
        self.endpoint: str | None = None
        self.port: int | None = None
        self.starts = 0
        self._drain_thread: threading.Thread | None = None

    # --- logs -----------------------------------------------------------------------------
    @property
    def stderr_path(self) -> pathlib.Path:
        return self.work_dir / f"stderr.{self.starts}.log"

    @property
    def stdout_path(self) -> pathlib.Path:
        return self.work_dir / f"stdout.{self.starts}.log"

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = self.stderr_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no stderr log)"
        return "\n".join(lines[-n:]) or "(stderr empty)"

    # --- lifecycle --------------------------------------------------------------------------
    def command(self) -> list[str]:
        cmd = [tessera_bin(), "local", "--port", "0"]
        if self.in_memory:
            cmd.append("--in-memory")
        else:
            cmd += ["--data-dir", str(self.data_dir)]
        # e.g. TESSERA_LOCAL_ARGS="--engine raft": the same suite on the cluster's code path.
        return cmd + os.environ.get("TESSERA_LOCAL_ARGS", "").split()

    def start(self) -> "Server":
        assert self.proc is None or self.proc.poll() is not None, "server already running"
        binary = tessera_bin()
        if not os.path.exists(binary):
            pytest.fail(
                f"tessera binary not found at {binary} (build it with `cargo build -p tessera-cli`, "
                "or set TESSERA_BIN)",
                pytrace=False,
            )
        self.starts += 1
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        stderr = open(self.stderr_path, "wb")
        try:
            self.proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=self.work_dir,
                start_new_session=True,  # own process group: a forced kill takes any children too
            )
        finally:
            stderr.close()
        line, rest = self._read_ready_line()
        m = READY_RE.match(line)
        if not m:
            self._force_kill()
            pytest.fail(
                f"unexpected first stdout line from {' '.join(self.command())}: {line!r} "
                f"(expected 'tessera local listening on http://127.0.0.1:PORT')\n"
                f"stderr tail:\n{self.log_tail()}",
                pytrace=False,
            )
        self.endpoint = m.group(1)
        self.port = int(m.group(2))
        if self.port == 0:
            self._force_kill()
            pytest.fail("server reported port 0 instead of the port it bound", pytrace=False)
        self._drain_thread = threading.Thread(target=self._drain_stdout, args=(rest,), daemon=True)
        self._drain_thread.start()
        return self

    def _read_ready_line(self) -> tuple[str, bytes]:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + START_TIMEOUT
        buf = b""
        while b"\n" not in buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._force_kill()
                pytest.fail(
                    f"tessera did not print its 'listening on' line within {START_TIMEOUT:.0f}s; "
                    f"stdout so far: {buf!r}\nstderr tail:\n{self.log_tail()}",
                    pytrace=False,
                )
            ready, _, _ = select.select([fd], [], [], min(remaining, 0.2))
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    code = self._wait_exit(5)
                    pytest.fail(
                        f"tessera closed stdout before printing its 'listening on' line "
                        f"(exit code {code}); stdout: {buf!r}\nstderr tail:\n{self.log_tail()}",
                        pytrace=False,
                    )
                buf += chunk
            elif self.proc.poll() is not None:
                pytest.fail(
                    f"tessera exited with code {self.proc.returncode} before it was ready; "
                    f"stdout: {buf!r}\nstderr tail:\n{self.log_tail()}",
                    pytrace=False,
                )
        line, rest = buf.split(b"\n", 1)
        return line.decode("utf-8", "replace").rstrip("\r"), rest

    def _drain_stdout(self, already: bytes) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        with open(self.stdout_path, "wb") as out:
            out.write(already)
            for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):
                out.write(chunk)
                out.flush()

    def _wait_exit(self, timeout: float):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._force_kill()
            return self.proc.returncode

    def _killpg(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _force_kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self._killpg()
            self.proc.wait(timeout=10)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT):
        """SIGTERM, wait; SIGKILL if it does not exit in time. Returns the exit code (None if
        it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._force_kill()
            return None
        finally:
            if self._drain_thread is not None:
                self._drain_thread.join(timeout=2)

    def kill(self) -> int:
        """SIGKILL (no chance to flush anything) and wait."""
        assert self.proc is not None
        self._killpg()
        return self.proc.wait(timeout=STOP_TIMEOUT)

    def restart(self) -> "Server":
        if self.running():
            self.stop()
        return self.start()

    # --- clients ------------------------------------------------------------------------------
    def client(self):
        return make_client(self.endpoint)

    def resource(self):
        return make_resource(self.endpoint)


def make_client(endpoint: str):
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=CLIENT_CONFIG,
    )


def make_resource(endpoint: str):
    return boto3.resource(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=CLIENT_CONFIG,
    )


# --- tables ---------------------------------------------------------------------------------

def unique_name(hint: str = "t") -> str:
    hint = re.sub(r"[^a-zA-Z0-9_.-]+", "-", hint).strip("-")[:60] or "t"
    return f"e2e-{hint}-{uuid.uuid4().hex[:10]}"


def create_table(client, name: str, hash_key=("pk", "S"), range_key=None, wait: bool = True, **extra):
    """CreateTable (PAY_PER_REQUEST unless `extra` says otherwise) and wait until ACTIVE."""
    attrs = [{"AttributeName": hash_key[0], "AttributeType": hash_key[1]}]
    schema = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
    if range_key:
        attrs.append({"AttributeName": range_key[0], "AttributeType": range_key[1]})
        schema.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
    if "ProvisionedThroughput" not in extra and "BillingMode" not in extra:
        extra["BillingMode"] = "PAY_PER_REQUEST"
    resp = client.create_table(TableName=name, AttributeDefinitions=attrs, KeySchema=schema, **extra)
    if wait:
        wait_active(client, name)
    return resp


def wait_active(client, name: str) -> None:
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def batch_put(client, table: str, items: list[dict]) -> None:
    """Write items (low-level AttributeValue maps) 25 at a time; unprocessed items are an error."""
    for i in range(0, len(items), 25):
        chunk = items[i : i + 25]
        resp = client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": it}} for it in chunk]})
        assert resp.get("UnprocessedItems", {}) == {}, resp.get("UnprocessedItems")


# --- errors -----------------------------------------------------------------------------------

def error_of(excinfo_or_exc) -> tuple[str, str]:
    exc = getattr(excinfo_or_exc, "value", excinfo_or_exc)
    err = exc.response.get("Error", {})
    return err.get("Code"), err.get("Message")


def expect_error(fn, code: str, message: str | None = None, *, contains: str | None = None,
                 endswith: str | None = None, status: int = 400, **kwargs):
    """Call fn(**kwargs); it must fail with `code` (and HTTP `status`). `message` means exact
    equality; `contains` / `endswith` for texts whose envelope varies between AWS regions."""
    with pytest.raises(ClientError) as ei:
        fn(**kwargs)
    got_code, got_msg = error_of(ei)
    assert got_code == code, f"expected {code}, got {got_code}: {got_msg!r}"
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    if message is not None:
        assert got_msg == message
    if contains is not None:
        assert got_msg is not None and contains in got_msg, f"{contains!r} not in {got_msg!r}"
    if endswith is not None:
        assert got_msg is not None and got_msg.endswith(endswith), f"{got_msg!r} does not end with {endswith!r}"
    return ei.value.response


# --- raw HTTP -----------------------------------------------------------------------------------

FAKE_AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64
)


class RawResponse:
    def __init__(self, status: int, headers, body: bytes):
        self.status = status
        self.headers = headers  # email.message.Message: case-insensitive .get()
        self.body = body

    def json(self):
        return json.loads(self.body)


def raw_post(endpoint: str, body: bytes, target: str | None = "DynamoDB_20120810.ListTables",
             auth: bool = True, content_type: str = "application/x-amz-json-1.0") -> RawResponse:
    """POST a raw body with urllib (no SDK), optionally with a syntactically valid fake SigV4 header."""
    headers = {"Content-Type": content_type, "X-Amz-Date": "20260101T000000Z"}
    op = (target or "").rsplit(".", 1)[-1]
    if strong_reads_by_default() and op in STRONG_READ_OPS:
        try:
            params = json.loads(body)
        except ValueError:
            params = None
        if isinstance(params, dict) and "ConsistentRead" not in params:
            body = json.dumps(strong_read_params(op, params)).encode()
    if target is not None:
        headers["X-Amz-Target"] = target
    if auth:
        headers["Authorization"] = FAKE_AUTH
    req = urllib.request.Request(endpoint + "/", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return RawResponse(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return RawResponse(e.code, e.headers, e.read())


def post_op(endpoint: str, op: str, body: dict):
    """An operation's request as raw JSON (no client-side validation); its (status, JSON)."""
    r = raw_post(endpoint, json.dumps(body).encode(), target=f"DynamoDB_20120810.{op}")
    return r.status, r.json()


def op_error(endpoint: str, op: str, body: dict) -> tuple[str, str]:
    """(error type, message) of an operation that must fail with HTTP 400."""
    status, out = post_op(endpoint, op, body)
    assert status == 400, f"{op} {body}: expected an error, got {status} {out}"
    return out["__type"].rsplit("#", 1)[-1], out.get("message", out.get("Message"))


# --- AWS CLI ------------------------------------------------------------------------------------

def aws_cli_path() -> str:
    path = shutil.which("aws")
    if path is None:
        pytest.fail("the AWS CLI (`aws`) is not on PATH; run scripts/e2e-setup", pytrace=False)
    return path


def run_aws(endpoint: str, *args: str, timeout: float = 120):
    """Run `aws --endpoint-url URL --region us-east-1 --output json dynamodb ARGS...`.
    Returns (exit code, parsed JSON stdout or None, stderr)."""
    cmd = [aws_cli_path(), "--endpoint-url", endpoint, "--region", REGION, "--output", "json", "dynamodb", *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_PAGER="",
        AWS_MAX_ATTEMPTS="1",
        AWS_RETRY_MODE="standard",
        AWS_EC2_METADATA_DISABLED="true",
    )
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    out = None
    if p.stdout.strip():
        try:
            out = json.loads(p.stdout)
        except json.JSONDecodeError:
            out = p.stdout
    return p.returncode, out, p.stderr
