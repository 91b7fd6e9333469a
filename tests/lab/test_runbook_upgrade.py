"""playbooks/upgrade.yml against the REAL SPIRE data plane of its own lab instance.

Brings up a lab of its own with tests/support/runbook_lab.py (slot 7: state dir
~/.cache/ardur-spire/lab-upgrade, its own ports, each overridable by its environment variable),
PostgreSQL, deploy.yml and samples.yml at the previous versions (SPIRE 1.13.3,
spire-controller-manager 0.6.2, both built by lab/build.sh) and the real spire-server x3, agents
and controller manager (lab/dataplane.py, whose kubelet replaces a process when its Pod is
replaced, with the binary of the new image tag). health.yml passes on 1.13.3 (the configuration
the collection renders for 1.14.2 runs on 1.13.3). Then, in order (the tests share the module's
lab):

1. bad targets are refused naming the input and the versions, with nothing changed (the
   resourceVersions of the workloads, the webhook configuration and the ConfigMaps): a skipped
   minor version (1.13.3 -> 1.15.0), a downgrade, an unparsable version, and an input that differs
   from deploy.yml's (another entry ID prefix: the controller manager's configuration would change);
2. --check prints the plan (component: from -> to, steps) and changes nothing;
3. the webhook: the lab runs without one (no pod network); the test creates the
   ValidatingWebhookConfiguration deploy.yml renders with the webhook on (failurePolicy Fail) and
   runs the upgrade with registrations_webhook_enabled=true, so its hold/record/restore is
   exercised on the real object (the API server never calls it: nothing writes ClusterSPIFFEIDs);
4. with `dataplane.py watch` (runbook_lab.Watch) fetching and verifying SVIDs on every node, an
   upgrade to the collection's pins (1.14.2 and 0.6.3; the lab runs 1.14.5 for 1.14.x tags) is
   killed (SIGKILL) right after it set the webhook to Ignore: the annotation holds the original
   policy; the next run finishes the upgrade and restores Fail;
5. afterwards: no fetch failed at all (failures == 0). The watch retries an unavailable Workload
   API (that node's agent socket missing while its agent is replaced) for up to 5 s within one
   fetch, as a go-spiffe client does within its deadline, so an agent replacement is a retry
   (counted and printed), never a failure; every server, agent and controller-manager process was
   replaced and runs the new binary (/proc/<pid>/exe is the lab's 1.14.5 / 0.6.3 build); sampled
   every 0.3 s during the runs, no agent ran a newer SPIRE than any server; templates and pods
   carry the new tags; the webhook is back to Fail without the annotation; health.yml passes;
6. a second run reports "Nothing to do" with changed=0;
7. a skip from 1.14 to 1.16.0 is refused naming the versions, nothing changed;
8. the rollback (upgrade_allow_downgrade back to 1.13.3 / 0.6.2) replaces the agents before the
   servers, sampled never newer than them, same fetch checks (failures == 0); every process on
   the old builds.

Torn down at the end. Needs root and the lab binaries (the previous versions' too): skipped
without them, failed with ARDUR_SPIRE_REQUIRE_LAB=1.
"""

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from lab_binaries import lab_binary  # tests/conftest.py puts tests/support on sys.path
from lab_instance import default_context_env, recap
from runbook_lab import REPO, SERVERS, RunbookLab, Watch, need_lab, run

NODES = ("lab-node-1", "lab-node-2", "lab-node-3")
WEBHOOK = "spire-controller-manager-webhook"
ANNOTATION = "spire.ardur.io/upgrade-failure-policy"
OLD = {"spire_version": "1.13.3", "spire_controller_manager_version": "0.6.2"}
NEW = {"spire_version": "1.14.2", "spire_controller_manager_version": "0.6.3"}  # roles/spire/defaults
SPIRE_PROCESSES = ("spire-server-", "spire-agent-", "spire-controller-manager-")


def _binary(name, version=None):
    """Path of a lab build (lab/build.sh path NAME [VERSION])."""
    argv = [REPO / "lab" / "build.sh", "path", name] + ([version] if version else [])
    path = subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=True).stdout.strip()
    return path if os.access(path, os.X_OK) else None


