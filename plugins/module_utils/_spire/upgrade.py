# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), a licence compatible with
# the GNU General Public License v3.0 under which ansible-core runs this module.
"""The ardur.spire.spire_upgrade_plan logic: which versions run, which the caller asked for, whether
that move is allowed, and the ordered steps of the upgrade. Pure functions over Kubernetes objects
as the API returns them; nothing here talks to a cluster."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

# Inputs are bare X.Y.Z (roles/spire preflight); image tags may carry a leading "v" (the registrar's do).
_TARGET = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_TAG = re.compile(r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")

# Where each pinned version runs: (component, input, workload, container). Server and agent share
# spire_version; the controller manager is a sidecar of the server StatefulSet. The component's key
# in spire_images (its image override) is its name with "_" for "-" (image_key).
COMPONENTS = (
    ("spire-server", "spire_version", "servers", "spire-server"),
    ("spire-controller-manager", "spire_controller_manager_version", "servers", "spire-controller-manager"),
    ("spire-agent", "spire_version", "agents", "spire-agent"),
    ("spiffe-csi-driver", "spire_csi_driver_version", "csi", "spiffe-csi-driver"),
    ("csi-node-driver-registrar", "spire_node_driver_registrar_version", "csi", "node-driver-registrar"),
)
SPIRE_COMPONENTS = ("spire-server", "spire-agent")
WORKLOADS = {
    "servers": ("StatefulSet", "spire-server"),
    "agents": ("DaemonSet", "spire-agent"),
    "csi": ("DaemonSet", "spiffe-csi-driver"),
}
WEBHOOK_NAME = "spire-controller-manager-webhook"
# Where a run records the webhooks' failurePolicy before setting Ignore, so an interrupted run
# restores the original on its next run.
WEBHOOK_ANNOTATION = "spire.ardur.io/upgrade-failure-policy"


class PlanError(Exception):
    """Every reason the upgrade is refused, each naming its input or object."""

    def __init__(self, errors):
        super(PlanError, self).__init__("; ".join(errors))
        self.errors = list(errors)


def parse_target(text):
    """(major, minor, patch) of an input version, or None."""
    match = _TARGET.match(text) if isinstance(text, str) else None
    return tuple(int(part) for part in match.groups()) if match else None


def parse_tag(text):
    """(major, minor, patch) of an image tag (optional leading v), or None."""
    match = _TAG.match(text) if isinstance(text, str) else None
    return tuple(int(part) for part in match.groups()) if match else None


def fmt(version):
    return "%d.%d.%d" % version


def image_tag(image):
    """The tag of an image reference (registry ports and digests allowed), or '' when it has none."""
    ref = (image or "").split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    return last.partition(":")[2]


def image_key(name):
    """The spire_images key of a component (spire-server: spire_server)."""
    return name.replace("-", "_")


def _containers(obj):
    """{container name: image} of a workload's pod template, or of a pod."""
    spec = (obj or {}).get("spec") or {}
    if "template" in spec:
        spec = (spec.get("template") or {}).get("spec") or {}
    return dict((c.get("name"), c.get("image", "")) for c in spec.get("containers") or [])


def _name(obj):
    return ((obj or {}).get("metadata") or {}).get("name", "")


def running_versions(component, workload_obj, pods, errors):
    """The versions of COMPONENT in the workload's template and in each of its pods.

    Returns {"present": bool, "sources": [(where, version)], "behind": [pod names]} where a
    source's version is a tuple; an unreadable tag is an error naming the object.
    """
    name, _input, workload, container = component
    kind, wname = WORKLOADS[workload]
    template = _containers(workload_obj)
    if container not in template:
        return {"present": False, "sources": [], "pods": []}
    sources = []
    where = "%s %s (template)" % (kind, wname)
    for label, image in [(where, template[container])] + [
            ("pod %s" % _name(pod), _containers(pod).get(container)) for pod in pods]:
        if image is None:  # a pod from before the container was added: it runs no such version
            continue
        version = parse_tag(image_tag(image))
        if version is None:
            errors.append("cannot read the running version of %s: %s has image %r (its tag is not X.Y.Z); "
                          "re-run deploy.yml with the version it runs, then upgrade" % (name, label, image))
            continue
        sources.append((label, version))
    pod_versions = [(label[4:], version) for label, version in sources if label.startswith("pod ")]
    return {"present": True, "sources": sources, "pods": pod_versions}


