"""tools/ansible_failures.py: the failed tasks of a framed molecule log, tolerated failures left out."""

import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parents[3] / "tools" / "ansible_failures.py"
SPEC = importlib.util.spec_from_file_location("ansible_failures", TOOL)
ansible_failures = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(ansible_failures)

BAR = "\x1b[2m\u2502\x1b[0m "
LOG = [
    "TASK [Read the servers] ***",
    "ok: [localhost]",
    "",
    "TASK [Probe something that may fail] ***",
    'fatal: [localhost]: FAILED! => {"msg": "tolerated"}',
    "...ignoring",
    "",
    "TASK [Each workload holds exactly the SPIFFE ID of the naming",
    "  contract] ***",
    "\x1b[31mfailed: [localhost] (item=langchain) => {\"msg\": \"expected spiffe://a, received []\"}\x1b[0m",
    "ok: [localhost] => (item=autogen)",
    "",
    "PLAY RECAP ***",
]


def test_failures_of_a_framed_log(tmp_path, capsys):
    log = tmp_path / "molecule.log"
    log.write_text("".join(f"  {BAR}{line}\n" for line in LOG), encoding="utf-8")
    ansible_failures.main(["ansible_failures.py", str(log)])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"== 1 failed task(s) in {log}"
    assert out[1] == "-- TASK [Each workload holds exactly the SPIFFE ID of the naming contract]"
    assert out[2].startswith('failed: [localhost] (item=langchain) => {"msg": "expected spiffe://a')
    assert "tolerated" not in "\n".join(out)


def test_failures_limit_lines():
    lines = ["TASK [t] ***", "fatal: [localhost]: FAILED! => {"] + [f"  line {n}" for n in range(30)]
    [(task, block)] = ansible_failures.failures(lines, limit=5)
    assert task == "t"
    assert len(block) == 5