def _need_lab():
    """runbook_lab.need_lab(), and the previous versions' builds (skip, or fail with ARDUR_SPIRE_REQUIRE_LAB=1)."""
    need_lab()
    missing = [f"{name} {version}" for name, version in (("spire-server", OLD["spire_version"]),
                                                         ("spire-agent", OLD["spire_version"]),
                                                         ("spire-controller-manager", OLD["spire_controller_manager_version"]))
               if _binary(name, version) is None]
    if missing:
        if os.environ.get("ARDUR_SPIRE_REQUIRE_LAB") == "1":
            raise RuntimeError(f"lab binaries not built (lab/build.sh): {', '.join(missing)}")
        pytest.skip(f"lab binaries not built (lab/build.sh): {', '.join(missing)}")


class UpgradeLab(RunbookLab):
    """The lab deployed at the previous versions, and what only the upgrade tests need: timed playbook
    runs, upgrade.yml's inputs, the data plane's endpoints, objects' resourceVersions, the build each
    process runs."""

    def __init__(self, work):
        super().__init__("lab-upgrade", 7, work)
        self.timings = {}
        self.endpoints = {}

    def argv(self, playbook, extra_vars):
        """ansible-playbook argv for playbooks/PLAYBOOK with EXTRA_VARS (a 0600 JSON file) and the PostgreSQL vars."""
        self.work.mkdir(parents=True, exist_ok=True)
        vars_file = self.work / f"{Path(playbook).stem}-vars-{time.monotonic_ns()}.json"
        vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
        os.chmod(vars_file, 0o600)
        return self.playbook + ["-i", "localhost,", "-c", "local", REPO / "playbooks" / playbook,
                                "-e", f"@{vars_file}", "-e", f"@{self.pg_vars_file}"]

    def timed(self, name, playbook, extra_vars, check=True, args=()):
        """Run a playbook with EXTRA_VARS and the PostgreSQL vars, timed under NAME; the CompletedProcess."""
        started = time.monotonic()
        res = self.ansible(playbook, extra_vars, check=check, args=["-e", f"@{self.pg_vars_file}", *args])
        self.timings[name] = round(time.monotonic() - started, 1)
        print(f"{name}: {self.timings[name]} s")
        return res

    def upgrade_vars(self, **extra):
        """upgrade.yml's inputs: the lab's, transport local with the data plane's sockets and the new CLI."""
        return {
            **self.deploy_vars(),
            # Keeps the webhook configuration the test created (see test 3); the lab dataplane runs the
            # controller manager with ENABLE_WEBHOOKS=false whatever the template says.
            "registrations_webhook_enabled": True,
            "upgrade_transport": "local",
            "upgrade_server_sockets": self.endpoints["server_sockets"],
            "upgrade_agent_sockets": self.endpoints["agent_sockets"],
            "upgrade_spire_server_path": lab_binary("spire-server"),
            "upgrade_spire_agent_path": lab_binary("spire-agent"),
            # The JSON report (default ./spire-upgrade.json) in the work dir, not in the checkout the runs start in.
            "upgrade_report_path": str(self.work / "spire-upgrade.json"),
            **extra}

    def up(self):
        """Lab, PostgreSQL, deploy.yml and samples.yml at the previous versions (timed), data plane, its endpoints."""
        self.python("lab.py", "up")
        run(["bash", REPO / "lab" / "postgres.sh", "up"], self.env)
        for playbook in ("deploy.yml", "samples.yml"):
            self.timed(playbook, playbook, {**self.deploy_vars(), **OLD})
        self.python("dataplane.py", "up")
        self.endpoints = json.loads(self.python("dataplane.py", "endpoints").stdout)

    def get(self, *args):
        """The object(s) as JSON, or None when absent."""
        res = self.kubectl("get", *args, "-o", "json", check=False)
        return json.loads(res.stdout) if res.returncode == 0 else None

    def versions_of_objects(self):
        """resourceVersion of what an upgrade writes (for 'nothing changed')."""
        out = {}
        for kind, name in (("statefulset", "spire-server"), ("daemonset", "spire-agent"),
                           ("daemonset", "spiffe-csi-driver"), ("configmap", "spire-server"),
                           ("configmap", "spire-agent"), ("configmap", "spire-controller-manager")):
            out[f"{kind}/{name}"] = self.get(kind, name)["metadata"]["resourceVersion"]
        webhook = self.get("validatingwebhookconfiguration", WEBHOOK)
        out["webhook"] = webhook["metadata"]["resourceVersion"] if webhook else None
        for crd in ("clusterspiffeids", "clusterfederatedtrustdomains", "clusterstaticentries"):
            out[crd] = self.get("crd", f"{crd}.spire.spiffe.io")["metadata"]["resourceVersion"]
        return out

    def processes(self):
        """{lab process: (pid, exe inode)} of the servers, agents and controller manager now running."""
        out = {}
        for pidfile in (self.dp / "run").glob("*.pid"):
            pid = self.pid(pidfile.stem) if pidfile.stem.startswith(SPIRE_PROCESSES) else None
            try:
                if pid:
                    out[pidfile.stem] = (pid, os.stat(f"/proc/{pid}/exe").st_ino)
            except OSError:
                continue  # exited meanwhile
        return out

    def health_with(self, name, spire_server):
        """health.yml with the CLI SPIRE_SERVER, timed under NAME; (rc, report or None, output)."""
        started = time.monotonic()
        result = self.health(name, spire_server=spire_server)
        self.timings[name] = round(time.monotonic() - started, 1)
        print(f"{name}: {self.timings[name]} s")
        return result


