"""Cluster platform (Kubeport): platform engineers create, scale, upgrade and delete
Kubernetes clusters and edit config profiles; the autoscaler, control plane and backup
cron act on their own. Node counts, versions and profile values carry over."""

from __future__ import annotations

from typing import Any

from trailbook.service.demo.run import Builder, Burst, Json, Run
from trailbook.service.demo.world import NODE_POOLS, PROJECTS, REGIONS, Record

_K8S = ("1.28.13", "1.29.8", "1.30.4", "1.31.1")
_NODE_IMAGES = ("ubuntu-2204-v20240612", "ubuntu-2204-v20240910", "ubuntu-2204-v20241119")
_PROFILE_FIELDS: tuple[tuple[str, tuple[Any, ...]], ...] = (
    ("max_pods", (110, 150, 200, 250)),
    ("log_level", ("info", "debug", "warn")),
    ("audit_log", (True, False)),
    ("pod_security", ("baseline", "restricted", "privileged")),
    ("node_auto_repair", (True, False)),
    ("image_pull_policy", ("IfNotPresent", "Always")),
    ("max_surge", ("25%", "1", "33%")),
)


def cluster_target(c: Record) -> Json:
    return {"id": c.id, "name": c.name, "type": "cluster"}


def cluster_for(run: Run, b: Burst) -> Record:
    """Mostly a cluster of the actor's own project, if they have one."""
    scope = b.actor.scope
    if scope.startswith("proj-") and run.random() < 0.8:
        own = [c for c in run.world.clusters if c.extra[0] == scope[5:]]
        if own:
            return run.pick(own)
    return run.pick(run.world.clusters)


def cluster_create(run: Run, b: Burst) -> Json:
    project = b.actor.scope[5:] if b.actor.scope.startswith("proj-") else run.pick(PROJECTS)
    run.next_cluster += 1
    purpose = run.pick(("preview", "loadtest", "sandbox", "feature"))
    name = f"{project}-{purpose}-{run.next_cluster}"
    cid = f"cls-{run.randbits(24):06x}"
    region, pool = run.pick(REGIONS), run.pick(NODE_POOLS[:3])
    nodes = run.pick((2, 3, 3, 5))
    reason = None
    if run.fails(0.05):
        reason = run.pick(
            (
                "subnet 10.96.0.0/16 overlaps an existing VPC",
                f"quota exceeded: 64 vCPU limit in {region}",
            )
        )
    return run.event(
        b,
        "cluster.create",
        "info",
        [{"id": cid, "name": name, "type": "cluster"}],
        f"proj-{project}",
        f"Created cluster {name} in {region} with {nodes} {pool} nodes",
        [{"field": "node_count", "old": None, "new": nodes}],
        {"region": region, "kubernetes": _K8S[-1], "node_pool": pool, "nodes": nodes},
        reason,
    )


def _scale(run: Run, b: Burst, c: Record, manual: bool) -> Json:
    old = run.nodes[c.id]
    step = run.pick((1, 1, 2, 3)) * (1 if run.random() < 0.55 or old <= 2 else -1)
    new = max(1, min(old + step, 40))
    if new == old:
        new = old - 1
    reason = None
    if step > 0 and run.fails(0.06):
        reason = run.pick(
            (
                f"quota exceeded: 64 vCPU limit in {c.extra[1]}",
                "node pool is being upgraded; retry later",
            )
        )
    else:
        run.nodes[c.id] = new
    trigger = (
        "manual"
        if manual
        else run.pick(("cpu > 80% for 10 min", "pending pods: 14", "cpu < 30% for 30 min"))
    )
    return run.event(
        b,
        "cluster.scale",
        "info",
        [cluster_target(c)],
        f"proj-{c.extra[0]}",
        f"Scaled cluster {c.name} from {old} to {new} nodes",
        [{"field": "node_count", "old": old, "new": new}],
        {"region": c.extra[1], "node_pool": c.extra[2], "trigger": trigger},
        reason,
    )


def cluster_scale(run: Run, b: Burst) -> Json:
    return _scale(run, b, cluster_for(run, b), True)


def cluster_autoscale(run: Run, b: Burst) -> Json:
    return _scale(run, b, run.pick(run.world.clusters), False)


def cluster_delete(run: Run, b: Burst) -> Json:
    c = cluster_for(run, b)
    prod = "prod" in c.name
    if not prod or run.random() < 0.4:
        name = f"{c.name.split('-')[0]}-preview-{int(run.random() * 90) + 10}"
        prod = False
    else:
        name = c.name
    reason = "cluster has deletion protection enabled" if prod and run.random() < 0.5 else None
    return run.event(
        b,
        "cluster.delete",
        "critical" if prod else "warning",
        [{"id": c.id if prod else f"cls-{run.randbits(24):06x}", "name": name, "type": "cluster"}],
        f"proj-{c.extra[0]}",
        f"Deleted cluster {name} and its {run.nodes[c.id]} nodes",
        metadata={
            "region": c.extra[1],
            "volumes_deleted": int(run.random() * 12),
            "confirmation": "typed cluster name",
        },
        reason=reason,
    )


