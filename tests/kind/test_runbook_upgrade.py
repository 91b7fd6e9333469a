"""playbooks/upgrade.yml against SPIRE in real pods (the session's kind cluster, tests/kind/conftest.py).

The images: the offline kind lab builds the collection's images (SPIRE 1.14.5, spire-controller-
manager 0.6.3) and one release back (`previous` in its images file: 1.13.3 and 0.6.2), each tagged
as what it is. upgrade.yml runs as users run it: the `kubernetes` transport, the webhook on (the
API server calls it), `spire_images` naming the images (upgrade.yml reads an override's version
from its tag). The session's deployment runs the collection's versions, so the module goes down
first and ends where it started:

1. a rollback (upgrade_allow_downgrade) to 1.13.3 / 0.6.2 replaces the agents before the servers;
   sampled every second, no running agent is newer than a running server; every server and agent
   pod replaced, running the previous images without a container restart; health.yml passes;
2. bad targets are refused naming the input and the versions, nothing changed (resourceVersions
   of the workloads, the webhook configuration, the ConfigMaps and the CRDs): a skipped minor, a
   downgrade without upgrade_allow_downgrade, an unparsable version, an input that differs from
   deploy.yml's, a bad timeout;
3. --check prints the plan (component: from -> to, steps) and changes nothing;
4. an upgrade killed (SIGKILL) right after it set the webhook to Ignore leaves the original
   policy recorded on the object; the next run finishes, restores Fail and drops the record;
   servers before agents, never an agent newer than a server; every pod replaced, on the new
   images, no container restart; the webhook still admits a ClusterSPIFFEID; health.yml passes;
5. a second run: "Nothing to do", changed=0, no pod replaced; deploy.yml afterwards changes no
   object's content and replaces no pod;
6. a skip from 1.14 to 1.16 is refused naming the versions.

Throughout 1 and 4 the svid-watch pod on every node fetches an X.509-SVID every second: a fetch
fails while that node's agent is replaced (its socket is gone; counted and printed), but never
while the watcher's latest SVID had expired (uncovered == 0: a workload keeping its SVID, as a
go-spiffe X509Source does, always held a valid one), and every watcher fetches again afterwards.
"""

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from kind_lab import REPO, SERVERS, Watch  # tests/conftest.py puts tests/support on sys.path
from lab_instance import changed_tasks, recap

WEBHOOK = "spire-controller-manager-webhook"
ANNOTATION = "spire.ardur.io/upgrade-failure-policy"
NODES = 3


def tag(ref):
    """The tag of an image reference."""
    return ref.rsplit(":", 1)[1]


def version(ref):
    """The version an image's tag names, as a tuple."""
    return tuple(int(x) for x in tag(ref).lstrip("v").split("."))


class Images:
    """The kind lab's images: `new` (what the session deployed), `old` (one release back), and
    references retagged for refusals (never pulled: refused before any write)."""

    def __init__(self, lab):
        refs = json.loads(Path(lab.env["ARDUR_SPIRE_KIND_IMAGES"]).read_text(encoding="utf-8"))
        self.new = refs["spire_images"]
        self.old = {**self.new, **refs["previous"]["spire_images"]}
        self.new_spire, self.old_spire = tag(self.new["spire_server"]), tag(self.old["spire_server"])
        self.new_scm, self.old_scm = tag(self.new["spire_controller_manager"]), tag(self.old["spire_controller_manager"])

    def at(self, base, spire=None, scm=None):
        """BASE (old or new) with the SPIRE and controller-manager tags replaced."""
        out = dict(base)
        for key, value in (("spire_server", spire), ("spire_agent", spire), ("spire_controller_manager", scm)):
            if value:
                out[key] = out[key].rsplit(":", 1)[0] + ":" + value
        return out