class Sampler(threading.Thread):
    """Every 0.3 s: which SPIRE build each server and agent process runs, and the webhook's policies."""

    def __init__(self, lab, builds):
        super().__init__(daemon=True)
        self.lab, self.builds = lab, builds  # builds: {exe inode: version}
        self.stop_event = threading.Event()
        self.inversions = []  # samples where an agent ran a newer SPIRE than a server
        self.samples = 0
        self.policies = set()

    def run(self):
        tick = 0
        while not self.stop_event.is_set():
            running = self.lab.processes()
            servers = [self.builds.get(ino) for proc, (_pid, ino) in running.items() if proc.startswith("spire-server-")]
            agents = [self.builds.get(ino) for proc, (_pid, ino) in running.items() if proc.startswith("spire-agent-")]
            servers, agents = [v for v in servers if v], [v for v in agents if v]
            if servers and agents and max(agents) > min(servers):
                self.inversions.append((time.strftime("%H:%M:%S"), sorted(servers), sorted(agents)))
            self.samples += 1
            if tick % 3 == 0:
                hook = self.lab.get("validatingwebhookconfiguration", WEBHOOK)
                if hook:
                    self.policies.add(tuple(w["failurePolicy"] for w in hook["webhooks"]))
            tick += 1
            self.stop_event.wait(0.3)


def _builds():
    """{exe inode: SPIRE version} of the lab's server and agent builds, previous and current."""
    out = {}
    for name in ("spire-server", "spire-agent"):
        for path in (_binary(name, OLD["spire_version"]), lab_binary(name)):
            out[os.stat(path).st_ino] = tuple(int(x) for x in Path(path).parent.name.rsplit("-", 1)[1].split("."))
    return out


class Observer:
    """A runbook_lab.Watch (Workload API fetches on every node) and a Sampler, around some playbook runs;
    `stats` is the watch's final counts."""

    def __init__(self, lab, name):
        self.lab, self.name = lab, name
        self.watch = Watch(lab, name, interval=1)
        self.sampler = Sampler(lab, _builds())
        self.stats = None

    def __enter__(self):
        self.watch.start()
        self.sampler.start()
        return self

    def __exit__(self, exc_type, *_exc):
        self.sampler.stop_event.set()
        self.sampler.join(timeout=30)
        try:
            self.stats = self.watch.finish()  # asserts the watch was still running
        except AssertionError:
            if exc_type is None:
                raise
        return False


