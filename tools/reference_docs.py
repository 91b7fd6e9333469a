#!/usr/bin/env python
"""Generate the module and role reference in docs/reference/ with antsibull-docs.

The only sources are each module's DOCUMENTATION/EXAMPLES/RETURN and each role's
meta/argument_specs.yml; antsibull-docs renders them (simplified RST, the format that needs no
Sphinx site). `--check` regenerates into a temporary directory and fails when docs/reference/
differs from it (a stale, missing or extra file).

Every entry point of a role reuses the `main` option list, so that each one checks all of the
role's inputs (tests/unit/test_role_specs.py holds them to it). `ansible-doc -t role` prints that
list under every entry point; the reference prints it once, under `main`: the collection is
staged in a temporary directory, where an entry point whose options equal main's loses its copy
(its description says it takes main's options, and its O(option) references are pointed at
main's), and antsibull-docs documents that staged copy.
Nothing in the checkout is changed but docs/reference/.
"""

import argparse
import filecmp
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference"
COLLECTION = "ardur.spire"
# What ansible-doc needs to document the collection's modules and roles.
STAGED = ("galaxy.yml", "meta", "plugins", "roles")
# O(option) or O(option=value) naming an option of the same role and entry point.
OPTION_REF = re.compile(r"O\(([a-z_][a-z0-9_.]*)(=[^)]*)?\)")


def _point_options_at_main(entry_point, role, main_options):
    def repoint(match):
        option = match.group(1)
        if option.split(".")[0] not in main_options:
            return match.group(0)
        return "O(%s.%s#role:main:%s%s)" % (COLLECTION, role, option, match.group(2) or "")

    for key in ("short_description", "description"):
        value = entry_point.get(key)
        if isinstance(value, str):
            entry_point[key] = OPTION_REF.sub(repoint, value)
        elif isinstance(value, list):
            entry_point[key] = [OPTION_REF.sub(repoint, v) if isinstance(v, str) else v for v in value]


def _stage(dest):
    """Copy the collection to DEST/ansible_collections/ardur/spire, role option lists deduplicated."""
    target = dest / "ansible_collections" / "ardur" / "spire"
    target.mkdir(parents=True)
    for name in STAGED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target / name)
    for specs_file in sorted(target.glob("roles/*/meta/argument_specs.yml")):
        specs = yaml.safe_load(specs_file.read_text(encoding="utf-8"))
        entry_points = specs["argument_specs"]
        main_options = (entry_points.get("main") or {}).get("options")
        role = specs_file.parent.parent.name
        for name, entry_point in entry_points.items():
            if name != "main" and main_options and entry_point.get("options") == main_options:
                entry_point.pop("options")
                # O(option) of this entry point now points at main's copy of the option.
                _point_options_at_main(entry_point, role, main_options)
        specs_file.write_text(yaml.safe_dump(specs, sort_keys=False), encoding="utf-8")
    return target


def generate(dest):
    """Write the reference (*.rst) for the collection as it is in the checkout into DEST."""
    with tempfile.TemporaryDirectory(prefix="ardur-spire-reference-") as work:
        work = pathlib.Path(work)
        _stage(work / "collections")
        env = dict(os.environ)
        # The staged copy first: it shadows the checkout's own link in the venv; the venv's
        # collection tree next, for kubernetes.core's doc fragments and the other dependencies.
        env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join(
            [str(work / "collections"), sysconfig.get_paths()["purelib"]]
        )
        env["PATH"] = os.pathsep.join([str(pathlib.Path(sys.executable).parent), env.get("PATH", "")])
        env["ANSIBLE_LOCAL_TEMP"] = str(work / "tmp")
        out = work / "out"
        out.mkdir()
        command = [
            "antsibull-docs", "collection",
            "--use-current", "--squash-hierarchy", "--fail-on-error",
            "--output-format", "simplified-rst",
            "--no-add-antsibull-docs-version",
            "--dest-dir", str(out), COLLECTION,
        ]
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            sys.exit("antsibull-docs failed:\n%s%s" % (result.stdout, result.stderr))
        files = sorted(p.name for p in out.glob("*.rst"))
        if "index.rst" not in files or not any(f.endswith("_role.rst") for f in files) \
                or not any(f.endswith("_module.rst") for f in files):
            sys.exit("antsibull-docs wrote no complete reference: %s\n%s" % (files, result.stderr))
        dest.mkdir(parents=True, exist_ok=True)
        for name in files:
            shutil.copy2(out / name, dest / name)
        return files


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail when docs/reference/ is stale")
    args = parser.parse_args()
    if args.check:
        with tempfile.TemporaryDirectory(prefix="ardur-spire-reference-check-") as fresh:
            fresh = pathlib.Path(fresh)
            files = generate(fresh)
            committed = sorted(p.name for p in REFERENCE.glob("*.rst")) if REFERENCE.is_dir() else []
            stale = sorted(set(files) ^ set(committed))
            stale += [f for f in files if f in committed and not filecmp.cmp(fresh / f, REFERENCE / f, shallow=False)]
            if stale:
                sys.exit("docs/reference/ is stale (%s): run `make docs`" % ", ".join(sorted(set(stale))))
        return
    if REFERENCE.is_dir():
        for old in REFERENCE.glob("*.rst"):
            old.unlink()
    files = generate(REFERENCE)
    print("wrote %d files to %s" % (len(files), REFERENCE.relative_to(ROOT)))


if __name__ == "__main__":
    main()