class Upgrade:
    """upgrade.yml runs on the session's cluster, and what the tests read around them."""

    def __init__(self, lab):
        self.lab = lab
        self.images = Images(lab)
        self.timings = {}

    def inputs(self, images, **extra):
        """upgrade.yml's inputs: deploy.yml's (the session's, KindLab.deploy_inputs), IMAGES, EXTRA."""
        return {**self.lab.deploy_inputs, "spire_images": images,
                "upgrade_report_path": str(self.lab.work / "spire-upgrade.json"), **extra}

    def old(self, **extra):
        """Inputs naming the previous release."""
        versions = {"spire_version": self.images.old_spire, "spire_controller_manager_version": self.images.old_scm}
        return self.inputs(self.images.old, **{**versions, **extra})

    def new(self, **extra):
        """Inputs naming the collection's release (its pinned versions; the images' tags say 1.14.5)."""
        return self.inputs(self.images.new, **extra)

    def run(self, name, values, check=True, args=()):
        """upgrade.yml with VALUES, timed under NAME; the CompletedProcess."""
        started = time.monotonic()
        res = self.lab.ansible(REPO / "playbooks" / "upgrade.yml", values, check=check, args=args, timeout=1800)
        self.timings[name] = round(time.monotonic() - started, 1)
        print(f"{name}: {self.timings[name]} s")
        (self.lab.work / f"upgrade-{name.replace(' ', '-')}.log").write_text(res.stdout + res.stderr, encoding="utf-8")
        return res

    def get(self, kind, name):
        """The object as JSON, or None when absent."""
        res = self.lab.kubectl("get", kind, name, "-o", "json", check=False)
        return json.loads(res.stdout) if res.returncode == 0 else None

    def resource_versions(self):
        """resourceVersion of everything an upgrade writes (for 'nothing changed')."""
        out = {}
        for kind, name in (("statefulset", "spire-server"), ("daemonset", "spire-agent"),
                           ("daemonset", "spiffe-csi-driver"), ("configmap", "spire-server"),
                           ("configmap", "spire-agent"), ("configmap", "spire-controller-manager"),
                           ("validatingwebhookconfiguration", WEBHOOK)):
            out[f"{kind}/{name}"] = self.get(kind, name)["metadata"]["resourceVersion"]
        for crd in ("clusterspiffeids", "clusterfederatedtrustdomains", "clusterstaticentries"):
            out[crd] = self.get("crd", f"{crd}.spire.spiffe.io")["metadata"]["resourceVersion"]
        return out

    def contents(self):
        """What an upgrade writes, without metadata: the workloads' specs, the ConfigMaps' data, the webhooks."""
        out = {}
        for kind, name, key in (("statefulset", "spire-server", "spec"), ("daemonset", "spire-agent", "spec"),
                                ("daemonset", "spiffe-csi-driver", "spec"), ("configmap", "spire-server", "data"),
                                ("configmap", "spire-agent", "data"), ("configmap", "spire-controller-manager", "data"),
                                ("validatingwebhookconfiguration", WEBHOOK, "webhooks")):
            out[f"{kind}/{name}"] = self.get(kind, name)[key]
        return out

    def pods(self):
        """{pod: (uid, {container: image}, {container: restarts}, {running container: image})} of the servers
        and agents."""
        out = {}
        items = self.lab.kubectl_json("get", "pods", "-l", "app.kubernetes.io/name in (spire-server,spire-agent)")["items"]
        for pod in items:
            statuses = pod["status"].get("containerStatuses", [])
            out[pod["metadata"]["name"]] = (
                pod["metadata"]["uid"], {c["name"]: c["image"] for c in pod["spec"]["containers"]},
                {c["name"]: c.get("restartCount", 0) for c in statuses},
                {c["name"]: c["image"] for c in statuses if "running" in c.get("state", {})})
        return out

    def webhook_policies(self):
        """The webhook configuration's failure policies and its upgrade record (annotation or None)."""
        hook = self.get("validatingwebhookconfiguration", WEBHOOK)
        return [w["failurePolicy"] for w in hook["webhooks"]], (hook["metadata"].get("annotations") or {}).get(ANNOTATION)