def _check_svids_served(observer, summary):
    """SVIDs served throughout: fetches happened on every node, no agent ran a newer SPIRE than a server,
    and no fetch failed (an agent's replacement is retried within the fetch's deadline, as a client
    does). Prints the numbers."""
    watch, sampler = observer.stats, observer.sampler
    print(f"[{observer.name}] watch: rounds {watch['rounds']}, fetches {watch['fetches']}, failures {watch['failures']}, "
          f"retries {watch['retries']}, per node {watch['nodes']}")
    print(f"[{observer.name}] phases (s) {summary['phase_seconds']}; servers {summary['servers'].get('rolled')} in "
          f"{summary['servers'].get('seconds')} s; agents {summary['agents'].get('rolled')} in "
          f"{summary['agents'].get('seconds')} s; sampler: {sampler.samples} samples, webhook policies seen "
          f"{sorted(sampler.policies)}")
    observer.lab.timings[f"{observer.name} watch fetches/failures/retries"] = (
        f"{watch['fetches']}/{watch['failures']}/{watch['retries']}")
    assert watch["fetches"] > 0
    assert all(watch["nodes"][node]["fetches"] > 0 for node in NODES), watch["nodes"]
    assert sampler.samples > 0 and sampler.inversions == [], sampler.inversions[:5]
    assert watch["failures"] == 0, (
        f"[{observer.name}] {watch['failures']} fetch(es) failed; errors:\n" + json.dumps(watch["errors"], indent=1)
        + f"\nagent replacement windows: {summary['agents'].get('windows')}\nphases (s): {summary['phase_seconds']}")


@pytest.fixture(name="ulab", scope="module")
def fixture_ulab(tmp_path_factory):
    """This test file's own lab at the previous versions, torn down at the module's end."""
    _need_lab()
    lab = UpgradeLab(tmp_path_factory.mktemp("upgrade"))
    try:
        lab.up()
        yield lab
    finally:
        lab.down()
        print("timings: " + ", ".join(f"{name} {value}" + (" s" if isinstance(value, float) else "")
                                      for name, value in lab.timings.items()))


def test_previous_versions_run_the_rendered_configuration(ulab):
    """deploy.yml at 1.13.3/0.6.2: the processes run those builds and health.yml passes."""
    builds = {os.stat(_binary("spire-server", "1.13.3")).st_ino: "server 1.13.3",
              os.stat(_binary("spire-agent", "1.13.3")).st_ino: "agent 1.13.3",
              os.stat(_binary("spire-controller-manager", "0.6.2")).st_ino: "scm 0.6.2"}
    running = ulab.processes()
    assert len(running) == SERVERS + len(NODES) + 1, running
    assert {proc: builds.get(ino) for proc, (_pid, ino) in running.items()} == {
        **{f"spire-server-{i}": "server 1.13.3" for i in range(SERVERS)},
        **{f"spire-agent-{n}": "agent 1.13.3" for n in NODES},
        "spire-controller-manager-0": "scm 0.6.2"}
    rc, report, out = ulab.health_with("health-1.13", ulab.endpoints["spire_server"])
    assert rc == 0, out[-4000:]
    assert report["servers"]["healthy"] == SERVERS and report["agents"]["attested"] == len(NODES)
    assert ulab.endpoints["spire_server"] == _binary("spire-server", "1.13.3")


