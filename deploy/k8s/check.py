#!/usr/bin/env python3
"""Checks that a rendered Tessera kustomization hangs together: what a schema can't see.

    check.py [--pull-policy Never] [--image-tag 0.1.0] [--kind-cluster deploy/kind/cluster.yaml]
             [--name NAME] RENDERED.yaml

scripts/validate-k8s runs it on every render after `kubernetes-validate --strict`. Checks:
  * every object in the one Namespace; ConfigMaps that pods refer to exist, with those keys;
  * each workload is pinned to one zone; selectors match their templates; Services select pods
    that have their target ports; StatefulSets' Services are headless and publish not-ready
    addresses; every pod is under exactly one PodDisruptionBudget (the eviction API refuses a
    pod under two);
  * each container has requests and limits, an exec readiness probe and a liveness probe (exec
    or TCP) aimed at its own port, a non-root, read-only, no-capabilities security context;
  * the entrypoints (scripts/node.sh, scripts/dax.sh, taken from the rendered ConfigMap) run,
    with stand-ins for the Tessera binaries, in every pod's environment: node ids 1..6 and 1..3,
    one peer list agreed by all, each pod's own entry naming its DNS name and its pinned zone,
    the routers' --nodes equal to the storage peers, DAX's --routers a Service over the routers;
  * with --kind-cluster, the kind config has one control plane and three workers labelled with
    exactly the zones the workloads are pinned to.
Prints one line per problem and exits 1 if there is any.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
from urllib.parse import urlparse

import yaml

ZONE_KEY = "topology.kubernetes.io/zone"
BINARIES = ("tessera-node", "tessera-router", "tessera-dax", "tessera")

problems = []


def problem(msg):
    problems.append(msg)


def name_of(obj):
    return f"{obj['kind']}/{obj['metadata']['name']}"


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def zone_of(pod_spec):
    """The zone values a pod template's required node affinity allows."""
    terms = (
        pod_spec.get("affinity", {})
        .get("nodeAffinity", {})
        .get("requiredDuringSchedulingIgnoredDuringExecution", {})
        .get("nodeSelectorTerms", [])
    )
    values = [
        v
        for term in terms
        for expr in term.get("matchExpressions", [])
        if expr.get("key") == ZONE_KEY and expr.get("operator") == "In"
        for v in expr.get("values", [])
    ]
    return values


def parse_flags(argv):
    """`--flag value` and `--flag=value` into a dict (bare flags map to True)."""
    flags, i = {}, 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--"):
            if "=" in arg:
                key, value = arg[2:].split("=", 1)
            elif i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                key, value = arg[2:], argv[i + 1]
                i += 1
            else:
                key, value = arg[2:], True
            flags[key] = value
        i += 1
    return flags


def parse_list(spec, with_az):
    """`ID@AZ=HOST:PORT[:CLUSTER_PORT],...` (with_az) or `ID=HOST:PORT,...` into
    {id: (az, host, port, cluster_port or None)}."""
    out = {}
    for entry in spec.split(","):
        ident, addr = entry.split("=", 1)
        az = None
        if with_az:
            ident, az = ident.split("@", 1)
        host, port, *cluster = addr.split(":")
        out[int(ident)] = (az, host, int(port), int(cluster[0]) if cluster else None)
    return out


def expand(text, env):
    """Kubernetes' $(VAR) expansion in command and args ($$ escapes)."""
    return re.sub(
        r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
        lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)),
        text,
    )


