#!/usr/bin/env python
"""Wall time of deploy.yml against a fresh lab, compared with a plain `kubectl apply` floor.

Usage: python tools/bench_converge.py [--runs N] [--profile] [--keep]

Brings up its own lab (state dir ~/.cache/ardur-spire/lab-bench-tool, ports apart from the
default lab and from tests/lab; every ARDUR_SPIRE_LAB_* variable overrides), then measures
  first   the first converge of playbooks/deploy.yml with the lab inputs
  rerun   a no-change re-run (median of N, must report changed=0)
  floor   kubectl apply --server-side --field-manager ardur-spire --force-conflicts -f DIR
          of the same manifests rendered with spire_render_dir + spire_render_secrets
          (median of N)
and prints a table and the ratios first/floor, rerun/floor. --profile also prints the
profile_tasks summary of one re-run. The lab is torn down at the end unless --keep.
"""

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

from lab_instance import LabInstance, private_lab, recap  # noqa: E402  pylint: disable=wrong-import-position

DEFAULTS = private_lab("lab-bench-tool", 4)
# The generated upstream CA of a render can never equal the cluster's (a new key each time).
EXCLUDED = {"upstream_ca.yaml": "the upstream CA Secret: render generates a new CA, the cluster keeps its own"}


def timed(func):
    start = time.monotonic()
    result = func()
    return time.monotonic() - start, result


def deploy(lab, work, env=None):
    seconds, proc = timed(lambda: lab.playbook(work, env=env))
    if proc.returncode != 0:
        sys.exit("deploy.yml failed (rc %d):\n%s" % (proc.returncode, (proc.stdout + proc.stderr)[-4000:]))
    return seconds, recap(proc.stdout), proc.stdout


def floor_dir(lab, work):
    """Render the same inputs and gather what kubectl applies into one flat directory."""
    render = work / "render"
    proc = lab.playbook(work, {"spire_render_dir": str(render), "spire_render_secrets": True})
    if proc.returncode != 0:
        sys.exit("render failed:\n%s" % (proc.stdout + proc.stderr)[-4000:])
    flat = work / "floor"
    flat.mkdir(mode=0o700)
    for path in sorted(render.glob("*.yaml")) + sorted((render / "secrets").glob("*.yaml")):
        if path.name in EXCLUDED:
            continue
        prefix = "secret-" if path.parent.name == "secrets" else ""
        shutil.copyfile(path, flat / (prefix + path.name))
    return flat


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", action="store_true", help="leave the lab up")
    args = parser.parse_args()

    lab = LabInstance(DEFAULTS)
    work = Path(tempfile.mkdtemp(prefix="ardur-spire-bench."))
    lab.down()  # fresh: no state from a previous run
    lab.up()
    try:
        first, first_recap, _unused = deploy(lab, work)
        reruns = []
        for _unused in range(args.runs):
            seconds, rerun_recap, _unused = deploy(lab, work)
            if rerun_recap[1] != 0:
                print("WARNING: re-run reported changed=%d" % rerun_recap[1])
            reruns.append(seconds)
        flat = floor_dir(lab, work)
        floors = []
        for _unused in range(args.runs):
            seconds, proc = timed(lambda: lab.kubectl(
                "apply", "--server-side", "--field-manager", "ardur-spire", "--force-conflicts",
                "-f", str(flat), check=False))
            if proc.returncode != 0:
                sys.exit("kubectl apply failed:\n%s" % proc.stderr[-3000:])
            floors.append(seconds)
        rerun, floor = statistics.median(reruns), statistics.median(floors)
        print("lab: %s (apiserver port %s)" % (lab.dir, lab.env["ARDUR_SPIRE_LAB_APISERVER_PORT"]))
        print("floor applies: %s" % ", ".join(p.name for p in sorted(flat.iterdir())))
        for name, why in EXCLUDED.items():
            print("floor excludes %s: %s" % (name, why))
        print()
        print("| measure | seconds | runs |")
        print("|---|---|---|")
        print("| first converge (changed=%d) | %.1f | 1 |" % (first_recap[1], first))
        print("| no-change re-run (median) | %.1f | %s |" % (rerun, " ".join("%.1f" % s for s in reruns)))
        print("| kubectl apply floor (median) | %.2f | %s |" % (floor, " ".join("%.2f" % s for s in floors)))
        print()
        print("first/floor = %.1fx   rerun/floor = %.1fx" % (first / floor, rerun / floor))
        if args.profile:
            _unused, _unused, out = deploy(lab, work, env={"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks"})
            print(out[out.rfind("TASKS RECAP"):])
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not args.keep:
            lab.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
