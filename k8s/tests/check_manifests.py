#!/usr/bin/env python3
"""Checks the rendered Kubernetes manifests against the binaries, and the alert rules.

Schema validation says a manifest is well formed; it cannot say that a probe asks the port
the binary listens on, or that the pod waits long enough for the binary's drain. This
does, reading the flags' environment names from the binaries' sources:

- every probe's port is a port of its container; a Vary container's gRPC probes ask its
  VARY_LISTEN_ADDR port (grpc.health.v1 is served there and nowhere else);
- VARY_LISTEN_ADDR and VARY_METRICS_ADDR are set (the defaults are 127.0.0.1, which the
  kubelet and Prometheus cannot reach), bind every address, and their ports are
  containerPorts;
- terminationGracePeriodSeconds exceeds the preStop sleep plus the drain
  (VARY_SHUTDOWN_GRACE_SECONDS for the control plane, VARY_SHUTDOWN_GRACE for the agent),
  and the control plane's liveness probe cannot fire during that drain;
- every VARY_* variable set on a Vary container is one its binary reads;
- the agent is a native sidecar (init container, restartPolicy Always), its state dir is
  an emptyDir larger than its spool bound, its token comes from a Secret;
- an HPA owns its Deployment's replica count (no spec.replicas), keeps two or more, and
  a PodDisruptionBudget covers the pods;
- every container runs as non-root, read-only root filesystem, no capabilities, no
  privilege escalation, with CPU and memory requests and limits;
- alert rules: structure, severities, known metric names, runbook anchors that exist in
  docs/operations.md, PromQL that parses (k8s/tests/promql_check.cjs).

Then it breaks copies of the manifests and rules one way at a time and requires each
break to be reported (the self-test), so a check that cannot fail is caught.

Usage: check_manifests.py --repo REPO_ROOT --rendered DIR_OF_RENDERED_YAML
(needs PyYAML, and NODE_PATH with @prometheus-io/lezer-promql for the PromQL check).
"""

from __future__ import annotations

import argparse
import copy
import ipaddress
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

# Which binary a container runs, by container name (the image name changes per overlay).
BINARY_OF_CONTAINER = {
    "control-plane": "control-plane",
    "migrate": "control-plane",
    "vary-edge-agent": "edge-agent",
}
# Where each binary's flags are defined (clap `env = "VARY_…"` attributes).
SOURCES_OF_BINARY = {
    "control-plane": ["control-plane/src"],
    "edge-agent": ["edge-agent/src"],
}
# Flags being added to the binaries while these manifests were written (issue 9); they
# count as known until they appear in the sources, and are listed as pending meanwhile.
PENDING_ENV = {
    "control-plane": {"VARY_TLS_CERT", "VARY_TLS_KEY", "VARY_TLS_CLIENT_CA"},
    "edge-agent": {
        "VARY_TOKEN",
        "VARY_TLS_CA",
        "VARY_TLS_CLIENT_CERT",
        "VARY_TLS_CLIENT_KEY",
        "VARY_API_TOKEN",
    },
}
# The binaries' defaults, used when a manifest does not set the variable.
DEFAULT_CONTROL_PLANE_GRACE_SECONDS = 20
DEFAULT_AGENT_GRACE_SECONDS = 10.0
DEFAULT_AGENT_SPOOL_MIB = 1024