class Rendered:
    def __init__(self, path):
        with open(path) as f:
            self.objects = [o for o in yaml.safe_load_all(f) if o]
        self.by_kind = {}
        for obj in self.objects:
            self.by_kind.setdefault(obj["kind"], []).append(obj)
        self.configmaps = {o["metadata"]["name"]: o.get("data", {}) for o in self.of("ConfigMap")}
        self.workloads = self.of("StatefulSet") + self.of("Deployment")

    def of(self, kind):
        return self.by_kind.get(kind, [])

    def env_of(self, container):
        """A container's environment, ConfigMap references resolved."""
        env = {}
        for src in container.get("envFrom", []):
            ref = src.get("configMapRef", {}).get("name")
            if ref not in self.configmaps:
                problem(f"envFrom names ConfigMap {ref!r}, which is not rendered")
                continue
            env.update(self.configmaps[ref])
        for var in container.get("env", []):
            if "value" in var:
                env[var["name"]] = var["value"]
                continue
            ref = var.get("valueFrom", {}).get("configMapKeyRef", {})
            data = self.configmaps.get(ref.get("name"))
            if data is None or ref.get("key") not in data:
                problem(
                    f"env {var['name']} refers to ConfigMap {ref.get('name')!r} key {ref.get('key')!r}, which is not rendered"
                )
                continue
            env[var["name"]] = data[ref["key"]]
        return env


def check_namespace(r):
    namespaces = [o["metadata"]["name"] for o in r.of("Namespace")]
    if len(namespaces) != 1:
        problem(f"expected one Namespace, found {namespaces}")
        return
    for obj in r.objects:
        if obj["kind"] != "Namespace" and obj["metadata"].get("namespace") != namespaces[0]:
            problem(f"{name_of(obj)} is not in namespace {namespaces[0]}")


def check_pod_template(r, w, pull_policy, image_tag):
    spec = w["spec"]["template"]["spec"]
    labels = w["spec"]["template"]["metadata"].get("labels", {})
    if not matches(w["spec"]["selector"].get("matchLabels"), labels):
        problem(f"{name_of(w)}: selector does not match its pod template's labels")
    zones = zone_of(spec)
    if len(zones) != 1:
        problem(f"{name_of(w)}: expected a required nodeAffinity on one {ZONE_KEY}, found {zones}")
    sc = spec.get("securityContext", {})
    if not (sc.get("runAsNonRoot") is True and sc.get("runAsUser", 0) > 0):
        problem(f"{name_of(w)}: pod must run as a non-root user (runAsNonRoot, runAsUser)")
    if spec.get("enableServiceLinks") is not False:
        problem(f"{name_of(w)}: enableServiceLinks must be false (Service tessera would inject TESSERA_PORT)")
    if spec.get("automountServiceAccountToken") is not False:
        problem(f"{name_of(w)}: automountServiceAccountToken should be false (Tessera never calls the API server)")
    for vol in spec.get("volumes", []):
        ref = vol.get("configMap", {}).get("name")
        if ref is not None and ref not in r.configmaps:
            problem(f"{name_of(w)}: volume {vol['name']} names ConfigMap {ref!r}, which is not rendered")
    for c in spec["containers"]:
        where = f"{name_of(w)} container {c['name']}"
        image = c.get("image", "")
        if ":" not in image or image.endswith(":latest"):
            problem(f"{where}: image {image!r} needs a pinned tag")
        elif image_tag and image.rsplit(":", 1)[1] != image_tag:
            problem(f"{where}: image {image!r} is not tagged {image_tag}, the version deploy/images/build tags")
        if pull_policy and c.get("imagePullPolicy") != pull_policy:
            problem(f"{where}: imagePullPolicy is {c.get('imagePullPolicy')}, expected {pull_policy}")
        log_json = r.env_of(c).get("TESSERA_LOG_JSON")
        if log_json not in (None, "true", "false"):
            problem(
                f"{where}: TESSERA_LOG_JSON={log_json!r}: the binaries (and so the probes) accept only true or false"
            )
        res = c.get("resources", {})
        for part in ("requests", "limits"):
            for what in ("cpu", "memory"):
                if what not in res.get(part, {}):
                    problem(f"{where}: no {part}.{what}")
        ports = [str(p["containerPort"]) for p in c.get("ports", [])]
        names = [p.get("name") for p in c.get("ports", [])]
        for probe in ("readinessProbe", "livenessProbe"):
            command = c.get(probe, {}).get("exec", {}).get("command")
            tcp = c.get(probe, {}).get("tcpSocket", {}).get("port")
            if probe == "livenessProbe" and tcp is not None:
                if tcp not in names and str(tcp) not in ports:
                    problem(f"{where}: {probe} checks port {tcp!r}, not one of its own {ports}")
            elif not command:
                problem(f"{where}: no exec {probe}")
            elif not any(f"127.0.0.1:{p}" in " ".join(command) for p in ports):
                problem(f"{where}: {probe} {command} does not aim at its own port {ports}")
        csc = c.get("securityContext", {})
        if not (
            csc.get("allowPrivilegeEscalation") is False
            and csc.get("readOnlyRootFilesystem") is True
            and csc.get("capabilities", {}).get("drop") == ["ALL"]
        ):
            problem(
                f"{where}: securityContext must forbid privilege escalation, drop ALL capabilities, mount / read-only"
            )