def cluster_upgrade(run: Run, b: Burst) -> Json:
    c = cluster_for(run, b)
    old = run.k8s[c.id]
    reason = "PodDisruptionBudget blocks node drain" if run.fails(0.06) else None
    if old < len(_K8S) - 1:
        fld, before, after = "kubernetes", _K8S[old], _K8S[old + 1]
        desc = f"Upgraded cluster {c.name} to Kubernetes {after}"
        if reason is None:
            run.k8s[c.id] = old + 1
    else:  # on the newest version: roll the node image instead
        image = run.image.get(c.id, 0)
        fld, before = "node_image", _NODE_IMAGES[image]
        after = _NODE_IMAGES[(image + 1) % len(_NODE_IMAGES)]
        desc = f"Rolled nodes of cluster {c.name} to image {after}"
        if reason is None:
            run.image[c.id] = (image + 1) % len(_NODE_IMAGES)
    return run.event(
        b,
        "cluster.upgrade",
        "notice",
        [cluster_target(c)],
        f"proj-{c.extra[0]}",
        desc,
        [{"field": fld, "old": before, "new": after}],
        {"region": c.extra[1], "strategy": "surge", "max_surge": 1},
        reason,
    )


def config_profile_update(run: Run, b: Burst) -> Json:
    p = run.pick(run.world.profiles)
    fld, values = run.pick(_PROFILE_FIELDS)
    old = run.profile_values.get((p.id, fld), values[0])
    new = run.pick([v for v in values if v != old])
    reason = None
    if fld == "max_pods" and new == 250 and run.random() < 0.5:
        reason = "validation failed: max_pods above 200 needs a /22 pod CIDR"
    else:
        run.profile_values[(p.id, fld)] = new
    severity = (
        "warning"
        if (fld, new) in (("audit_log", False), ("pod_security", "privileged"))
        else "info"
    )
    return run.event(
        b,
        "config_profile.update",
        severity,
        [{"id": p.id, "name": p.name, "type": "config_profile"}],
        "platform",
        f"Changed {fld} of config profile {p.name} from {old} to {new}",
        [{"field": fld, "old": old, "new": new}],
        {"clusters_affected": 1 + int(run.random() * 6), "rollout": "next node replacement"},
        reason,
    )


def cluster_node_fail(run: Run, b: Burst) -> Json:
    c = run.pick(run.world.clusters)
    node = f"{c.name}-{c.extra[2]}-{run.randbits(20):05x}"
    return run.event(
        b,
        "cluster.node.fail",
        "warning",
        [{"id": node, "name": node, "type": "node"}, cluster_target(c)],
        f"proj-{c.extra[0]}",
        f"Node {node} stopped reporting; replacement started",
        metadata={
            "region": c.extra[1],
            "last_heartbeat_s": 40 + int(run.random() * 200),
            "pods_evicted": int(run.random() * 40),
        },
    )


def certificate_renew(run: Run, b: Burst) -> Json:
    c = run.pick(run.world.clusters)
    return run.event(
        b,
        "certificate.renew",
        "info",
        [{"id": f"cert-{c.id}-api", "name": f"{c.name} API server", "type": "certificate"}],
        f"proj-{c.extra[0]}",
        f"Renewed API server certificate of {c.name}",
        [{"field": "not_after", "old": "in 14 days", "new": "in 365 days"}],
        {"issuer": "Kubeport internal CA", "key": "ECDSA P-256"},
    )


def backup_run(run: Run, b: Burst) -> Json:
    c = run.pick(run.world.clusters)
    reason = None
    if run.fails(0.05):
        reason = "disk quota exceeded on backup target s3://kubeport-backups"
    gb = round(2 + run.random() * 180, 1)
    return run.event(
        b,
        "backup.run",
        "warning" if reason else "info",
        [cluster_target(c)],
        f"proj-{c.extra[0]}",
        f"Backed up {c.name} ({gb} GB)",
        metadata={"size_gb": gb, "volumes": 1 + int(run.random() * 20), "schedule": "0 2 * * *"},
        reason=reason,
    )


# Event builders by the name ``actions.TEAM_ACTIONS`` and ``actors.BOTS`` use.
BUILDERS: dict[str, Builder] = {
    "cluster_create": cluster_create,
    "cluster_scale": cluster_scale,
    "cluster_autoscale": cluster_autoscale,
    "cluster_delete": cluster_delete,
    "cluster_upgrade": cluster_upgrade,
    "config_profile_update": config_profile_update,
    "cluster_node_fail": cluster_node_fail,
    "certificate_renew": certificate_renew,
    "backup_run": backup_run,
}