# The metrics the binaries export (issue 9's list); alert rules may use only these.
METRICS = {
    "vary_rpc_requests_total": "counter",
    "vary_rpc_duration_seconds": "histogram",
    "vary_agents_connected": "gauge",
    "vary_agents_behind_head": "gauge",
    "vary_config_nacks_total": "counter",
    "vary_ingest_events_total": "counter",
    "vary_guardrail_evaluations_total": "counter",
    "vary_agent_config_revision": "gauge",
    "vary_agent_config_age_seconds": "gauge",
    "vary_agent_stream_connected": "gauge",
    "vary_agent_reconnects_total": "counter",
    "vary_agent_queue_depth": "gauge",
    "vary_agent_spool_bytes": "gauge",
    "vary_agent_events_forwarded_total": "counter",
    "vary_agent_events_dropped_total": "counter",
    "vary_agent_assign_duration_seconds": "histogram",
    "vary_agent_assignments_total": "counter",
}
SEVERITIES = {"critical", "warning", "info"}
RULES_FILE = "k8s/monitoring/vary.rules.yaml"
RUNBOOK_FILE = "docs/operations.md"
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    def check(self, ok: bool, where: str, message: str) -> None:
        self.checked += 1
        if not ok:
            self.problems.append(f"{where}: {message}")


# --- reading -------------------------------------------------------------------------------


def load_rendered(directory: Path) -> dict[str, list[dict[str, Any]]]:
    docs = {}
    for path in sorted(directory.glob("*.yaml")):
        docs[path.stem] = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    if not docs:
        raise SystemExit(f"no rendered manifests in {directory}")
    return docs


def known_env(repo: Path) -> dict[str, set[str]]:
    """VARY_* names each binary reads, from its clap attributes."""
    pattern = re.compile(r'env\s*=\s*"(VARY_[A-Z0-9_]+)"')
    names: dict[str, set[str]] = {}
    for binary, roots in SOURCES_OF_BINARY.items():
        found: set[str] = set()
        for root in roots:
            for source in (repo / root).rglob("*.rs"):
                found.update(pattern.findall(source.read_text()))
        if not found:
            raise SystemExit(f"no VARY_* flags found under {roots}: has the code moved?")
        names[binary] = found
    return names