def check_services_and_budgets(r):
    templates = [(w, w["spec"]["template"]) for w in r.workloads]
    for svc in r.of("Service"):
        selected = [
            (w, t) for w, t in templates if matches(svc["spec"].get("selector"), t["metadata"].get("labels", {}))
        ]
        if not selected:
            problem(f"{name_of(svc)} selects no pod")
        for port in svc["spec"].get("ports", []):
            target = port.get("targetPort", port["port"])
            for w, t in selected:
                c_ports = [p for c in t["spec"]["containers"] for p in c.get("ports", [])]
                if not any(p.get("name") == target or p["containerPort"] == target for p in c_ports):
                    problem(f"{name_of(svc)} port {port['port']}: {name_of(w)} has no container port {target!r}")
    services = {s["metadata"]["name"]: s for s in r.of("Service")}
    for sts in r.of("StatefulSet"):
        svc = services.get(sts["spec"].get("serviceName"))
        if svc is None:
            problem(f"{name_of(sts)}: serviceName {sts['spec'].get('serviceName')!r} is not a rendered Service")
            continue
        if svc["spec"].get("clusterIP") != "None" or svc["spec"].get("publishNotReadyAddresses") is not True:
            problem(f"{name_of(svc)} (peer names of {name_of(sts)}) must be headless and publishNotReadyAddresses")
        if not matches(svc["spec"].get("selector"), sts["spec"]["template"]["metadata"].get("labels", {})):
            problem(f"{name_of(svc)} does not select the pods of {name_of(sts)}, so they get no DNS names")
    for w, t in templates:
        budgets = [
            p["metadata"]["name"]
            for p in r.of("PodDisruptionBudget")
            if matches(p["spec"]["selector"].get("matchLabels"), t["metadata"].get("labels", {}))
        ]
        if len(budgets) != 1:
            problem(f"{name_of(w)}: pods must be under exactly one PodDisruptionBudget, are under {budgets}")


class Entrypoints:
    """Runs each pod's command with stand-ins for the Tessera binaries that record their argv."""

    def __init__(self, r, tmp):
        self.r, self.tmp = r, tmp
        self.stubs = os.path.join(tmp, "bin")
        os.makedirs(self.stubs)
        for binary in BINARIES + ("tessera-entrypoint",):
            path = os.path.join(self.stubs, binary)
            with open(path, "w") as f:
                if binary == "tessera-entrypoint":  # the images' wrapper: runs its arguments
                    f.write('#!/bin/sh\nexec "$@"\n')
                else:
                    f.write('#!/bin/sh\nprintf \'%s\\0\' "$(basename "$0")" "$@" > "$STUB_ARGV"\n')
            os.chmod(path, 0o755)

    def run(self, w, hostname):
        """(exit code, stderr, argv of the exec'd Tessera binary or None)."""
        spec = w["spec"]["template"]["spec"]
        c = spec["containers"][0]
        env = self.r.env_of(c)
        command = [expand(a, env) for a in c.get("command", [])]
        args = [expand(a, env) for a in c.get("args", [])]
        if not command:  # the image's entrypoint: its binary, named like the image
            return 0, "", [c["image"].split(":")[0]] + args
        argv = command + args
        # Lay out the ConfigMap volumes the command reads from, under tmp.
        root = os.path.join(self.tmp, "root", hostname)
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for mount in c.get("volumeMounts", []):
            cm = volumes.get(mount["name"], {}).get("configMap")
            if not cm:
                continue
            where = os.path.join(root, mount["mountPath"].lstrip("/"))
            os.makedirs(where, exist_ok=True)
            for key, text in self.r.configmaps.get(cm["name"], {}).items():
                with open(os.path.join(where, key), "w") as f:
                    f.write(text)
            argv = [
                os.path.join(where, a[len(mount["mountPath"]) + 1 :]) if a.startswith(mount["mountPath"] + "/") else a
                for a in argv
            ]
        out = os.path.join(self.tmp, f"argv-{hostname}")
        if os.path.exists(out):
            os.remove(out)
        env.update(HOSTNAME=hostname, STUB_ARGV=out, PATH=f"{self.stubs}:/usr/bin:/bin")
        proc = subprocess.run(argv, check=False, env=env, capture_output=True, text=True, timeout=30)
        if not os.path.exists(out):
            return proc.returncode, proc.stderr, None
        with open(out) as f:
            return proc.returncode, proc.stderr, f.read().split("\0")[:-1]