def running_images(component, workload_obj, pods):
    """Like running_versions, for a component compared by image reference (an override without a version tag)."""
    _name_unused, _input, workload, container = component
    kind, wname = WORKLOADS[workload]
    template = _containers(workload_obj)
    if container not in template:
        return {"present": False, "sources": [], "pods": []}
    sources = [("%s %s (template)" % (kind, wname), template[container])]
    sources += [("pod %s" % _name(pod), _containers(pod).get(container)) for pod in pods]
    sources = [(label, image) for label, image in sources if image is not None]
    return {"present": True, "sources": sources,
            "pods": [(label[4:], image) for label, image in sources if label.startswith("pod ")]}


def targets_of(targets, images, errors):
    """{component name: (input, kind, target)}: kind "version" with a (major, minor, patch) target, or
    "image" with a reference.

    A component whose image is overridden (``images``, keyed as spire_images) moves to the version of
    the override's tag; an override without a version tag is compared by reference, except for the
    SPIRE server and agent, whose moves must be checked (refused). Without an override: the pinned input.
    """
    images = images or {}
    parsed = {}
    result = {}
    for name, input_name, _workload, _container in COMPONENTS:
        override = images.get(image_key(name))
        if override:
            label = "spire_images.%s" % image_key(name)
            version = parse_tag(image_tag(override))
            if version is not None:
                result[name] = (label, "version", version)
            elif name in SPIRE_COMPONENTS:
                errors.append("%s=%r: its tag is not a version X.Y.Z, so the upgrade cannot check SPIRE's version "
                              "rules; tag the image with the SPIRE version it holds (NAME:X.Y.Z, a digest may follow)"
                              % (label, override))
            else:
                result[name] = (label, "image", override)
            continue
        if input_name not in parsed:
            value = targets.get(input_name)
            parsed[input_name] = parse_target(value)
            if parsed[input_name] is None:
                errors.append("%s must be a version X.Y.Z (no leading 'v'), got %r" % (input_name, value))
        if parsed[input_name] is not None:
            result[name] = (input_name, "version", parsed[input_name])
    server, agent = result.get("spire-server"), result.get("spire-agent")
    if server and agent and agent[2] > server[2]:
        errors.append("%s=%s is newer than the servers' target %s=%s: SPIRE agents must not be newer than their "
                      "servers" % (agent[0], fmt(agent[2]), server[0], fmt(server[2])))
    return result


def check_move(component, target, versions, allow_downgrade, errors, input_name=None):
    """Refuse what SPIRE does not support: skipping a minor version, changing the major version,
    and (unless allowed) any downgrade. Other components: downgrades only."""
    name, input_name = component[0], input_name or component[1]
    spire = name in SPIRE_COMPONENTS
    for version in sorted(set(versions)):
        if version == target:
            continue
        moving = "%s %s -> %s" % (name, fmt(version), fmt(target))
        if spire and version[0] != target[0]:
            errors.append("%s=%s: %s changes the SPIRE major version; this runbook moves one minor version at a "
                          "time within a major version" % (input_name, fmt(target), moving))
        elif target < version and not allow_downgrade:
            errors.append("%s=%s is older than the running %s (%s): downgrades are refused unless "
                          "upgrade_allow_downgrade=true" % (input_name, fmt(target), fmt(version), name))
        elif spire and abs(target[1] - version[1]) > 1:
            step = (version[0], version[1] + (1 if target > version else -1))
            errors.append("%s=%s: %s skips SPIRE minor version %d.%d; SPIRE supports moving one minor version at a "
                          "time, so go to %d.%d.x first" % (input_name, fmt(target), moving, step[0], step[1],
                                                            step[0], step[1]))


