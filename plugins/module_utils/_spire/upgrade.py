# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), a licence compatible with
# the GNU General Public License v3.0 under which ansible-core runs this module.
"""The decisions of the upgrade runbook (roles/upgrade, docs/runbooks/upgrade.md).

Which versions run, which the caller asked for, whether that move is allowed, and the ordered steps
(``plan``, the module ardur.spire.spire_upgrade_plan); then what a run does with that plan
(``option_problems``: the inputs refused before anything is read; ``config_changes``; ``decide``:
what is refused, whether to act, which phases, whether the webhook is held and restored;
``webhook_patch``; ``final_check``) and its JSON report (``report``). A run interrupted at any point
is resumed by the next one because ``plan`` reads everything from the cluster: a partition above 0,
an agent DaemonSet left on OnDelete, pods behind their template and a failurePolicy recorded on the
webhook configuration are all work. Pure functions over Kubernetes objects as the API returns them;
nothing here talks to a cluster."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.ardur.spire.plugins.module_utils._spire import report as _report

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
# The objects' names when the caller gives none; the role passes roles/spire's _spire_objects,
# their one source.
DEFAULT_NAMES = {"server": "spire-server", "agent": "spire-agent", "csi_driver": "spiffe-csi-driver",
                 "controller_manager_webhook": "spire-controller-manager-webhook"}
WORKLOADS = {
    "servers": ("StatefulSet", "server"),
    "agents": ("DaemonSet", "agent"),
    "csi": ("DaemonSet", "csi_driver"),
}
WEBHOOK_NAME = DEFAULT_NAMES["controller_manager_webhook"]
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
    template = _containers(workload_obj)
    if container not in template:
        return {"present": False, "sources": [], "pods": []}
    sources = []
    where = "%s %s (template)" % (WORKLOADS[workload][0], _name(workload_obj))
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
    template = _containers(workload_obj)
    if container not in template:
        return {"present": False, "sources": [], "pods": []}
    sources = [("%s %s (template)" % (WORKLOADS[workload][0], _name(workload_obj)), template[container])]
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
         allow_downgrade=False, namespace="spire-system", images=None, names=None):
    """The upgrade plan, or PlanError listing every reason to refuse (nothing is written before).

    ``images``: the image overrides (spire_images), which take the place of the pinned versions.
    ``names``: the objects' names (keys of DEFAULT_NAMES; others are ignored).
    """
    names = dict(DEFAULT_NAMES, **{k: v for k, v in (names or {}).items() if k in DEFAULT_NAMES})
    errors = []
    wanted = targets_of(targets, images, errors)
    objects = {"servers": (statefulset, server_pods), "agents": (agent_daemonset, agent_pods),
               "csi": (csi_daemonset, csi_pods)}
    for workload, (obj, _pods) in sorted(objects.items()):
        if not obj:
            kind, key = WORKLOADS[workload]
            errors.append("%s %s not found in namespace %s: there is nothing to upgrade (run deploy.yml)"
                          % (kind, names[key], namespace))
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
        "name": names["controller_manager_webhook"],
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


# ----------------------------------------------------------------------------- the run (roles/upgrade)

REPORT_VERSION = 1
TRANSPORTS = ("kubernetes", "local")
# The inputs without their upgrade_ prefix, as option_problems takes them.
OPTION_KEYS = ("allow_downgrade", "allow_config_changes", "transport", "server_sockets", "spire_server_path",
               "agent_sockets", "spire_agent_path", "timeout", "report_path")
# The outcomes a run may end with: a refusal and a failure stop it (non-zero exit), "incomplete" is a
# final check that did not pass (non-zero exit too).
STATUSES = ("refused", "planned", "up_to_date", "upgraded", "incomplete", "failed")
FINAL_OK = "Final check passed: every component at its target, every server healthy, an attested agent on every node."
CONFIG_REFUSAL = (
    "With these inputs the upgrade would also change %s: the inputs differ from those deploy.yml ran with (pass the "
    "same -e files), or this collection release renders them differently. Compare (deploy.yml -e "
    "spire_render_dir=DIR renders them), then re-run with upgrade_allow_config_changes=true to apply them with the "
    "upgrade. Nothing was changed.")


class RunError(ValueError):
    """Input the run's decisions cannot work with (a missing read, a value of the wrong type)."""


def _absolute(path):
    return isinstance(path, str) and path.startswith("/")


