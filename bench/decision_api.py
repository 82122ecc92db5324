"""Benchmark of the decision API (issue 3, "Performance"), with its two baselines in the same run.

    .venv/bin/python bench/decision_api.py [--duration 10] [--rounds 1] [--quick] [--keep]

Needs the Debian packages wrk and nginx (`apt-get install -y wrk nginx`; exit 2 if missing).
Everything runs on 127.0.0.1 and is bounded in time (about 1 min with the defaults):

1. builds, in a temporary directory, a configuration with a 1,000-tool inventory (real tools and
   actions plus generated in-house ones, with version specifiers; the release watcher is off and
   [github] points at 127.0.0.1), a SQLite store holding approvals (with sha256) for three
   versions of every tool, blocks by version, by digest and of whole tools (some expiring), a few
   tools in warn mode, and a `check` token;
2. starts `toolgate serve` on it, answers every query once with `POST /v1/decisions` to print the
   answer mix, and takes a median-sized real answer as the baselines' static body;
3. measures with `wrk -t2 -c32 -d<duration> --latency` (keep-alive, a warm-up run first) and the
   same Lua script for every target (`bench/decision_api.lua`: ~6,000 distinct queries varying
   tool, version, sometimes sha256 or asset; bearer token, runner and job headers):
     - nginx (Debian package) serving that answer as a static file: foreground (`daemon off`),
       own prefix and config, `worker_processes auto` (one worker per core), access log off;
     - `bench/bare_asgi.py`: a constant JSON body on toolgate's stack (uvicorn, uvloop,
       httptools, one process, access log off);
     - toolgate's `GET /v1/decision`;
   with `--rounds N` the three are measured N times, interleaved, and each ratio is the median
   of the per-round ratios (rounds share the same background load);
4. measures toolgate's latency at half its peak rate (wrk's Lua `delay()` paces each of the 32
   connections: rate = 32 x 1000 / delay_ms, corrected once for the observed overhead; the
   achieved rate is printed);
5. times `POST /v1/decisions` with 1,000 queries (~50 sequential requests with httpx);
6. prints the table (with the server's CPU time per request, read from /proc: all its threads
   and child processes, which includes the audit writer process, and the event-loop thread
   alone; and wrk's), the ratios against the targets, writes
   bench/results/decision_api.json and exits 1 if a target is missed.

This machine has 2 cores: wrk's two threads (~12-20 us of CPU per request) and the server share
them, so absolute figures are far below a dedicated load generator's, and a busy machine (other
processes; the load average is printed) makes them noisy. The same wrk settings and script are
used for every target so that the ratios stay fair. Between toolgate runs the script waits for
the audit buffer to drain (`audit_pending` counts the batch being written too), so each run pays
for its own audit writes.

On a loaded machine the req/s ratios swing by +-0.1 from round to round; the CPU columns are
steadier. Where toolgate's CPU goes (all per request, in the full run): the fast route's own work
is ~4.5 us in-process (bare ASGI: 0.35 us); the event-loop thread spends ~8 us more than the bare
app's; the audit writer process ~10 us, almost all of it SQLite inserting each record into
decision_log and its three indexes (7 us a row on an empty table, 17 us at 100k rows).

The indexes stay (issue 17 measured dropping one): each random-position index, (tool, at) and
(tool, version), costs 4-5 us of the writer's CPU per row at 300k rows (10k-row batches: three
indexes 11.9 us, two 7.2-8.0, (at) alone 3.2), but each has a reader that needs it when one tool
has most of the log (30% of 500k rows): one tool's audit page without (tool, at) sorts that
tool's rows (234 ms instead of 0.3 ms), the exposure of one version without (tool, version)
scans them (430 ms instead of 2 ms). With the audit insert removed altogether the server's CPU
per request fell from ~43 to ~36 us, but its event-loop thread stayed at ~33 us against the bare
app's ~21 us and the req/s ratio within the round-to-round noise: on this machine the gap is in
the per-request path (uvicorn's two transport writes cost more in the busier process), not in
the audit.

Every process the script starts is stopped in a `finally`, also on Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from verifier.demo.loopback import free_port

BENCH_DIR = Path(__file__).resolve().parent
LUA_SCRIPT = BENCH_DIR / "decision_api.lua"
RESULTS = BENCH_DIR / "results" / "decision_api.json"
VENV_BIN = Path(sys.executable).parent

THREADS = 2
CONNECTIONS = 32
TOOLS = 1000
BATCH_SIZE = 1000

TARGETS = {
    "nginx_ratio": (">=", 0.30),
    "bare_asgi_ratio": (">=", 0.80),
    "half_peak_p99_ms": ("<=", 5.0),
    "batch_p50_ms": ("<=", 20.0),
}

# --- the inventory --------------------------------------------------------------------------

REAL_BINARIES = """
trivy aquasecurity/trivy; cosign sigstore/cosign; syft anchore/syft; grype anchore/grype;
terraform hashicorp/terraform; kubectl kubernetes/kubernetes; helm helm/helm;
kustomize kubernetes-sigs/kustomize; k9s derailed/k9s; jq jqlang/jq; yq mikefarah/yq; gh cli/cli;
golangci-lint golangci/golangci-lint; goreleaser goreleaser/goreleaser; hadolint hadolint/hadolint;
shellcheck koalaman/shellcheck; kind kubernetes-sigs/kind; minikube kubernetes/minikube;
argocd argoproj/argo-cd; flux fluxcd/flux2; sops getsops/sops; age FiloSottile/age;
vault hashicorp/vault; packer hashicorp/packer; tflint terraform-linters/tflint;
terragrunt gruntwork-io/terragrunt; crane google/go-containerregistry; skopeo containers/skopeo;
buildx docker/buildx; dive wagoodman/dive; gitleaks gitleaks/gitleaks;
trufflehog trufflesecurity/trufflehog; oras oras-project/oras; helmfile helmfile/helmfile;
stern stern/stern; kubeconform yannh/kubeconform; conftest open-policy-agent/conftest;
opa open-policy-agent/opa; cue cue-lang/cue; buf bufbuild/buf; protoc protocolbuffers/protobuf;
ko ko-build/ko; kubeseal bitnami-labs/sealed-secrets; velero vmware-tanzu/velero;
istioctl istio/istio; linkerd linkerd/linkerd2; cilium cilium/cilium-cli; eksctl eksctl-io/eksctl;
tfsec aquasecurity/tfsec; kube-linter stackrox/kube-linter; pluto FairwindsOps/pluto;
osv-scanner google/osv-scanner; cyclonedx-cli CycloneDX/cyclonedx-cli;
slsa-verifier slsa-framework/slsa-verifier; rekor-cli sigstore/rekor; gitsign sigstore/gitsign;
task go-task/task; just casey/just; ripgrep BurntSushi/ripgrep; hugo gohugoio/hugo;
step smallstep/cli; grpcurl fullstorydev/grpcurl; k6 grafana/k6; actionlint rhysd/actionlint;
reviewdog reviewdog/reviewdog; lefthook evilmartians/lefthook; nerdctl containerd/nerdctl;
crictl kubernetes-sigs/cri-tools; etcd etcd-io/etcd; consul hashicorp/consul;
nomad hashicorp/nomad; pulumi pulumi/pulumi; sentry-cli getsentry/sentry-cli;
"""
REAL_ACTIONS = """
actions/checkout; actions/setup-go; actions/setup-node; actions/setup-python; actions/cache;
actions/upload-artifact; actions/download-artifact; aquasecurity/trivy-action;
aquasecurity/setup-trivy; docker/login-action; docker/build-push-action;
docker/setup-buildx-action; docker/metadata-action; sigstore/cosign-installer;
github/codeql-action; hashicorp/setup-terraform; azure/setup-helm;
golangci/golangci-lint-action; goreleaser/goreleaser-action; softprops/action-gh-release;
peter-evans/create-pull-request; actions/github-script; actions/setup-java; ruby/setup-ruby;
"""
TEAMS = ("platform", "infra", "release", "sec", "data", "ml", "edge", "payments", "search", "iam")
NOUNS = (
    "deployer", "lint", "scanner", "migrator", "packager", "signer", "notifier", "bootstrap",
    "agent", "proxy", "exporter", "syncer", "codegen", "schema-check", "bundler", "fmt",
    "tester", "seeder", "cli", "operator",
)  # fmt: skip
FLAVOURS = ("", "-go", "-py", "-rs", "-js")


@dataclass
class Tool:
    name: str
    source: str
    kind: str
    major: int
    minors: list[int]
    versions_spec: list[str]
    releases: list[str] = field(default_factory=list)
    approved: list[str] = field(default_factory=list)
    mode: str | None = None


def digest(*parts: str) -> str:
    return hashlib.sha256("@".join(parts).encode()).hexdigest()


def make_inventory(rng: random.Random) -> list[Tool]:
    """1,000 tools: real binaries and actions first, then generated in-house tools."""
    entries: list[tuple[str, str, str]] = []
    for item in REAL_BINARIES.replace("\n", " ").split(";"):
        if item.strip():
            name, repo = item.split()
            entries.append((name, f"github:{repo}", "binary"))
    for item in REAL_ACTIONS.replace("\n", " ").split(";"):
        if item.strip():
            entries.append((item.strip(), f"github:{item.strip()}", "action"))
    taken = {name for name, _, _ in entries}
    for flavour in FLAVOURS:
        for team in TEAMS:
            for noun in NOUNS:
                name = f"{team}-{noun}{flavour}"
                if len(entries) < TOOLS and name not in taken:
                    entries.append((name, f"github:acme-{team}/{noun}{flavour}", "binary"))
    tools = []
    for name, source, kind in entries[:TOOLS]:
        major = rng.choice((0, 1, 1, 2, 3, 4))
        newest = rng.randint(3, 40)
        minors = list(range(newest - 3, newest + 1))
        releases = [f"{major}.{m}.{p}" for m in minors for p in range(3)]
        shape = rng.random()
        if shape < 0.60:
            spec = [f">={major}.{minors[1]},<{major + 1}"]
        elif shape < 0.75:
            spec = rng.sample(releases[3:], 3)
        elif shape < 0.90:
            spec = []
        else:
            spec = [f">={major}.{minors[0]},<{major}.{minors[-1]}", f"{major}.{minors[-1]}.0"]
        tool = Tool(name, source, kind, major, minors, spec, releases)
        tool.approved = releases[-4:-1]  # three recent versions approved with their digests
        tool.mode = "warn" if rng.random() < 0.05 else None
        tools.append(tool)
    return tools


def toml_string(value: str) -> str:
    return json.dumps(value)


def write_config(workdir: Path, tools: list[Tool]) -> Path:
    lines = [
        "# generated by bench/decision_api.py",
        'state_dir = "state"',
        "",
        "[server]",
        'listen = "127.0.0.1:8750"',
        'snapshot_interval = "1s"',
        "",
        "[store]",
        f"url = {toml_string('sqlite:///' + str(workdir / 'state' / 'toolgate.db'))}",
        "",
        "[policy]",
        'unknown = "deny"',
        'mode = "enforce"',
        'cooldown = "72h"',
        "",
        "[github]",
        "# the benchmark never leaves 127.0.0.1: no release watcher, and nothing to reach",
        'api_url = "http://127.0.0.1:9"',
        'poll_interval = "0s"',
        "",
        "[audit]",
        'flush_interval = "1s"',
        "buffer_limit = 100000",
        "durable = false",
    ]
    for tool in tools:
        short = tool.name.rsplit("/", 1)[-1]
        lines += [
            "",
            "[[tool]]",
            f"name = {toml_string(tool.name)}",
            f"source = {toml_string(tool.source)}",
            f"kind = {toml_string(tool.kind)}",
            f"versions = {json.dumps(tool.versions_spec)}",
        ]
        if tool.mode:
            lines.append(f"mode = {toml_string(tool.mode)}")
        if tool.kind == "binary":
            lines.append(f"assets = {json.dumps([f'{short}_{{version}}_linux_amd64.tar.gz'])}")
            lines.append(f"checksums = {toml_string(f'{short}_{{version}}_checksums.txt')}")
    path = workdir / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def populate_store(config_path: Path, tools: list[Tool], rng: random.Random) -> tuple[str, dict]:
    """Sync the inventory, record approvals and blocks, create a `check` token."""
    from verifier.config import load_config
    from verifier.inventory import add_override, sync_tools
    from verifier.store.engine import create_store_engine
    from verifier.store.migrate import upgrade
    from verifier.tokens import Scope, create_token

    config = load_config(config_path)
    engine = create_store_engine(config.store_url)
    upgrade(engine)
    sync_tools(engine, config)
    counts = {"approvals": 0, "version_blocks": 0, "digest_blocks": 0, "tool_blocks": 0}
    for tool in tools:
        for version in tool.approved:
            add_override(
                engine,
                kind="approve",
                tool=tool.name,
                actor="cli:release-manager",
                reason=f"reviewed release notes and checksums of {tool.name} {version}",
                version=version,
                sha256=digest(tool.name, version),
            )
            counts["approvals"] += 1
        roll = rng.random()
        if roll < 0.15:
            add_override(
                engine,
                kind="block",
                tool=tool.name,
                actor="cli:security-oncall",
                reason=f"GHSA-{rng.randrange(16**4):04x}-{rng.randrange(16**4):04x}: "
                "compromised release",
                version=tool.approved[-1],
                expires_in=timedelta(days=30) if rng.random() < 0.5 else None,
            )
            counts["version_blocks"] += 1
        elif roll < 0.18:
            add_override(
                engine,
                kind="block",
                tool=tool.name,
                actor="cli:security-oncall",
                reason="digest published in an incident report",
                sha256=digest(tool.name, tool.approved[0]),
            )
            counts["digest_blocks"] += 1
        elif roll < 0.19:
            add_override(
                engine,
                kind="block",
                tool=tool.name,
                actor="cli:security-oncall",
                reason="vendor account takeover under investigation",
                expires_in=timedelta(days=7),
            )
            counts["tool_blocks"] += 1
    token = create_token(engine, "bench-runner", {Scope.CHECK}, "cli:bench")
    engine.dispose()
    return token, counts


def make_queries(tools: list[Tool], rng: random.Random) -> list[dict[str, str]]:
    """The query mix: approved, unapproved and unknown versions, some digests, unknown tools."""
    queries: list[dict[str, str]] = []
    for tool in tools:
        short = tool.name.rsplit("/", 1)[-1]
        asked = [*tool.approved, *rng.sample(tool.releases[:-4], 2)]
        asked.append(f"{tool.major}.{tool.minors[-1] + 1}.0")  # not released
        for version in asked:
            query = {"tool": tool.name}
            query["version"] = (
                f"v{version}" if tool.kind == "action" or rng.random() < 0.1 else version
            )
            roll = rng.random()
            if roll < 0.25:
                query["sha256"] = digest(tool.name, version)  # the approved digest
            elif roll < 0.30:
                query["sha256"] = digest(tool.name, version, "tampered")
            elif roll < 0.40 and tool.kind == "binary":
                query["asset"] = f"{short}_{version}_linux_amd64.tar.gz"
            queries.append(query)
    for n in range(60):
        queries.append({"tool": f"unlisted-tool-{n}", "version": f"1.{n}.0"})
    rng.shuffle(queries)
    return queries


# --- processes ------------------------------------------------------------------------------


class Processes:
    """Every process the benchmark starts, stopped in reverse order whatever happens."""

    def __init__(self) -> None:
        self._procs: list[tuple[str, subprocess.Popen[bytes], int]] = []

    def start(
        self, name: str, argv: list[str], log: Path, stop_signal: int = signal.SIGTERM
    ) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._procs.append((name, proc, stop_signal))
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
        for entry in list(self._procs):
            if entry[1] is proc:
                self._procs.remove(entry)
                _terminate(entry[1], entry[2], timeout)

    def stop_all(self) -> None:
        while self._procs:
            _name, proc, sig = self._procs.pop()
            _terminate(proc, sig, 20)


def _terminate(proc: subprocess.Popen[bytes], sig: int, timeout: float) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)  # own session: the process and any children it forked
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    except ProcessLookupError:
        pass


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SetupError(f"{url}: the server exited ({proc.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SetupError(f"{url} did not answer 200 within {timeout:.0f}s; log {log}")


class SetupError(Exception):
    pass


# --- wrk ------------------------------------------------------------------------------------


def run_wrk(
    procs: Processes,
    url: str,
    duration: float,
    paths_file: Path,
    token: str,
    workdir: Path,
    delay_ms: float = 0.0,
    server_pid: int | None = None,
) -> dict[str, Any]:
    """One wrk run; with `server_pid`, also the CPU the server (and wrk) spent per request."""
    argv = [
        "wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{duration:g}s", "--latency",
        "--timeout", "5s", "-s", str(LUA_SCRIPT), url, "--", str(paths_file), token,
        f"{delay_ms:.4f}",
    ]  # fmt: skip
    log = workdir / "wrk.log"
    server_before = process_cpu(server_pid) if server_pid else None
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = procs.start("wrk", argv, log)
    try:
        proc.wait(duration + 30)
    finally:
        procs.stop(proc)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    text = log.read_text()
    line = next((ln for ln in text.splitlines() if ln.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise SetupError(f"wrk failed ({proc.returncode}):\n{text}")
    stats = json.loads(line.removeprefix("WRKJSON "))
    stats["rps"] = stats["requests"] / (stats["duration_us"] / 1e6)
    stats["errors"] = sum(v for k, v in stats.items() if k.startswith("errors_"))
    stats["wrk_output"] = text.split("WRKJSON")[0].strip()
    requests = max(1, stats["requests"])
    wrk_cpu = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    stats["wrk_cpu_us_per_request"] = wrk_cpu * 1e6 / requests
    if server_before is not None and server_pid is not None:
        after = process_cpu(server_pid)
        stats["server_cpu_us_per_request"] = (after[0] - server_before[0]) * 1e6 / requests
        stats["server_main_thread_cpu_us_per_request"] = (
            (after[1] - server_before[1]) * 1e6 / requests
        )
        stats["server_cores_busy"] = (after[0] - server_before[0]) / (stats["duration_us"] / 1e6)
    return stats


CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(path: Path) -> list[str]:
    text = path.read_text()
    return text[text.rindex(")") + 2 :].split()  # after "pid (comm) "


def process_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of `pid` and its descendants, and of `pid`'s main thread alone (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int(_stat_fields(entry / "stat")[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = _stat_fields(Path(f"/proc/{current}/stat"))
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICK  # utime + stime
        todo.extend(children.get(current, []))
    try:
        main = _stat_fields(Path(f"/proc/{pid}/task/{pid}/stat"))
        main_thread = (int(main[11]) + int(main[12])) / CLOCK_TICK
    except OSError:
        main_thread = 0.0
    return total, main_thread


def ms(us: float) -> float:
    return us / 1000.0


# --- the benchmark --------------------------------------------------------------------------


def check_prerequisites() -> dict[str, str]:
    found = {
        name: shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
        for name in ("wrk", "nginx")
    }
    missing = [name for name, path in found.items() if not path]
    if missing:
        print(
            f"missing: {', '.join(missing)}. Install them (Debian/Ubuntu) with:\n"
            "  sudo apt-get install -y wrk nginx",
            file=sys.stderr,
        )
        sys.exit(2)
    return {name: str(path) for name, path in found.items()}


def nginx_config(prefix: Path, port: int, body_dir: Path) -> Path:
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    user = "user root root;" if os.geteuid() == 0 else ""
    conf = f"""