@pytest.mark.parametrize("targets, names", [
    ({"spire_version": "1.15.0"}, ["spire_version=1.15.0", "spire-server 1.13.3 -> 1.15.0", "skips SPIRE minor version 1.14",
                                   "spire-agent 1.13.3 -> 1.15.0"]),
    ({"spire_version": "1.13.2"}, ["spire_version=1.13.2 is older than the running 1.13.3", "upgrade_allow_downgrade=true"]),
    ({"spire_controller_manager_version": "0.6.1"}, ["spire_controller_manager_version=0.6.1 is older than the running 0.6.2"]),
    ({"spire_version": "1.14"}, ["spire_version", "'1.14'"]),
    ({"registrations_entry_id_prefix": "other-prefix"}, ["ConfigMap spire-controller-manager", "upgrade_allow_config_changes"]),
    ({"upgrade_timeout": "soon"}, ["upgrade_timeout"]),
])
def test_bad_targets_are_refused_before_any_write(ulab, targets, names):
    """Refused naming the input and the versions; no object of the deployment changed."""
    before = ulab.versions_of_objects()
    res = ulab.timed(f"refused {targets}", "upgrade.yml", ulab.upgrade_vars(**targets), check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    for name in names:
        assert name in out, (name, out[-3000:])
    assert ulab.versions_of_objects() == before


def test_check_mode_prints_the_plan_and_changes_nothing(ulab):
    """--check: the plan with from -> to and the steps; nothing written."""
    before = ulab.versions_of_objects()
    res = ulab.timed("check mode", "upgrade.yml", ulab.upgrade_vars(), args=["--check"])
    out = res.stdout
    for line in ("spire-server: 1.13.3 -> 1.14.2 (3 of 3 pods behind)",
                 "spire-controller-manager: 0.6.2 -> 0.6.3 (3 of 3 pods behind)",
                 "spire-agent: 1.13.3 -> 1.14.2 (3 of 3 pods behind)",
                 "spiffe-csi-driver: 0.2.7 (unchanged)",
                 "1. apply the CRDs", "2. servers (spire-server, spire-controller-manager)",
                 "3. agents", "Check mode: nothing was changed."):
        assert line in out, (line, out[-3000:])
    assert recap(out)[1] == 0, out[-2000:]
    assert ulab.versions_of_objects() == before


def _create_webhook(ulab):
    """The ValidatingWebhookConfiguration deploy.yml renders with the webhook on, applied as deploy.yml would."""
    render = ulab.work / "render"
    ulab.timed("render with webhook", "deploy.yml",
               {**ulab.deploy_vars(), **OLD, "registrations_webhook_enabled": True, "spire_render_dir": str(render)})
    docs = [d for d in yaml.safe_load_all((render / "registrations.yaml").read_text(encoding="utf-8")) if d]
    shutil.rmtree(render)  # render mode also wrote a (lab) upstream CA key there
    webhook = next(d for d in docs if d["kind"] == "ValidatingWebhookConfiguration")
    path = ulab.work / "webhook.yaml"
    path.write_text(yaml.safe_dump(webhook), encoding="utf-8")
    ulab.kubectl("apply", "--server-side", "--field-manager=ardur-spire", "-f", path)
    created = ulab.get("validatingwebhookconfiguration", WEBHOOK)
    assert [w["failurePolicy"] for w in created["webhooks"]] == ["Fail", "Fail"]


def test_upgrade_interrupted_then_resumed_serves_svids_throughout(ulab):
    """The upgrade killed after the webhook hold, then run again to the end, with fetches counted."""
    _create_webhook(ulab)
    before = ulab.processes()
    report = ulab.work / "upgrade-report.json"
    with Observer(ulab, "upgrade") as observer:
        # 1st run, SIGKILLed as soon as the webhook is held (its original recorded on the object).
        started = time.monotonic()
        with open(ulab.work / "interrupted.log", "w", encoding="utf-8") as log:
            first = subprocess.Popen(  # pylint: disable=consider-using-with
                ulab.argv("upgrade.yml", ulab.upgrade_vars()), cwd=REPO, env={**ulab.env, **default_context_env(ulab.work)},
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            held = None
            while first.poll() is None and time.monotonic() - started < 600:
                hook = ulab.get("validatingwebhookconfiguration", WEBHOOK)
                if hook and ANNOTATION in (hook["metadata"].get("annotations") or {}):
                    held = hook
                    os.killpg(first.pid, signal.SIGKILL)
                    break
                time.sleep(0.3)
            first.wait(timeout=60)
        ulab.timings["upgrade killed after the hold"] = round(time.monotonic() - started, 1)
        assert held is not None, (ulab.work / "interrupted.log").read_text(encoding="utf-8")[-4000:]
        left = ulab.get("validatingwebhookconfiguration", WEBHOOK)
        assert [w["failurePolicy"] for w in left["webhooks"]] == ["Ignore", "Ignore"]
        assert json.loads(left["metadata"]["annotations"][ANNOTATION]) == {
            "vclusterfederatedtrustdomain.kb.io": "Fail", "vclusterspiffeid.kb.io": "Fail"}

        # 2nd run: continues, restores the recorded policy.
        res = ulab.timed("upgrade (resumed)", "upgrade.yml", ulab.upgrade_vars(upgrade_report_path=str(report)))
        print("\n".join(line for line in res.stdout.splitlines() if line.strip().startswith('"') and (
            "->" in line or "seconds" in line or "secs" in line or "Webhook" in line)))
    _check_svids_served(observer, json.loads(report.read_text(encoding="utf-8")))
    assert ("Ignore", "Ignore") in observer.sampler.policies

    # Every process replaced, on the new builds.
    after = ulab.processes()
    new = {"spire-server": os.stat(lab_binary("spire-server")).st_ino,
           "spire-agent": os.stat(lab_binary("spire-agent")).st_ino,
           "spire-controller-manager": os.stat(_binary("spire-controller-manager", NEW["spire_controller_manager_version"])).st_ino}
    assert set(after) == set(before)
    for proc, (pid, ino) in after.items():
        kind = "spire-agent" if proc.startswith("spire-agent-") else proc.rsplit("-", 1)[0]
        assert pid != before[proc][0], f"{proc} was not replaced"
        assert ino == new[kind], f"{proc} does not run the new {kind} build"

    # Objects: new tags in templates and pods; the webhook restored, its record gone; rollouts complete.
    sts = ulab.get("statefulset", "spire-server")
    images = {c["name"]: c["image"] for c in sts["spec"]["template"]["spec"]["containers"]}
    assert images["spire-server"].endswith(":" + NEW["spire_version"])
    assert images["spire-controller-manager"].endswith(":" + NEW["spire_controller_manager_version"])
    assert sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"] == 0
    agents = ulab.get("daemonset", "spire-agent")
    assert agents["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":" + NEW["spire_version"])
    assert agents["spec"]["updateStrategy"]["type"] == "RollingUpdate"
    pods = ulab.get("pods")["items"]
    for pod in pods:
        for cont in pod["spec"]["containers"]:
            if cont["name"] in ("spire-server", "spire-agent"):
                assert cont["image"].endswith(":" + NEW["spire_version"]), (pod["metadata"]["name"], cont["image"])
            if cont["name"] == "spire-controller-manager":
                assert cont["image"].endswith(":" + NEW["spire_controller_manager_version"])
    hook = ulab.get("validatingwebhookconfiguration", WEBHOOK)
    assert [w["failurePolicy"] for w in hook["webhooks"]] == ["Fail", "Fail"]
    assert ANNOTATION not in (hook["metadata"].get("annotations") or {})

    rc, health, out = ulab.health_with("health-after", lab_binary("spire-server"))
    assert rc == 0, out[-4000:]
    assert health["servers"]["healthy"] == SERVERS and health["agents"]["attested"] == len(NODES)


def test_second_run_changes_nothing(ulab):
    """At the target: the plan says nothing to do and the run changes nothing."""
    before = ulab.versions_of_objects()
    pids = ulab.processes()
    res = ulab.timed("second run", "upgrade.yml", ulab.upgrade_vars())
    assert "Nothing to do: every component runs its target version." in res.stdout
    assert recap(res.stdout)[1] == 0, res.stdout[-3000:]
    assert ulab.versions_of_objects() == before
    assert ulab.processes() == pids


def test_skipping_from_1_14_to_1_16_is_refused(ulab):
    """A skip from what now runs is refused naming both versions; nothing changed."""
    before = ulab.versions_of_objects()
    res = ulab.timed("refused 1.16.0", "upgrade.yml", ulab.upgrade_vars(spire_version="1.16.0"), check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "spire_version=1.16.0: spire-server 1.14.2 -> 1.16.0 skips SPIRE minor version 1.15" in out, out[-3000:]
    assert ulab.versions_of_objects() == before


def test_rollback_moves_agents_first(ulab):
    """upgrade_allow_downgrade back to 1.13.3 / 0.6.2: agents before servers, never newer than them."""
    before = ulab.processes()
    report = ulab.work / "rollback-report.json"
    with Observer(ulab, "rollback") as observer:
        res = ulab.timed("rollback", "upgrade.yml", ulab.upgrade_vars(
            **OLD, upgrade_allow_downgrade=True, upgrade_report_path=str(report)))
    out = res.stdout
    assert out.index(". agents: apply the DaemonSet") < out.index(". servers (spire-server, spire-controller-manager)"), out[-4000:]
    _check_svids_served(observer, json.loads(report.read_text(encoding="utf-8")))
    old = {"spire-server": os.stat(_binary("spire-server", OLD["spire_version"])).st_ino,
           "spire-agent": os.stat(_binary("spire-agent", OLD["spire_version"])).st_ino,
           "spire-controller-manager": os.stat(_binary("spire-controller-manager",
                                                       OLD["spire_controller_manager_version"])).st_ino}
    after = ulab.processes()
    for proc, (pid, ino) in after.items():
        kind = "spire-agent" if proc.startswith("spire-agent-") else proc.rsplit("-", 1)[0]
        assert pid != before[proc][0] and ino == old[kind], f"{proc} does not run the previous {kind} build"
    hook = ulab.get("validatingwebhookconfiguration", WEBHOOK)
    assert [w["failurePolicy"] for w in hook["webhooks"]] == ["Fail", "Fail"]