class Sampler(threading.Thread):
    """Every second: the SPIRE version each running server and agent container runs (from its
    image's tag), and the webhook's failure policies."""

    def __init__(self, upgrade):
        super().__init__(daemon=True)
        self.upgrade = upgrade
        self.stop_event = threading.Event()
        self.inversions = []  # samples where a running agent was newer than a running server
        self.samples = 0
        self.policies = set()

    def run(self):
        while not self.stop_event.is_set():
            try:
                pods = self.upgrade.pods()
                policies, _record = self.upgrade.webhook_policies()
            except (AssertionError, subprocess.SubprocessError, TypeError, KeyError):
                self.stop_event.wait(1)  # an API hiccup is not a sample
                continue
            running = [image for _u, _i, _r, images in pods.values() for image in images.items()]
            servers = [version(ref) for name, ref in running if name == "spire-server"]
            agents = [version(ref) for name, ref in running if name == "spire-agent"]
            if servers and agents and max(agents) > min(servers):
                self.inversions.append((time.strftime("%H:%M:%S"), sorted(servers), sorted(agents)))
            self.policies.add(tuple(policies))
            self.samples += 1
            self.stop_event.wait(1)


class Observed:
    """A Watch and a Sampler around some upgrade.yml runs; `stats` is the watch's counts."""

    def __init__(self, upgrade, name):
        self.upgrade, self.name = upgrade, name
        self.watch = Watch(upgrade.lab)
        self.sampler = Sampler(upgrade)
        self.stats = None

    def __enter__(self):
        self.watch.start()
        self.sampler.start()
        return self

    def __exit__(self, exc_type, *_exc):
        self.sampler.stop_event.set()
        self.sampler.join(timeout=60)
        if exc_type is None:
            self.watch.wait_fetches(5)  # every watcher fetches again after the last agent came back
            self.stats = self.watch.finish()
        return False

    def check(self, report):
        """Versions never inverted; every watcher fetched; no fetch uncovered. Prints the numbers."""
        stats, sampler = self.stats, self.sampler
        print(f"[{self.name}] phases (s) {report['phase_seconds']}; servers {report['servers'].get('rolled')} in "
              f"{report['servers'].get('seconds')} s; agents {report['agents'].get('rolled')} in "
              f"{report['agents'].get('seconds')} s; sampler {sampler.samples} samples, webhook policies seen "
              f"{sorted(sampler.policies)}")
        self.upgrade.timings[f"{self.name} fetches/failures/uncovered"] = (
            f"{stats['fetches']}/{stats['failures']}/{stats['uncovered']}")
        assert sampler.samples > 0 and sampler.inversions == [], sampler.inversions[:5]
        assert len(stats["pods"]) == NODES and all(p["fetches"] > 0 for p in stats["pods"].values()), stats["pods"]
        assert stats["uncovered"] == 0, (stats["pods"], stats["errors"])


def assert_replaced_and_running(before, after, spire, scm):
    """Every server and agent pod of BEFORE replaced; each runs SPIRE and SCM images (tags), no container
    restarted, except once a controller manager before 0.6.3: it exits when the server's socket is not
    there yet at its start (0.6.3 dials with gRPC WaitForReady), and the kubelet starts it again."""
    assert len(after) == SERVERS + NODES, sorted(after)
    for name, (uid, images, restarts, running) in after.items():
        assert name not in before or before[name][0] != uid, f"{name} was not replaced"
        for container, count in restarts.items():
            allowed = 1 if container == "spire-controller-manager" and version(":" + scm) < (0, 6, 3) else 0
            assert count <= allowed, f"{name}: {container} restarted {count} time(s)"
        assert running == images, f"{name}: not every container runs: {running} of {images}"
        for container, ref in images.items():
            want = scm if container == "spire-controller-manager" else spire
            if container.startswith("spire-"):
                assert tag(ref) == want, (name, container, ref)


def healthy(lab, name):
    """health.yml passes with every server and agent."""
    rc, report, out = lab.health(name)
    assert rc == 0, out[-4000:]
    assert report["servers"]["healthy"] == SERVERS and report["agents"]["attested"] == NODES, report["failed"]


@pytest.fixture(name="upgrade", scope="module")
def fixture_upgrade(kind):
    """upgrade.yml on the session's cluster; its timings printed at the module's end."""
    upgrade = Upgrade(kind)
    yield upgrade
    print("upgrade timings: " + ", ".join(f"{name} {value}" for name, value in upgrade.timings.items()))