def pods(w):
    """The pod names a workload makes (one representative name for a Deployment)."""
    name = w["metadata"]["name"]
    if w["kind"] == "StatefulSet":
        return [f"{name}-{i}" for i in range(w["spec"].get("replicas", 1))]
    return [f"{name}-5d8f7c9b6-x2x4z"]


def port_named(w, port_name):
    for c in w["spec"]["template"]["spec"]["containers"]:
        for p in c.get("ports", []):
            if p.get("name") == port_name:
                return p["containerPort"]
    return None


def check_processes(r, tmp):
    """Runs every pod's entrypoint and checks the resulting command lines against each other."""
    runner = Entrypoints(r, tmp)
    tiers = {}  # app name -> [(workload, pod, flags)]
    for w in r.workloads:
        app = w["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/name")
        for pod in pods(w):
            code, err, argv = runner.run(w, pod)
            if code != 0 or argv is None:
                problem(f"{name_of(w)}: entrypoint failed for pod {pod} (exit {code}): {err.strip()}")
                continue
            if argv[0] != app:
                problem(f"{name_of(w)}: pod {pod} runs {argv[0]}, expected {app}")
            tiers.setdefault(app, []).append((w, pod, parse_flags(argv[1:])))
        if w["kind"] == "StatefulSet":  # the entrypoint must refuse a pod beyond the peer list
            extra = f"{w['metadata']['name']}-{w['spec'].get('replicas', 1)}"
            code, _, argv = runner.run(w, extra)
            if code == 0 or argv is not None:
                problem(f"{name_of(w)}: entrypoint started pod {extra}, which has no place in the peer list")

    def peer_checks(tier, count, port_name):
        entries = tiers.get(tier, [])
        ids = sorted(int(f.get("node-id", 0)) for _, _, f in entries)
        if ids != list(range(1, count + 1)):
            problem(f"{tier}: node ids are {ids}, expected 1..{count}")
        peer_specs = {f.get("peers") for _, _, f in entries}
        if len(peer_specs) != 1:
            problem(f"{tier}: pods disagree on --peers: {sorted(map(str, peer_specs))}")
            return {}
        peers = parse_list(peer_specs.pop(), with_az=True)
        if sorted(peers) != list(range(1, count + 1)):
            problem(f"{tier}: --peers has ids {sorted(peers)}, expected 1..{count}")
        for w, pod, f in entries:
            az, host, port, cluster = peers.get(int(f.get("node-id", 0)), (None, None, None, None))
            if cluster is not None and (
                cluster != port_named(w, "cluster") or not str(f.get("cluster-listen", "")).endswith(f":{cluster}")
            ):
                problem(
                    f"{tier}: pod {pod} has cluster port {cluster} in --peers, --cluster-listen "
                    f"{f.get('cluster-listen')!r}, container port {port_named(w, 'cluster')}"
                )
            zone = zone_of(w["spec"]["template"]["spec"])
            if host != f"{pod}.{w['spec']['serviceName']}":
                problem(f"{tier}: pod {pod} is {host!r} in --peers, not its DNS name {pod}.{w['spec']['serviceName']}")
            if not (az == f.get("az") and [az] == zone):
                problem(f"{tier}: pod {pod} has --az {f.get('az')!r}, {az!r} in --peers, pinned to {zone}")
            if port != port_named(w, port_name) or not str(f.get("listen", "")).endswith(f":{port}"):
                problem(
                    f"{tier}: pod {pod} listens on {f.get('listen')!r}, {port} in --peers, container port {port_named(w, port_name)}"
                )
        return peers

    storage = peer_checks("tessera-node", 6, "grpc")
    peer_checks("tessera-dax", 3, "http")
    zones = sorted({f.get("az") for _, _, f in tiers.get("tessera-node", [])})
    if len(zones) != 3:
        problem(f"storage nodes are in zones {zones}, expected three")

    routers = tiers.get("tessera-router", [])
    if len({zone_of(w["spec"]["template"]["spec"])[0] for w, _, _ in routers}) != 3:
        problem("routers do not cover all three zones")
    for w, pod, f in routers:
        nodes = {k: v[1:] for k, v in parse_list(f.get("nodes", ""), with_az=False).items()}
        if nodes != {k: v[1:] for k, v in storage.items()}:
            problem(f"router pod {pod}: --nodes {f.get('nodes')!r} differs from the storage nodes' --peers")
        if [f.get("az")] != zone_of(w["spec"]["template"]["spec"]):
            problem(f"router pod {pod}: --az {f.get('az')!r} is not the zone it is pinned to")
        if not str(f.get("listen", "")).endswith(f":{port_named(w, 'http')}"):
            problem(f"router pod {pod}: --listen {f.get('listen')!r} is not its container port")

    services = {s["metadata"]["name"]: s for s in r.of("Service")}
    for _, pod, f in tiers.get("tessera-dax", []):
        url = urlparse(str(f.get("routers", "")))
        svc = services.get(url.hostname or "")
        if (
            svc is None
            or svc["spec"]["selector"].get("app.kubernetes.io/name") != "tessera-router"
            or url.port not in [p["port"] for p in svc["spec"]["ports"]]
        ):
            problem(f"DAX pod {pod}: --routers {f.get('routers')!r} is not a Service port over the routers")
    return zones