def option_problems(options, render_dir=""):
    """The reasons the upgrade_* inputs are refused before anything is read, each naming its input."""
    if not isinstance(options, dict):
        raise RunError("options must be a dict, not %s" % type(options).__name__)
    missing = [key for key in OPTION_KEYS if key not in options]
    if missing:
        raise RunError("options lacks %s" % ", ".join(missing))
    problems = []
    for flag in ("allow_downgrade", "allow_config_changes"):
        if not isinstance(options[flag], bool):
            problems.append("upgrade_%s must be true or false, got %r" % (flag, options[flag]))
    timeout = options["timeout"]
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
        problems.append("upgrade_timeout must be a number of seconds greater than 0 (per server replica or agent "
                        "node), got %r" % (timeout,))
    transport = options["transport"]
    if transport not in TRANSPORTS:
        problems.append("upgrade_transport must be kubernetes or local, got %r" % (transport,))
    servers, agents = options["server_sockets"], options["agent_sockets"]
    if not isinstance(servers, list):
        problems.append("upgrade_server_sockets must be a list of absolute paths, got %r" % (servers,))
        servers = []
    if not isinstance(agents, dict):
        problems.append("upgrade_agent_sockets must be a dict of Node name: absolute path, got %r" % (agents,))
        agents = {}
    if transport == "local" and not (servers and agents):
        problems.append("upgrade_transport=local needs upgrade_server_sockets (the admin socket of each server "
                        "ordinal) and upgrade_agent_sockets (Node name: the agent's Workload API socket)")
    bad = [path for path in servers if not _absolute(path)]
    if bad:
        problems.append("upgrade_server_sockets must hold absolute paths, not %s" % ", ".join(repr(p) for p in bad))
    bad = sorted(str(node) for node, path in agents.items() if not _absolute(path))
    if bad:
        problems.append("upgrade_agent_sockets must map each Node to an absolute path; not so for %s" % ", ".join(bad))
    for key in ("spire_server_path", "spire_agent_path"):
        if not isinstance(options[key], str) or not options[key].strip():
            problems.append("upgrade_%s must be the path of the binary, got %r" % (key, options[key]))
    if not isinstance(options["report_path"], str):
        problems.append("upgrade_report_path must be a path (empty: no report), got %r" % (options["report_path"],))
    if render_dir:
        problems.append("spire_render_dir must be empty (got %r): an upgrade needs a cluster" % (render_dir,))
    return problems


def _resources(result):
    """The objects of a registered k8s_info result (its resources)."""
    return [obj for obj in (result or {}).get("resources") or [] if isinstance(obj, dict)]


def config_changes(live, rendered):
    """'ConfigMap NAME (ROLE)' for each configuration the roles rendered that differs from the one that runs.

    LIVE: the registered loop results of reading each ConfigMap (item: name and role); RENDERED: the
    manifests the roles rendered (ConfigMaps among them).
    """
    if not isinstance(live, list) or not isinstance(rendered, list):
        raise RunError("live must be the registered loop results and rendered a list of manifests")
    wanted = dict((_name(obj), (obj.get("data") or {})) for obj in rendered
                  if isinstance(obj, dict) and obj.get("kind") == "ConfigMap")
    out = []
    for result in live:
        item = (result or {}).get("item") if isinstance(result, dict) else None
        if not isinstance(item, dict) or not item.get("name"):
            raise RunError("every live result needs its item (name, role)")
        found = _resources(result)
        running = (found[0].get("data") or {}) if found else {}
        if running != wanted.get(item["name"], {}):
            out.append("ConfigMap %s (%s)" % (item["name"], item.get("role", "")))
    return out


def _plan_of(result):
    """(plan, errors) of a registered spire_upgrade_plan result: the plan, or the reasons it was refused."""
    if not isinstance(result, dict):
        raise RunError("the plan result must be the registered result of ardur.spire.spire_upgrade_plan")
    if result.get("failed") or not isinstance(result.get("plan"), dict):
        errors = [e for e in result.get("errors") or [] if isinstance(e, str)]
        return None, errors or [str(result.get("msg") or "the upgrade could not be planned")]
    return result["plan"], []