def webhook_state(webhook):
    """The webhook configuration's current failurePolicy per webhook and what a run recorded."""
    if not webhook:
        return {"exists": False, "policies": {}, "recorded": None}
    policies = dict((w.get("name"), w.get("failurePolicy", "Fail")) for w in webhook.get("webhooks") or [])
    raw = ((webhook.get("metadata") or {}).get("annotations") or {}).get(WEBHOOK_ANNOTATION)
    recorded = None
    if raw:
        try:
            recorded = json.loads(raw)
        except ValueError:
            recorded = None
        if not isinstance(recorded, dict):
            recorded = None
    return {"exists": True, "policies": policies, "recorded": recorded}


def plan(targets, statefulset, server_pods, agent_daemonset, agent_pods, csi_daemonset, csi_pods, webhook,
         allow_downgrade=False, namespace="spire-system", images=None):
    """The upgrade plan, or PlanError listing every reason to refuse (nothing is written before).

    ``images``: the image overrides (spire_images), which take the place of the pinned versions.
    """
    errors = []
    wanted = targets_of(targets, images, errors)
    objects = {"servers": (statefulset, server_pods), "agents": (agent_daemonset, agent_pods),
               "csi": (csi_daemonset, csi_pods)}
    for workload, (obj, _pods) in sorted(objects.items()):
        if not obj:
            kind, wname = WORKLOADS[workload]
            errors.append("%s %s not found in namespace %s: there is nothing to upgrade (run deploy.yml)"
                          % (kind, wname, namespace))
    if errors:
        raise PlanError(errors)

    components = []
    for component in COMPONENTS:
        name, _input, workload, _container = component
        obj, pods = objects[workload]
        input_name, kind, target = wanted[name]
        if kind == "image":
            found = running_images(component, obj, pods)
            running = sorted(set(image for _label, image in found["sources"]))
            start, to = None, target
        else:
            found = running_versions(component, obj, pods, errors)
            versions = [version for _label, version in found["sources"]]
            if found["present"] and versions:
                check_move(component, target, versions, allow_downgrade, errors, input_name)
            running = [fmt(v) for v in sorted(set(versions))]
            start, to = fmt(min(versions)) if versions else None, fmt(target)
        components.append({
            "name": name,
            "input": input_name,
            "workload": workload,
            "present": found["present"],
            "running": running,
            "from": start,
            "to": to,
            "behind": sorted(pod for pod, running_now in found["pods"] if running_now != target),
            "template_behind": any(v != target for label, v in found["sources"] if not label.startswith("pod ")),
            "pods": len(found["pods"]),
        })
    if errors:
        raise PlanError(errors)

    by_name = dict((c["name"], c) for c in components)
    partition = ((((statefulset.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {})
                 .get("partition") or 0)
    agent_strategy = (((agent_daemonset.get("spec") or {}).get("updateStrategy") or {}).get("type") or "RollingUpdate")

    def moving(names):
        return [by_name[n] for n in names if by_name[n]["present"] and (by_name[n]["behind"] or by_name[n]["template_behind"])]

    phases = {
        "servers": {"needed": bool(moving(["spire-server", "spire-controller-manager"])) or partition > 0,
                    "replicas": int((statefulset.get("spec") or {}).get("replicas") or 0),
                    "partition": int(partition),
                    "components": [c["name"] for c in moving(["spire-server", "spire-controller-manager"])]},
        "agents": {"needed": bool(moving(["spire-agent"])) or agent_strategy == "OnDelete",
                   "nodes": sorted(set(((p.get("spec") or {}).get("nodeName") or "") for p in agent_pods) - set([""])),
                   "update_strategy": agent_strategy,
                   "components": [c["name"] for c in moving(["spire-agent"])]},
        "csi": {"needed": bool(moving(["spiffe-csi-driver", "csi-node-driver-registrar"])),
                "components": [c["name"] for c in moving(["spiffe-csi-driver", "csi-node-driver-registrar"])]},
    }
    server_spire = [parse_tag(v) for v in by_name["spire-server"]["running"]]
    target_spire = wanted["spire-server"][2]
    # Agents are never newer than the servers: servers first, except when the servers go down.
    agents_first = bool(server_spire) and target_spire < min(server_spire)
    order = ["agents", "servers", "csi"] if agents_first else ["servers", "agents", "csi"]

    hook = webhook_state(webhook)
    hold = hook["exists"] and phases["servers"]["needed"]
    restore = hook["exists"] and (hold or hook["recorded"] is not None)
    hook.update({
        "name": WEBHOOK_NAME,
        "annotation": WEBHOOK_ANNOTATION,
        "hold": hold,
        "restore": restore,
        # What to put back at the end: what an interrupted run recorded, else what is there now.
        "original": hook["recorded"] if hook["recorded"] is not None else hook["policies"],
    })
    nothing = not (any(p["needed"] for p in phases.values()) or restore)
    result = {
        "namespace": namespace,
        "components": components,
        "phases": phases,
        "order": [p for p in order if phases[p]["needed"]],
        "webhook": hook,
        "allow_downgrade": bool(allow_downgrade),
        "nothing_to_do": nothing,
    }
    result["steps"] = steps(result)
    result["lines"] = lines(result)
    return result


def _component_line(comp):
    if not comp["present"]:
        return "%s: not deployed" % comp["name"]
    if not comp["behind"] and not comp["template_behind"]:
        return "%s: %s (unchanged)" % (comp["name"], comp["to"])
    running = ", ".join(comp["running"])
    detail = "%d of %d pods behind" % (len(comp["behind"]), comp["pods"]) if comp["pods"] else "no pods"
    return "%s: %s -> %s (%s)" % (comp["name"], running, comp["to"], detail)


def steps(result):
    """The ordered steps, one line each."""
    if result["nothing_to_do"]:
        return []
    phases, hook = result["phases"], result["webhook"]
    out = []
    if phases["servers"]["needed"] or phases["agents"]["needed"] or phases["csi"]["needed"]:
        out.append("apply the CRDs, then the controller manager's ConfigMap, RBAC and webhook (role registrations)")
    if hook["hold"]:
        current = ", ".join("%s=%s" % kv for kv in sorted(hook["policies"].items()))
        out.append("webhook %s: failurePolicy Ignore for the rollout (now %s; original recorded in annotation %s)"
                   % (hook["name"], current or "none", hook["annotation"]))
    for phase in result["order"]:
        info = phases[phase]
        if phase == "servers":
            replicas = info["replicas"]
            out.append("servers (%s): hold the StatefulSet (partition %d), apply the server manifests (role spire_server), "
                       "replace spire-server-%s one at a time, each healthy before the next"
                       % (", ".join(info["components"]) or "partition release", replicas,
                          ", -".join(str(i) for i in range(replicas - 1, -1, -1))))
        elif phase == "agents":
            out.append("agents: apply the DaemonSet with updateStrategy OnDelete (role spire_agent), replace the agent "
                       "on %s one node at a time, each re-attested and healthy before the next, then restore "
                       "RollingUpdate" % (", ".join(info["nodes"]) or "no node"))
        else:
            out.append("CSI driver: apply the DaemonSet (role csi_driver) and wait for its rolling update "
                       "(one node at a time)")
    if hook["restore"]:
        original = ", ".join("%s=%s" % kv for kv in sorted(hook["original"].items()))
        out.append("webhook %s: restore failurePolicy %s and remove the annotation" % (hook["name"], original))
    out.append("final check: the plan is empty, every server healthy, an attested agent on every node")
    return out


def lines(result):
    """The plan as printed."""
    out = ["Upgrade plan for namespace %s:" % result["namespace"]]
    out += ["  " + _component_line(c) for c in result["components"]]
    if result["nothing_to_do"]:
        out.append("Nothing to do: every component runs its target version.")
    else:
        out.append("Steps:")
        out += ["  %d. %s" % (i + 1, s) for i, s in enumerate(result["steps"])]
    return out