def check_kind_cluster(path, zones):
    with open(path) as f:
        cluster = yaml.safe_load(f)
    if cluster.get("kind") != "Cluster" or cluster.get("apiVersion") != "kind.x-k8s.io/v1alpha4":
        problem(f"{path}: expected kind Cluster, apiVersion kind.x-k8s.io/v1alpha4")
    nodes = cluster.get("nodes", [])
    roles = [n.get("role") for n in nodes]
    if roles.count("control-plane") != 1 or roles.count("worker") != 3 or len(roles) != 4:
        problem(f"{path}: expected one control-plane and three workers, found {roles}")
    worker_zones = sorted(n.get("labels", {}).get(ZONE_KEY, "") for n in nodes if n.get("role") == "worker")
    if worker_zones != sorted(zones):
        problem(f"{path}: workers are labelled {ZONE_KEY}={worker_zones}, the workloads are pinned to {sorted(zones)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rendered")
    parser.add_argument("--pull-policy", help="the imagePullPolicy every container must have")
    parser.add_argument("--kind-cluster", help="a kind Cluster config whose workers must carry the zones")
    parser.add_argument("--image-tag", help="the tag every image must have (what deploy/images/build tags)")
    parser.add_argument("--name", help="what to call the render in messages (default: its path)")
    args = parser.parse_args()
    r = Rendered(args.rendered)
    check_namespace(r)
    for w in r.workloads:
        check_pod_template(r, w, args.pull_policy, args.image_tag)
    check_services_and_budgets(r)
    with tempfile.TemporaryDirectory() as tmp:
        zones = check_processes(r, tmp)
    if args.kind_cluster:
        check_kind_cluster(args.kind_cluster, zones)
    name = args.name or args.rendered
    for p in problems:
        print(f"{name}: {p}")
    print(
        f"{name}: {len(r.objects)} objects, {len(r.workloads)} workloads, zones {', '.join(zones)}: "
        f"{len(problems)} problem(s)"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