def decide(result, live=None, rendered=None, allow_config_changes=False, check_mode=False):
    """What the run does with the plan (RESULT: the registered spire_upgrade_plan result).

    Returns ``plan`` (None when refused), ``lines`` (to print), ``refusal`` ('' when none),
    ``errors``, ``config_changes``, ``upgrade`` (write anything: the platform apply, the phases),
    ``phases`` (in order), ``hold`` and ``restore`` (the webhook), ``final_check`` (read and judge
    the deployment at the end) and ``status`` (what the report says when nothing fails later).
    Refused: what spire_upgrade_plan refuses, and configuration changes the inputs would bring
    unless ALLOW_CONFIG_CHANGES. Check mode and a deployment at its targets write nothing.
    """
    the_plan, errors = _plan_of(result)
    if the_plan is None:
        return {"plan": None, "lines": [], "refusal": "Upgrade refused, nothing was changed: " + "; ".join(errors),
                "errors": errors, "config_changes": [], "upgrade": False, "phases": [], "hold": False,
                "restore": False, "final_check": False, "status": "refused"}
    changes = config_changes(live or [], rendered or [])
    nothing = bool(the_plan["nothing_to_do"])
    lines = list(the_plan["lines"])
    refusal = ""
    if changes and not nothing:
        lines.append("Configuration changes these inputs bring along: " + ", ".join(changes))
        if not allow_config_changes:
            refusal = CONFIG_REFUSAL % ", ".join(changes)
    if check_mode and not nothing:
        lines.append("Check mode: nothing was changed.")
    act = not (nothing or refusal or check_mode)
    if refusal:
        status = "refused"
    elif check_mode:
        status = "planned"
    else:
        status = "up_to_date" if nothing else "upgraded"
    return {
        "plan": the_plan,
        "lines": lines,
        "refusal": refusal,
        "errors": [refusal] if refusal else [],
        "config_changes": changes,
        "upgrade": act,
        "phases": list(the_plan["order"]) if act else [],
        "hold": act and bool(the_plan["webhook"]["hold"]),
        "restore": act and bool(the_plan["webhook"]["restore"]),
        "final_check": not (refusal or check_mode),
        "status": status,
    }


def webhook_patch(the_plan, webhook, step):
    """The strategic-merge patch of the webhook configuration for STEP, or {} when there is nothing to patch.

    hold: every webhook at failurePolicy Ignore and, in the same patch, the original policies recorded
    in the annotation (what an interrupted run recorded, else what was there), so a run killed after
    it finds them. restore: the recorded policies back (webhooks the record does not know keep theirs)
    and the annotation removed. WEBHOOK: the configuration as read just before.
    """
    if step not in ("hold", "restore"):
        raise RunError("step must be hold or restore, not %r" % (step,))
    if not isinstance(the_plan, dict) or not isinstance(the_plan.get("webhook"), dict):
        raise RunError("the plan must be the plan of spire_upgrade_plan")
    hook = the_plan["webhook"]
    if not hook.get(step) or not webhook:
        return {}
    if not isinstance(webhook, dict):
        raise RunError("webhook must be the ValidatingWebhookConfiguration as read, or {}")
    names = [w.get("name") for w in webhook.get("webhooks") or [] if isinstance(w, dict) and w.get("name")]
    original = hook.get("original") or {}
    if step == "hold":
        annotation = json.dumps(original, sort_keys=True)
        webhooks = [{"name": name, "failurePolicy": "Ignore"} for name in names]
    else:
        annotation = None
        webhooks = [{"name": name, "failurePolicy": original[name]} for name in names if name in original]
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": _name(webhook) or hook.get("name") or WEBHOOK_NAME,
                     "annotations": {hook.get("annotation") or WEBHOOK_ANNOTATION: annotation}},
        "webhooks": webhooks,
    }


def final_check(result, servers, agent_pods, server="spire-server"):
    """The final check of a run: the plan read again is empty, every server healthy, an attested agent on
    every Node with an agent pod.

    RESULT: the registered spire_upgrade_plan result of the final read; SERVERS: the registered loop
    results of ardur.spire.spire_server_info per ordinal (item: the ordinal); AGENT_PODS: the agent pods.
    Returns ``ok``, ``still_to_do``, ``unhealthy_servers``, ``nodes_without_agent`` and ``message``.
    """
    if not isinstance(servers, list) or not isinstance(agent_pods, list):
        raise RunError("servers must be the registered loop results and agent_pods a list of pods")
    the_plan, errors = _plan_of(result)
    still = errors if the_plan is None else ([] if the_plan["nothing_to_do"] else list(the_plan["steps"]))
    unhealthy, attested = [], None
    for entry in servers:
        entry = entry if isinstance(entry, dict) else {}
        if not entry.get("healthy"):
            unhealthy.append("%s-%s" % (server, entry.get("item")))
        elif attested is None and entry.get("agents"):
            attested = set(a.get("node_name") for a in entry["agents"]
                           if isinstance(a, dict) and not a.get("banned") and not a.get("expired"))
    nodes = sorted(set(((p.get("spec") or {}).get("nodeName") or "") for p in agent_pods if isinstance(p, dict))
                   - set([""]))
    missing = [node for node in nodes if node not in (attested or set())]
    ok = not (still or unhealthy or missing)
    parts = (["still to do: " + "; ".join(still)] if still else []) \
        + (["unhealthy servers: " + ", ".join(unhealthy)] if unhealthy else []) \
        + (["nodes without an attested agent: " + ", ".join(missing)] if missing else [])
    return {"ok": ok, "still_to_do": still, "unhealthy_servers": unhealthy, "nodes_without_agent": missing,
            "message": FINAL_OK if ok else "The upgrade did not finish: %s. Re-run to continue." % "; ".join(parts)}


