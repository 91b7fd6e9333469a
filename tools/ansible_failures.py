#!/usr/bin/env python
"""Print the failed tasks of an ansible-playbook or molecule log: task name and failure text.

CI keeps only the tail of a run's output, and molecule ends with its own summary, so the
Makefile prints this after a failed scenario: the failing task is then in the tail.
Usage: ansible_failures.py LOG [MAX_LINES_PER_FAILURE]
"""
import re
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# molecule's framed output: leading spaces and a box-drawing bar before each line.
FRAME = re.compile(r"^\s*\u2502 ?")
FAILURE = re.compile(r"^(fatal|failed): \[")


def failures(lines, limit=12):
    """[(task, [failure lines])] of LINES (plain text, one per line), in order."""
    found, task, i = [], "?", 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("TASK ["):
            task = line[len("TASK ["):].split("] *")[0].rstrip(" *")
            # A long task name wraps onto the next line in molecule's frame.
            if "]" not in line and i + 1 < len(lines):
                task += " " + lines[i + 1].strip().split("] *")[0].rstrip(" *]")
        elif FAILURE.match(line):
            block = [line]
            while i + 1 < len(lines) and lines[i + 1].strip() and not lines[i + 1].startswith(("TASK [", "PLAY")):
                i += 1
                block.append(lines[i])
            # A failure the task tolerates (ignore_errors) is not one.
            if block[-1].strip() != "...ignoring":
                found.append((task, block[:limit]))
        i += 1
    return found


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    limit = int(argv[2]) if len(argv) > 2 else 12
    with open(argv[1], encoding="utf-8", errors="replace") as handle:
        lines = [FRAME.sub("", ANSI.sub("", raw.rstrip("\n"))) for raw in handle]
    found = failures(lines, limit)
    print(f"== {len(found)} failed task(s) in {argv[1]}")
    for task, block in found:
        print(f"-- TASK [{task}]")
        print("\n".join(block))


if __name__ == "__main__":
    main(sys.argv)