daemon off;
{user}
worker_processes auto;   # one worker per core
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 10000000;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {body_dir};
        location = /v1/decision {{
            default_type application/json;
            try_files /answer.json =404;
        }}
    }}
}}
"""
    path = prefix / "nginx.conf"
    path.write_text(conf)
    return path


def audit_drained(base: str, headers: dict[str, str], timeout: float = 60) -> dict[str, Any]:
    """Wait until the audit buffer is written (so runs do not overlap), and report it."""
    started = time.monotonic()
    while True:
        ready = httpx.get(f"{base}/readyz", timeout=10).json()
        if ready.get("audit_pending", 0) == 0 or time.monotonic() - started > timeout:
            ready["drain_seconds"] = round(time.monotonic() - started, 2)
            return ready
        time.sleep(0.25)


def batch_bench(base: str, headers: dict[str, str], queries: list[dict[str, str]], n: int) -> dict:
    bodies = []
    for start in range(0, len(queries), BATCH_SIZE):
        chunk = queries[start : start + BATCH_SIZE]
        if len(chunk) == BATCH_SIZE:
            bodies.append(json.dumps({"queries": chunk}).encode())
    times = []
    with httpx.Client(headers={**headers, "content-type": "application/json"}, timeout=30) as c:
        for i in range(n + 3):
            body = bodies[i % len(bodies)]
            started = time.perf_counter()
            response = c.post(f"{base}/v1/decisions", content=body)
            elapsed = time.perf_counter() - started
            if response.status_code != 200 or len(response.json()["decisions"]) != BATCH_SIZE:
                raise SetupError(f"batch answered {response.status_code}: {response.text[:500]}")
            if i >= 3:  # the first requests warm the connection
                times.append(elapsed * 1000)
    times.sort()
    return {
        "requests": len(times),
        "queries_per_request": BATCH_SIZE,
        "p50_ms": statistics.median(times),
        "p99_ms": times[min(len(times) - 1, round(0.99 * (len(times) - 1)))],
        "max_ms": times[-1],
    }


def answer_mix(base: str, headers: dict[str, str], queries: list[dict[str, str]]) -> tuple:
    """Every query answered once (this also warms the snapshot's memo): outcome and reason mix."""
    outcomes: dict[str, int] = {}
    reasons: dict[str, int] = {}
    bodies: list[bytes] = []
    with httpx.Client(headers=headers, timeout=30) as client:
        for start in range(0, len(queries), BATCH_SIZE):
            chunk = queries[start : start + BATCH_SIZE]
            response = client.post(f"{base}/v1/decisions", json={"queries": chunk})
            response.raise_for_status()
            for answer in response.json()["decisions"]:
                outcomes[answer["decision"]] = outcomes.get(answer["decision"], 0) + 1
                for reason in answer["reasons"]:
                    reasons[reason["code"]] = reasons.get(reason["code"], 0) + 1
        # the static answer for the baselines: a real GET answer of median size
        sample = sorted(queries[:400], key=lambda q: json.dumps(q))
        for query in sample:
            response = client.get(f"{base}/v1/decision", params=query)
            response.raise_for_status()
            bodies.append(response.content)
    bodies.sort(key=len)
    return outcomes, reasons, bodies[len(bodies) // 2]


COLUMNS = (
    f"{'target':<38} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'err':>4} "
    f"{'server CPU us/req':>17} {'(loop thread)':>13} {'wrk CPU us/req':>14}"
)


def fmt_row(name: str, stats: dict[str, Any]) -> str:
    return (
        f"{name:<38} {stats['rps']:>9,.0f} {ms(stats['p50_us']):>7.2f} "
        f"{ms(stats['p99_us']):>7.2f} {ms(stats['max_us']):>7.2f} {stats['errors']:>4} "
        f"{stats.get('server_cpu_us_per_request', 0):>17.1f} "
        f"{stats.get('server_main_thread_cpu_us_per_request', 0):>13.1f} "
        f"{stats['wrk_cpu_us_per_request']:>14.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark toolgate's decision API (issue 3).")
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="interleaved rounds of nginx, bare ASGI and toolgate; the median round counts",
    )
    parser.add_argument("--quick", action="store_true", help="3 s runs, 20 batch requests")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if args.quick:
        args.duration = 3.0
    binaries = check_prerequisites()

    def on_sigterm(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in background
    workdir = Path(tempfile.mkdtemp(prefix="toolgate-bench-"))
    procs = Processes()
    try:
        return run(args, workdir, procs, binaries)
    except SetupError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the servers", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def paired_ratio(runs: list[dict[str, Any]], baselines: list[dict[str, Any]]) -> float:
    return statistics.median(
        run["rps"] / base["rps"] for run, base in zip(runs, baselines, strict=True)
    )


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(runs, key=lambda stats: stats["rps"])[len(runs) // 2]


def run(args: argparse.Namespace, workdir: Path, procs: Processes, binaries: dict[str, str]) -> int:
    duration = args.duration
    warmup = 1.0 if args.quick else 2.0
    batch_requests = 20 if args.quick else 50
    rng = random.Random(3)
    t0 = time.monotonic()
    tools = make_inventory(rng)
    config_path = write_config(workdir, tools)
    token, facts = populate_store(config_path, tools, rng)
    queries = make_queries(tools, rng)
    paths_file = workdir / "paths.txt"
    paths_file.write_text("".join(f"/v1/decision?{urlencode(q)}\n" for q in queries))
    print(
        f"inventory: {len(tools)} tools, {facts['approvals']} approvals, "
        f"{facts['version_blocks']} version blocks, {facts['digest_blocks']} digest blocks, "
        f"{facts['tool_blocks']} whole-tool blocks; {len(queries)} distinct queries "
        f"(set up in {time.monotonic() - t0:.1f}s)"
    )
    headers = {"authorization": f"Bearer {token}"}

    # toolgate first: the baselines serve one of its answers
    tg_port = free_port()
    tg_log = workdir / "toolgate.log"
    toolgate = procs.start(
        "toolgate",
        [str(VENV_BIN / "toolgate"), "serve", "--config", str(config_path),
         "--listen", f"127.0.0.1:{tg_port}"],
        tg_log,
    )  # fmt: skip
    base = f"http://127.0.0.1:{tg_port}"
    wait_http(f"{base}/readyz", toolgate, tg_log)
    outcomes, reasons, sample_body = answer_mix(base, headers, queries)
    print(f"answers: {dict(sorted(outcomes.items()))}; reasons: {dict(sorted(reasons.items()))}")
    body_dir = workdir / "static"
    body_dir.mkdir()
    (body_dir / "answer.json").write_bytes(sample_body)
    os.chmod(workdir, 0o755)  # nginx workers read the static answer
    print(f"static answer for the baselines ({len(sample_body)} bytes): {sample_body.decode()}")

    # (a) nginx serving that answer as a static file
    ng_port = free_port()
    ng_prefix = workdir / "nginx"
    ng_conf = nginx_config(ng_prefix, ng_port, body_dir)
    ng_log = workdir / "nginx.log"
    nginx = procs.start(
        "nginx",
        [binaries["nginx"], "-p", str(ng_prefix), "-c", str(ng_conf),
         "-e", str(ng_prefix / "error.log")],
        ng_log,
    )  # fmt: skip
    wait_http(f"http://127.0.0.1:{ng_port}/v1/decision", nginx, ng_log)
    # (b) the bare ASGI app on the same server stack
    bare_port = free_port()
    bare_log = workdir / "bare.log"
    bare = procs.start(
        "bare-asgi",
        [sys.executable, str(BENCH_DIR / "bare_asgi.py"), "--port", str(bare_port),
         "--body-file", str(body_dir / "answer.json")],
        bare_log,
    )  # fmt: skip
    wait_http(f"http://127.0.0.1:{bare_port}/v1/decision", bare, bare_log)

    targets = {
        "nginx": ("nginx static file", f"http://127.0.0.1:{ng_port}", nginx.pid),
        "bare_asgi": ("bare ASGI (uvicorn+uvloop+httptools)", f"http://127.0.0.1:{bare_port}",
                      bare.pid),
        "toolgate": ("toolgate GET /v1/decision", base, toolgate.pid),
    }  # fmt: skip
    load_before = os.getloadavg()
    if load_before[0] > 0.7:
        print(
            f"\nnote: load average {load_before[0]:.2f} before measuring: other processes "
            "compete for the CPUs, figures will be noisy (see --rounds)"
        )
    print(
        f"\nwrk -t{THREADS} -c{CONNECTIONS} -d{duration:g}s --latency, keep-alive, {warmup:g}s "
        f"warm-up before each run; {os.cpu_count()} CPUs shared by wrk and the server"
    )
    print(COLUMNS + "\n" + "-" * len(COLUMNS), flush=True)
    rounds: dict[str, list[dict[str, Any]]] = {key: [] for key in targets}
    after_peak: dict[str, Any] = {}
    for round_no in range(args.rounds):
        for key, (label, url, pid) in targets.items():
            if key == "toolgate":
                audit_drained(base, headers)  # no flush of earlier work in the measured run
            run_wrk(procs, url, warmup, paths_file, token, workdir)
            stats = run_wrk(procs, url, duration, paths_file, token, workdir, server_pid=pid)
            if stats["errors"]:
                raise SetupError(f"{label} answered with errors: {stats['wrk_output']}")
            if key == "toolgate":
                after_peak = audit_drained(base, headers)
            rounds[key].append(stats)
            suffix = f" [{round_no + 1}]" if args.rounds > 1 else ""
            print(fmt_row(label + suffix, stats), flush=True)
    procs.stop(nginx)
    procs.stop(bare)
    results: dict[str, Any] = {key: median_run(runs) for key, runs in rounds.items()}
    peak = results["toolgate"]

    # p99 at half the peak rate: each connection waits delay ms after each response
    target_rate = peak["rps"] / 2
    delay_ms = CONNECTIONS * 1000 / target_rate
    half = run_wrk(procs, base, duration, paths_file, token, workdir, delay_ms, toolgate.pid)
    if abs(half["rps"] - target_rate) > 0.1 * target_rate:
        # each connection's cycle is delay + latency + client overhead: correct once for the
        # overhead observed (cycle at the achieved rate minus the delay asked for)
        overhead_ms = CONNECTIONS * 1000 / half["rps"] - delay_ms
        delay_ms = max(0.0, CONNECTIONS * 1000 / target_rate - overhead_ms)
        audit_drained(base, headers)
        half = run_wrk(procs, base, duration, paths_file, token, workdir, delay_ms, toolgate.pid)
    half["target_rps"] = target_rate
    half["delay_ms"] = delay_ms
    results["toolgate_half_peak"] = half
    print(fmt_row(f"toolgate at half peak ({target_rate:,.0f}/s asked)", half), flush=True)
    audit_drained(base, headers)

    batch = results["batch"] = batch_bench(base, headers, queries, batch_requests)
    print(
        f"\nPOST /v1/decisions, {BATCH_SIZE} queries, {batch['requests']} sequential requests: "
        f"p50 {batch['p50_ms']:.1f} ms, p99 {batch['p99_ms']:.1f} ms, max {batch['max_ms']:.1f} ms"
    )
    final = audit_drained(base, headers)
    metrics = httpx.get(f"{base}/metrics", timeout=10).text
    decisions_counted = sum(
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("toolgate_decisions_total{")
    )

    # ratios are taken within each round (same minute, same background load), then the median
    figures = {
        "nginx_ratio": paired_ratio(rounds["toolgate"], rounds["nginx"]),
        "bare_asgi_ratio": paired_ratio(rounds["toolgate"], rounds["bare_asgi"]),
        "half_peak_p99_ms": ms(half["p99_us"]),
        "batch_p50_ms": batch["p50_ms"],
    }
    label = f"median of {args.rounds} rounds" if args.rounds > 1 else "one round"
    print(f"\n{'figure (' + label + ')':<36} {'value':>8}   target")
    missed = []
    for key, value in figures.items():
        op, bound = TARGETS[key]
        ok = value >= bound if op == ">=" else value <= bound
        if not ok:
            missed.append(key)
        unit = "" if key.endswith("ratio") else " ms"
        verdict = "ok" if ok else "MISSED"
        print(f"  {key:<34} {value:>8.2f}{unit:<3} {op} {bound:g}{unit}  {verdict}")
    print(
        f"\naudit: {final.get('audit_dropped', 0)} records dropped; after the peak run the "
        f"buffer drained in {after_peak.get('drain_seconds', 0)}s; "
        f"decisions counted by /metrics: {decisions_counted:,.0f}"
    )

    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    nginx_version = subprocess.run([binaries["nginx"], "-v"], capture_output=True, text=True)
    report = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([sys.executable, *sys.argv]),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "wrk": (wrk_version.stdout + wrk_version.stderr).splitlines()[0],
            "nginx": nginx_version.stderr.strip(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "wrk": {
            "threads": THREADS,
            "connections": CONNECTIONS,
            "duration_s": duration,
            "warmup_s": warmup,
            "rounds": args.rounds,
            "script": "bench/decision_api.lua",
        },
        "nginx_workers": "auto (one per core)",
        "inventory": {"tools": len(tools), **facts, "distinct_queries": len(queries)},
        "answers": {"outcomes": outcomes, "reasons": reasons},
        "static_answer_bytes": len(sample_body),
        "results": {name: _strip(stats) for name, stats in results.items()},
        "rounds": {name: [_strip(stats) for stats in runs] for name, runs in rounds.items()},
        "figures": figures,
        "targets": {key: f"{op} {bound}" for key, (op, bound) in TARGETS.items()},
        "missed": missed,
        "audit": {
            "dropped": final.get("audit_dropped"),
            "drain_seconds_after_peak": after_peak.get("drain_seconds"),
            "decisions_counted": decisions_counted,
        },
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"figures written to {RESULTS.relative_to(BENCH_DIR.parent)}")
    if missed:
        print(f"targets missed: {', '.join(missed)}")
        return 1
    print("all targets met")
    return 0


def _strip(stats: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in stats.items() if key != "wrk_output"}


if __name__ == "__main__":
    sys.exit(main())