def _moved(the_plan):
    return ["%s %s -> %s" % (c["name"], ", ".join(c["running"]), c["to"]) for c in the_plan["components"]
            if c["present"] and (c["behind"] or c["template_behind"])]


def _policies(webhook):
    return dict((w.get("name"), w.get("failurePolicy")) for w in (webhook or {}).get("webhooks") or []
                if isinstance(w, dict))


def report(decision, final=None, after=None, failure=None, phase_seconds=None, servers=None, agents=None,
           webhook=None, namespace="", check_mode=False, started_at=None, generated_at=None):
    """The JSON report of a run (report_version 1; docs/runbooks/upgrade.md) and the run's outcome.

    DECISION: from decide() (None when a task failed before); FINAL: from final_check() (None when it did not run); AFTER: the
    registered spire_upgrade_plan result of the final read (None: the first read stands);
    FAILURE: {task, message} of a failed task; WEBHOOK: the webhook configuration last read.
    ``status``: refused, planned (check mode), failed, incomplete (the final check failed),
    up_to_date (nothing to do) or upgraded; ``message`` is the run's last word.
    """
    if failure is not None and not isinstance(failure, dict):
        raise RunError("failure must be a dict with task and message")
    if decision is None and failure:  # a task failed before the run decided anything
        decision = {"plan": None, "status": "failed", "refusal": "", "errors": [], "config_changes": []}
    if not isinstance(decision, dict) or "status" not in decision or "plan" not in decision:
        raise RunError("decision must be the result of decide() (or None with a failure)")
    the_plan = decision["plan"]
    after_plan = _plan_of(after)[0] if after else None
    status = decision["status"]
    if failure:
        status = "failed"
    elif status in ("up_to_date", "upgraded") and not (final or {}).get("ok"):
        status = "incomplete"
    if failure:
        message = "The upgrade failed at %r: %s. Fix the cause and re-run: it continues where it stopped." % (
            failure.get("task", ""), failure.get("message", ""))
    elif decision["refusal"]:
        message = decision["refusal"]
    elif status == "planned":
        message = "Check mode: nothing was changed."
    else:
        message = (final or {}).get("message") or "The final check did not run."
    moved = _moved(the_plan) if the_plan else []
    servers, agents, phase_seconds = servers or {}, agents or {}, phase_seconds or {}
    policies = _policies(webhook)
    versions_from = after_plan or the_plan
    if the_plan is None:
        upgraded = "nothing (refused)" if decision["refusal"] else "nothing"
    elif status == "planned":
        upgraded = "nothing (check mode)"
    elif status in ("failed", "incomplete"):
        upgraded = "not finished (%s)" % ("; ".join(moved) or "leftovers of an interrupted run")
    else:
        upgraded = "; ".join(moved) or ("nothing to do" if the_plan["nothing_to_do"] else "leftovers of an interrupted run")
    summary = [
        "Upgraded: %s" % upgraded,
        "Phase seconds: %s" % json.dumps(phase_seconds, sort_keys=True),
        "Servers replaced %s, secs %s" % (json.dumps(servers.get("rolled", [])), json.dumps(servers.get("seconds", []))),
        "Agents replaced %s, seconds %s" % (json.dumps(agents.get("rolled", [])), json.dumps(agents.get("seconds", []))),
        "Webhook failurePolicy: %s" % (json.dumps(policies, sort_keys=True) if policies else "no webhook"),
        message,
    ]
    sections = {
        "namespace": namespace,
        "message": message,
        "errors": list(decision["errors"]) + ([message] if failure else []),
        "config_changes": list(decision["config_changes"]),
        "moved": moved,
        "plan": dict((k, v) for k, v in the_plan.items() if k != "lines") if the_plan else None,
        "versions": dict((c["name"], c["to"]) for c in versions_from["components"] if c["present"])
        if versions_from else {},
        "phase_seconds": phase_seconds,
        "servers": servers,
        "agents": agents,
        "webhook_failure_policy": policies,
        "final_check": final,
        "failure": failure or None,
        "summary": summary,
    }
    return _report.envelope("upgrade", REPORT_VERSION, status, sections, check_mode=check_mode,
                            started_at=started_at, generated_at=generated_at)