def test_rollback_moves_agents_first(upgrade):
    """To 1.13.3 / 0.6.2 with upgrade_allow_downgrade: agents before servers, never newer than them."""
    before = upgrade.pods()
    report = upgrade.lab.work / "rollback-report.json"
    with Observed(upgrade, "rollback") as observed:
        res = upgrade.run("rollback", upgrade.old(upgrade_allow_downgrade=True, upgrade_report_path=str(report)))
    out = res.stdout
    assert out.index(". agents: apply the DaemonSet") < out.index(". servers (spire-server, spire-controller-manager)"), \
        out[-4000:]
    observed.check(json.loads(report.read_text(encoding="utf-8")))
    assert_replaced_and_running(before, upgrade.pods(), upgrade.images.old_spire, upgrade.images.old_scm)
    assert upgrade.webhook_policies() == (["Fail", "Fail"], None)
    healthy(upgrade.lab, "after-rollback")


def test_bad_targets_are_refused_before_any_write(upgrade):
    """Each refused naming the input and the versions; no object of the deployment changed."""
    images, old, new = upgrade.images, upgrade.images.old_spire, upgrade.images.new_spire
    cases = [
        ("skip", upgrade.old(spire_images=images.at(images.old, spire="1.15.0")),
         [f"spire-server {old} -> 1.15.0", "skips SPIRE minor version 1.14", f"spire-agent {old} -> 1.15.0"]),
        ("downgrade", upgrade.old(spire_images=images.at(images.old, spire="1.13.2")),
         [f"1.13.2 is older than the running {old}", "upgrade_allow_downgrade=true"]),
        ("scm downgrade", upgrade.old(spire_images=images.at(images.old, scm="0.6.1")),
         [f"0.6.1 is older than the running {images.old_scm}"]),
        ("unparsable", upgrade.old(spire_version="1.14"), ["spire_version", "'1.14'"]),
        ("drift", upgrade.new(registrations_entry_id_prefix="other-prefix"),
         ["ConfigMap spire-controller-manager", "upgrade_allow_config_changes"]),
        ("timeout", upgrade.new(upgrade_timeout="soon"), ["upgrade_timeout"]),
    ]
    assert new != old
    before = upgrade.resource_versions()
    for name, values, expected in cases:
        res = upgrade.run(f"refused {name}", values, check=False)
        out = res.stdout + res.stderr
        assert res.returncode != 0, (name, out[-3000:])
        for text in expected:
            assert text in out, (name, text, out[-3000:])
        assert "PRIVATE KEY" not in out and "password=" not in out
    assert upgrade.resource_versions() == before


def test_check_mode_prints_the_plan_and_changes_nothing(upgrade):
    """--check: each component from -> to, the steps; nothing written."""
    images = upgrade.images
    before = upgrade.resource_versions()
    res = upgrade.run("check mode", upgrade.new(), args=["--check"])
    out = res.stdout
    for line in (f"spire-server: {images.old_spire} -> {images.new_spire} (3 of 3 pods behind)",
                 f"spire-controller-manager: {images.old_scm} -> {images.new_scm} (3 of 3 pods behind)",
                 f"spire-agent: {images.old_spire} -> {images.new_spire} (3 of 3 pods behind)",
                 f"spiffe-csi-driver: {tag(images.new['spiffe_csi_driver'])} (unchanged)",
                 "1. apply the CRDs",
                 f"2. webhook {WEBHOOK}: failurePolicy Ignore for the rollout (now vclusterfederatedtrustdomain.kb.io=Fail, "
                 "vclusterspiffeid.kb.io=Fail; original recorded in annotation spire.ardur.io/upgrade-failure-policy)",
                 "3. servers (spire-server, spire-controller-manager): hold the StatefulSet (partition 3)",
                 "4. agents: apply the DaemonSet", f"5. webhook {WEBHOOK}: restore failurePolicy",
                 "Check mode: nothing was changed."):
        assert line in out, (line, out[-3000:])
    assert recap(out)[1] == 0, out[-2000:]
    assert upgrade.resource_versions() == before