def pod_templates(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        if doc.get("kind") in WORKLOAD_KINDS:
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def resolved_env(container: dict[str, Any], docs: list[dict[str, Any]]) -> dict[str, str | None]:
    """The container's environment: literal values, None for values from elsewhere."""
    env: dict[str, str | None] = {}
    config_maps = {
        doc["metadata"]["name"]: doc.get("data", {})
        for doc in docs
        if doc.get("kind") == "ConfigMap"
    }
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef")
        if ref:
            data = config_maps.get(ref["name"])
            if data is None and not ref.get("optional"):
                raise KeyError(f"ConfigMap {ref['name']} is not in the rendered output")
            env.update({f"{source.get('prefix', '')}{k}": v for k, v in (data or {}).items()})
    for item in container.get("env", []):
        env[item["name"]] = item.get("value") if "valueFrom" not in item else None
    return env


def parse_socket_addr(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def parse_duration_seconds(text: str) -> float:
    """The agent's duration syntax (edge-agent/src/config.rs parse_duration): 250ms, 5s, 2m."""
    match = re.fullmatch(r"(\d+)(ms|s|m)", text)
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    amount, unit = int(match.group(1)), match.group(2)
    return {"ms": amount / 1000, "s": float(amount), "m": amount * 60.0}[unit]


def parse_quantity_bytes(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?", str(text))
    if not match:
        raise ValueError(f"not a quantity: {text!r}")
    scale = {
        None: 1,
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
        "k": 10**3,
        "M": 10**6,
        "G": 10**9,
        "T": 10**12,
    }[match.group(2)]
    return float(match.group(1)) * scale


# --- manifest checks -------------------------------------------------------------------------


def check_manifests(
    docs_by_file: dict[str, list[dict[str, Any]]], env_names: dict[str, set[str]], report: Report
) -> None:
    vary_workloads = 0
    for file, docs in docs_by_file.items():
        check_scaling(file, docs, report)
        for workload, pod in pod_templates(docs):
            where = f"{file}: {workload}"
            vary_workloads += check_pod(where, pod, docs, env_names, report)
    report.check(vary_workloads > 0, "rendered manifests", "no Vary container found at all")


def check_scaling(file: str, docs: list[dict[str, Any]], report: Report) -> None:
    """An HPA owns its Deployment's replica count, keeps two or more replicas, and a PDB
    covers the same pods."""
    deployments = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "Deployment"}
    budgets = [d for d in docs if d.get("kind") == "PodDisruptionBudget"]
    for hpa in (d for d in docs if d.get("kind") == "HorizontalPodAutoscaler"):
        where = f"{file}: HorizontalPodAutoscaler/{hpa['metadata']['name']}"
        target = deployments.get(hpa["spec"]["scaleTargetRef"]["name"])
        report.check(target is not None, where, "its target Deployment is not in the output")
        if target is None:
            continue
        report.check(
            "replicas" not in target["spec"],
            where,
            "the Deployment sets spec.replicas: every apply would reset the HPA's count",
        )
        report.check(hpa["spec"].get("minReplicas", 1) >= 2, where, "minReplicas below 2")
        pod_labels = target["spec"]["template"]["metadata"]["labels"]
        report.check(
            any(
                all(pod_labels.get(k) == v for k, v in b["spec"]["selector"]["matchLabels"].items())
                for b in budgets
            ),
            where,
            "no PodDisruptionBudget selects the Deployment's pods",
        )


def check_pod(
    where: str,
    pod: dict[str, Any],
    docs: list[dict[str, Any]],
    env_names: dict[str, set[str]],
    report: Report,
) -> int:
    grace = pod.get("terminationGracePeriodSeconds", 30)
    pod_security = pod.get("securityContext", {})
    vary_containers = 0
    all_containers = [(c, False) for c in pod.get("containers", [])] + [
        (c, True) for c in pod.get("initContainers", [])
    ]
    main_prestop = max((prestop_sleep(c) for c in pod.get("containers", [])), default=0)
    for container, is_init in all_containers:
        cwhere = f"{where}: container {container['name']}"
        check_security(cwhere, container, pod_security, report)
        check_probe_ports(cwhere, container, report)
        binary = BINARY_OF_CONTAINER.get(container["name"])
        if binary is None:
            continue
        vary_containers += 1
        env = resolved_env(container, docs)
        for name in sorted(n for n in env if n.startswith("VARY_")):
            report.check(
                name in env_names[binary] or name in PENDING_ENV[binary],
                cwhere,
                f"{name} is not a flag of vary-{binary} (known: {sorted(env_names[binary])})",
            )
        is_sidecar = is_init and container.get("restartPolicy") == "Always"
        if binary == "edge-agent":
            report.check(
                is_sidecar,
                cwhere,
                "the agent must be a native sidecar: an init container with restartPolicy Always",
            )
        elif is_init and not is_sidecar:
            continue  # a run-to-completion step (migrate): no listener, no probes
        check_listeners(cwhere, container, env, report)
        if binary == "control-plane":
            check_control_plane_grace(cwhere, container, env, grace, report)
        else:
            check_agent(cwhere, pod, container, env, grace, main_prestop, report)
    return vary_containers


def check_security(
    where: str, container: dict[str, Any], pod_security: dict[str, Any], report: Report
) -> None:
    security = container.get("securityContext", {})
    run_as_non_root = security.get("runAsNonRoot", pod_security.get("runAsNonRoot"))
    report.check(run_as_non_root is True, where, "runAsNonRoot is not true")
    report.check(
        security.get("readOnlyRootFilesystem") is True, where, "readOnlyRootFilesystem is not true"
    )
    report.check(
        security.get("allowPrivilegeEscalation") is False,
        where,
        "allowPrivilegeEscalation is not false",
    )
    report.check(
        "ALL" in security.get("capabilities", {}).get("drop", []),
        where,
        "capabilities do not drop ALL",
    )
    resources = container.get("resources", {})
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            report.check(resource in resources.get(kind, {}), where, f"no {resource} {kind[:-1]}")


def container_ports(container: dict[str, Any]) -> dict[str | int, int]:
    ports: dict[str | int, int] = {}
    for port in container.get("ports", []):
        ports[port["containerPort"]] = port["containerPort"]
        if "name" in port:
            ports[port["name"]] = port["containerPort"]
    return ports


def probes(container: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = container.get(probe_name)
        if not probe:
            continue
        for handler in ("grpc", "tcpSocket", "httpGet"):
            if handler in probe:
                yield probe_name, handler, probe[handler].get("port")


def check_probe_ports(where: str, container: dict[str, Any], report: Report) -> None:
    ports = container_ports(container)
    for probe_name, handler, port in probes(container):
        report.check(
            port in ports,
            where,
            f"{probe_name} ({handler}) asks port {port!r}, not a port of this container "
            f"({sorted(map(str, ports))})",
        )


def prestop_sleep(container: dict[str, Any]) -> int:
    sleep = container.get("lifecycle", {}).get("preStop", {}).get("sleep")
    return int(sleep["seconds"]) if sleep else 0


def check_listeners(
    where: str, container: dict[str, Any], env: dict[str, str | None], report: Report
) -> None:
    ports = container_ports(container)
    listen_port = None
    for variable in ("VARY_LISTEN_ADDR", "VARY_METRICS_ADDR"):
        value = env.get(variable)
        if not value:
            report.check(
                False,
                where,
                f"{variable} is not set as a literal: the default binds 127.0.0.1, "
                "which the kubelet and Prometheus cannot reach",
            )
            continue
        host, port = parse_socket_addr(value)
        report.check(
            ipaddress.ip_address(host).is_unspecified,
            where,
            f"{variable}={value} binds one address only; the kubelet probes the pod IP",
        )
        report.check(
            port in ports.values(),
            where,
            f"{variable} port {port} is not a containerPort ({sorted(set(ports.values()))})",
        )
        if variable == "VARY_LISTEN_ADDR":
            listen_port = port
    kinds = {probe_name for probe_name, _, _ in probes(container)}
    for required in ("readinessProbe", "livenessProbe"):
        report.check(required in kinds, where, f"no {required}")
    for probe_name, handler, port in probes(container):
        if handler == "grpc":
            report.check(
                ports.get(port) == listen_port,
                where,
                f"{probe_name} asks grpc.health.v1 on port {port}, but the binary serves "
                f"it on its VARY_LISTEN_ADDR port {listen_port}",
            )


def check_control_plane_grace(
    where: str,
    container: dict[str, Any],
    env: dict[str, str | None],
    grace: int,
    report: Report,
) -> None:
    drain = int(env.get("VARY_SHUTDOWN_GRACE_SECONDS") or DEFAULT_CONTROL_PLANE_GRACE_SECONDS)
    prestop = prestop_sleep(container)
    report.check(
        grace > prestop + drain,
        where,
        f"terminationGracePeriodSeconds {grace} is not above preStop sleep {prestop} s + "
        f"VARY_SHUTDOWN_GRACE_SECONDS {drain}: the drain would be cut by SIGKILL",
    )
    liveness = container.get("livenessProbe")
    if liveness and "grpc" in liveness:
        window = liveness.get("periodSeconds", 10) * liveness.get("failureThreshold", 3)
        report.check(
            window > drain,
            where,
            f"gRPC liveness fails after {window} s of NOT_SERVING, shorter than the "
            f"{drain} s drain: draining replicas would be restarted",
        )


def check_agent(
    where: str,
    pod: dict[str, Any],
    container: dict[str, Any],
    env: dict[str, str | None],
    grace: int,
    main_prestop: int,
    report: Report,
) -> None:
    drain = parse_duration_seconds(env.get("VARY_SHUTDOWN_GRACE") or "10s")
    report.check(
        grace > main_prestop + drain,
        where,
        f"terminationGracePeriodSeconds {grace} is not above the app's preStop sleep "
        f"{main_prestop} s + the agent's VARY_SHUTDOWN_GRACE {drain:g} s (the sidecar stops last)",
    )
    token = next((e for e in container.get("env", []) if e["name"] == "VARY_TOKEN"), None)
    report.check(
        token is not None and "secretKeyRef" in token.get("valueFrom", {}),
        where,
        "VARY_TOKEN must come from a Secret (secretKeyRef)",
    )
    state_dir = env.get("VARY_STATE_DIR")
    mount = next(
        (m for m in container.get("volumeMounts", []) if m["mountPath"] == state_dir), None
    )
    report.check(mount is not None, where, f"VARY_STATE_DIR {state_dir!r} is not a volume mount")
    if mount is None:
        return
    volume = next((v for v in pod.get("volumes", []) if v["name"] == mount["name"]), {})
    empty_dir = volume.get("emptyDir")
    report.check(
        empty_dir is not None, where, f"the state dir volume {mount['name']} is not an emptyDir"
    )
    if empty_dir is None:
        return
    limit = empty_dir.get("sizeLimit")
    report.check(limit is not None, where, "the state dir emptyDir has no sizeLimit")
    if limit is None:
        return
    spool = int(env.get("VARY_SPOOL_MAX_MIB") or DEFAULT_AGENT_SPOOL_MIB) * 2**20
    report.check(
        spool < parse_quantity_bytes(limit),
        where,
        f"VARY_SPOOL_MAX_MIB ({spool // 2**20} MiB) does not fit the state dir's sizeLimit "
        f"{limit}: a full spool would get the pod evicted",
    )


# --- alert rules -----------------------------------------------------------------------------


def runbook_anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    anchors = set()
    for line in markdown.splitlines():
        match = re.match(r"#{1,6}\s+(.*)", line)
        if match:
            text = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


def check_rules(rules: dict[str, Any], anchors: set[str], report: Report) -> list[dict[str, str]]:
    """Structure, names and runbooks; returns the expressions for the PromQL parser."""
    expressions = []
    groups = rules.get("groups")
    report.check(isinstance(groups, list) and groups, RULES_FILE, "no groups")
    seen_alerts: set[str] = set()
    for group in groups or []:
        for rule in group.get("rules", []):
            name = rule.get("alert")
            where = f"{RULES_FILE}: {name}"
            report.check(bool(name), RULES_FILE, f"a rule without `alert` in {group.get('name')}")
            report.check(name not in seen_alerts, where, "alert name used twice")
            seen_alerts.add(name)
            expr = rule.get("expr", "")
            report.check(bool(expr.strip()), where, "no expr")
            expressions.append({"name": name, "expr": expr})
            if "for" in rule:
                report.check(
                    re.fullmatch(r"(\d+[smhd])+", str(rule["for"])) is not None,
                    where,
                    f"`for: {rule['for']}` is not a Prometheus duration",
                )
            severity = rule.get("labels", {}).get("severity")
            report.check(
                severity in SEVERITIES, where, f"severity {severity!r} not in {SEVERITIES}"
            )
            annotations = rule.get("annotations", {})
            report.check(bool(annotations.get("summary")), where, "no summary annotation")
            runbook = annotations.get("runbook", "")
            path, _, anchor = runbook.partition("#")
            report.check(
                path == RUNBOOK_FILE and anchor in anchors,
                where,
                f"runbook {runbook!r} is not a section of {RUNBOOK_FILE}",
            )
            for metric in set(re.findall(r"\bvary_[a-z0-9_]+", expr)):
                base = re.sub(r"_(bucket|count|sum)$", "", metric)
                known = metric in METRICS or METRICS.get(base) == "histogram"
                report.check(known, where, f"unknown metric {metric}")
    return expressions


def check_promql(repo: Path, expressions: list[dict[str, str]], report: Report) -> None:
    script = repo / "k8s/tests/promql_check.cjs"
    result = subprocess.run(
        ["node", str(script)],
        input=json.dumps(expressions),
        capture_output=True,
        text=True,
        env=os.environ,
    )
    if result.returncode not in (0, 1):
        raise SystemExit(f"promql_check.cjs failed to run: {result.stderr.strip()}")
    errors = json.loads(result.stdout)
    for expression in expressions:
        error = errors.get(expression["name"])
        report.check(error is None, f"{RULES_FILE}: {expression['name']}", f"PromQL: {error}")


# --- self-test -------------------------------------------------------------------------------


def find_container(docs_by_file: dict[str, list[dict[str, Any]]], file: str, name: str):
    for doc in docs_by_file[file]:
        if doc.get("kind") in WORKLOAD_KINDS:
            pod = doc["spec"]["template"]["spec"]
            for container in pod.get("containers", []) + pod.get("initContainers", []):
                if container["name"] == name:
                    return doc, pod, container
    raise KeyError(f"{file}: no container {name}")


def set_env(container: dict[str, Any], name: str, value: str) -> None:
    container.setdefault("env", []).append({"name": name, "value": value})


def self_test(
    docs_by_file: dict[str, list[dict[str, Any]]],
    env_names: dict[str, set[str]],
    rules: dict[str, Any],
    anchors: set[str],
    repo: Path,
) -> tuple[list[str], int]:
    """Each break must produce a problem that names it; returns the breaks that did not,
    and how many breaks were tried."""

    def manifest_break(file: str, container: str, mutate: Callable[..., None]):
        def run() -> Report:
            broken = copy.deepcopy(docs_by_file)
            mutate(*find_container(broken, file, container))
            report = Report()
            check_manifests({file: broken[file]}, env_names, report)
            return report

        return run

    def rules_break(mutate: Callable[[dict[str, Any]], None], parse: bool = False):
        def run() -> Report:
            broken = copy.deepcopy(rules)
            mutate(broken)
            report = Report()
            expressions = check_rules(broken, anchors, report)
            if parse:
                check_promql(repo, expressions, report)
            return report

        return run

    def first_rule(broken: dict[str, Any]) -> dict[str, Any]:
        return broken["groups"][0]["rules"][0]

    def grpc_probe_port(port: int):
        return lambda doc, pod, c: c["readinessProbe"].update({"grpc": {"port": port}})

    cases: list[tuple[str, str, Callable[[], Report]]] = [
        (
            "control plane readiness probe on another port",
            "not a port of this container",
            manifest_break("dev", "control-plane", grpc_probe_port(7071)),
        ),
        (
            "control plane gRPC probe on the metrics port",
            "serves it on its VARY_LISTEN_ADDR port",
            manifest_break("dev", "control-plane", grpc_probe_port(9090)),
        ),
        (
            "control plane listening on a port that is no containerPort",
            "VARY_LISTEN_ADDR port 7071",
            manifest_break(
                "dev",
                "control-plane",
                lambda d, p, c: set_env(c, "VARY_LISTEN_ADDR", "0.0.0.0:7071"),
            ),
        ),
        (
            "control plane listening on loopback only",
            "binds one address only",
            manifest_break(
                "prod",
                "control-plane",
                lambda d, p, c: set_env(c, "VARY_LISTEN_ADDR", "127.0.0.1:7070"),
            ),
        ),
        (
            "agent metrics listener unset",
            "VARY_METRICS_ADDR is not set",
            manifest_break(
                "example-shop",
                "vary-edge-agent",
                lambda d, p, c: c.update(
                    env=[e for e in c["env"] if e["name"] != "VARY_METRICS_ADDR"]
                ),
            ),
        ),
        (
            "grace period shorter than the control plane's drain",
            "terminationGracePeriodSeconds 20",
            manifest_break(
                "dev", "control-plane", lambda d, p, c: p.update(terminationGracePeriodSeconds=20)
            ),
        ),
        (
            "drain longer than the liveness window",
            "draining replicas would be restarted",
            manifest_break(
                "dev",
                "control-plane",
                lambda d, p, c: (
                    set_env(c, "VARY_SHUTDOWN_GRACE_SECONDS", "30"),
                    p.update(terminationGracePeriodSeconds=60),
                ),
            ),
        ),
        (
            "grace period shorter than the agent's drain",
            "the agent's VARY_SHUTDOWN_GRACE 45",
            manifest_break(
                "example-shop",
                "vary-edge-agent",
                lambda d, p, c: set_env(c, "VARY_SHUTDOWN_GRACE", "45s"),
            ),
        ),
        (
            "a replica count that fights the HPA",
            "the Deployment sets spec.replicas",
            manifest_break("prod", "control-plane", lambda d, p, c: d["spec"].update(replicas=3)),
        ),
        (
            "a misspelt flag",
            "VARY_SHUTDOWN_GRACE is not a flag of vary-control-plane",
            manifest_break(
                "prod", "control-plane", lambda d, p, c: set_env(c, "VARY_SHUTDOWN_GRACE", "20s")
            ),
        ),
        (
            "agent as an ordinary container",
            "native sidecar",
            manifest_break(
                "sidecar-only", "vary-edge-agent", lambda d, p, c: c.pop("restartPolicy")
            ),
        ),
        (
            "spool bound above the state dir's size",
            "does not fit the state dir's sizeLimit",
            manifest_break(
                "sidecar-only",
                "vary-edge-agent",
                lambda d, p, c: set_env(c, "VARY_SPOOL_MAX_MIB", "4096"),
            ),
        ),
        (
            "writable root filesystem",
            "readOnlyRootFilesystem is not true",
            manifest_break(
                "dev",
                "postgres",
                lambda d, p, c: c["securityContext"].pop("readOnlyRootFilesystem"),
            ),
        ),
        (
            "an alert on a metric nobody exports",
            "unknown metric vary_agents_lost",
            rules_break(lambda r: first_rule(r).update(expr="vary_agents_lost > 0")),
        ),
        (
            "a runbook link to a missing section",
            "is not a section of",
            rules_break(
                lambda r: first_rule(r)["annotations"].update(
                    runbook="docs/operations.md#no-such-section"
                )
            ),
        ),
        (
            "PromQL that does not parse",
            "PromQL",
            rules_break(
                lambda r: first_rule(r).update(expr="sum(rate(vary_agents_connected[5m]) >"),
                parse=True,
            ),
        ),
    ]
    missed = []
    for description, expected, run in cases:
        problems = run().problems
        if not any(expected in problem for problem in problems):
            missed.append(
                f"{description}: expected a problem containing {expected!r}, got {problems}"
            )
    return missed, len(cases)


# --- main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--rendered", type=Path, required=True)
    args = parser.parse_args()

    docs_by_file = load_rendered(args.rendered)
    env_names = known_env(args.repo)
    rules = yaml.safe_load((args.repo / RULES_FILE).read_text())
    anchors = runbook_anchors((args.repo / RUNBOOK_FILE).read_text())

    report = Report()
    check_manifests(docs_by_file, env_names, report)
    expressions = check_rules(rules, anchors, report)
    check_promql(args.repo, expressions, report)
    missed, breaks = self_test(docs_by_file, env_names, rules, anchors, args.repo)

    for binary, names in PENDING_ENV.items():
        still_pending = sorted(names - env_names[binary])
        if still_pending:
            print(
                f"note: not yet in vary-{binary}'s sources, accepted as pending: {', '.join(still_pending)}"
            )
    for problem in report.problems:
        print(f"FAIL {problem}")
    for miss in missed:
        print(f"SELF-TEST MISSED {miss}")
    failed = len(report.problems) + len(missed)
    print(
        f"check_manifests: {report.checked - len(report.problems)} checks passed, "
        f"{len(report.problems)} failed; self-test: {breaks - len(missed)} of {breaks} breaks caught"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