def test_upgrade_interrupted_then_resumed_serves_svids_throughout(upgrade):
    """Killed right after the webhook hold, then run again to the end."""
    lab, images = upgrade.lab, upgrade.images
    before = upgrade.pods()
    report = lab.work / "upgrade-report.json"
    with Observed(upgrade, "upgrade") as observed:
        argv, env = lab.playbook(REPO / "playbooks" / "upgrade.yml", upgrade.new())
        started = time.monotonic()
        with open(lab.work / "upgrade-interrupted.log", "w", encoding="utf-8") as log:
            first = subprocess.Popen(  # pylint: disable=consider-using-with
                [str(a) for a in argv], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            held = None
            while first.poll() is None and time.monotonic() - started < 600:
                policies, record = upgrade.webhook_policies()
                if record:
                    held = policies
                    os.killpg(first.pid, signal.SIGKILL)
                    break
                time.sleep(0.3)
            first.wait(timeout=60)
        upgrade.timings["upgrade killed after the hold"] = round(time.monotonic() - started, 1)
        assert held is not None, (lab.work / "upgrade-interrupted.log").read_text(encoding="utf-8")[-4000:]
        policies, record = upgrade.webhook_policies()
        assert policies == ["Ignore", "Ignore"]
        assert json.loads(record) == {"vclusterfederatedtrustdomain.kb.io": "Fail", "vclusterspiffeid.kb.io": "Fail"}

        res = upgrade.run("upgrade resumed", upgrade.new(upgrade_report_path=str(report)))
        print("\n".join(line for line in res.stdout.splitlines() if "->" in line and line.strip().startswith('"')))
    observed.check(json.loads(report.read_text(encoding="utf-8")))
    assert ("Ignore", "Ignore") in observed.sampler.policies
    out = res.stdout
    assert out.index(". servers (spire-server, spire-controller-manager)") < out.index(". agents: apply the DaemonSet")

    assert_replaced_and_running(before, upgrade.pods(), images.new_spire, images.new_scm)
    sts = upgrade.get("statefulset", "spire-server")
    # The roll complete, the partition is released (absent: every ordinal is updated).
    assert "rollingUpdate" not in sts["spec"]["updateStrategy"], sts["spec"]["updateStrategy"]
    assert upgrade.get("daemonset", "spire-agent")["spec"]["updateStrategy"]["type"] == "RollingUpdate"
    assert upgrade.webhook_policies() == (["Fail", "Fail"], None)
    rc, text = lab.webhook_admits("upgrade-dry-run")
    assert rc == 0, text
    healthy(lab, "after-upgrade")


def test_second_run_and_deploy_change_nothing(upgrade):
    """At the target: the plan says nothing to do and writes nothing. deploy.yml afterwards changes no
    object's content and replaces no pod; the upgrade gave the webhook's failurePolicy and the StatefulSet's
    update strategy back to deploy.yml's field manager, so the one change it may report is the StatefulSet's
    ownership record (docs/runbooks/README.md)."""
    before, pods = upgrade.resource_versions(), upgrade.pods()
    res = upgrade.run("second run", upgrade.new())
    assert "Nothing to do: every component runs its target version." in res.stdout
    assert recap(res.stdout)[1] == 0, res.stdout[-3000:]
    assert upgrade.resource_versions() == before
    contents = upgrade.contents()
    out = upgrade.lab.deploy()
    # At most the StatefulSet's field-ownership record (docs/runbooks/README.md); the webhook's is deploy.yml's.
    assert set(changed_tasks(out)) <= {"ardur.spire.spire : Apply the objects of spire_server"}, changed_tasks(out)
    assert upgrade.contents() == contents
    assert upgrade.pods() == pods


def test_skipping_from_1_14_to_1_16_is_refused(upgrade):
    """A skip from what now runs is refused naming both versions; nothing changed."""
    images = upgrade.images
    before = upgrade.resource_versions()
    res = upgrade.run("refused 1.16.0", upgrade.new(spire_images=images.at(images.new, spire="1.16.0")), check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert f"spire-server {images.new_spire} -> 1.16.0 skips SPIRE minor version 1.15" in out, out[-3000:]
    assert upgrade.resource_versions() == before
