# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Run a real ``spire-server``/``spire-agent`` ``validate`` over a rendered file.

Both 1.14.2 binaries accept ``validate -config FILE -expandEnv`` (the agent's
validate command shares run.go's flag set, so -expandEnv is there too).
spire-server validate also asks each built-in plugin to validate its data;
spire-agent validate only loads the file and the core settings.

Environment: the binary runs with a minimal environment (PATH only) plus
``env`` (validate_env).  Every variable the file references and ``env`` does
not provide is set to ``PLACEHOLDER`` so that -expandEnv leaves no empty
value behind; the caller reports which ones were filled in.  The managed
host's own environment is deliberately not passed: it is not the pod's.
"""

from __future__ import annotations

import os
import subprocess
import tempfile

from . import env as envmod

PLACEHOLDER = 'placeholder'
TIMEOUT = 60


def referenced_variables(text):
    return sorted(set(envmod.references(text)))


def run_validate(binary, component, text, variables=None, timeout=TIMEOUT):
    """Return (rc, output, placeholders) of ``BINARY validate -config TMP -expandEnv``."""
    variables = dict(variables or {})
    placeholders = [name for name in referenced_variables(text) if name not in variables]
    run_env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin')}
    run_env.update(dict((k, str(v)) for k, v in variables.items()))
    for name in placeholders:
        run_env[name] = PLACEHOLDER
    fd, path = tempfile.mkstemp(prefix='spire-%s-' % component, suffix='.conf')
    try:
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
        # validate may create files relative to its working directory (e.g. log_file); keep them out of the caller's way.
        workdir = tempfile.mkdtemp(prefix='spire-validate-')
        try:
            proc = subprocess.run([binary, 'validate', '-config', path, '-expandEnv'], cwd=workdir, env=run_env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, check=False)
            output = proc.stdout.decode('utf-8', 'replace').strip()
            return proc.returncode, output, placeholders
        except subprocess.TimeoutExpired:
            return -1, '%s validate did not finish within %d seconds' % (os.path.basename(binary), timeout), placeholders
        finally:
            for root, dirs, files in os.walk(workdir, topdown=False):
                for name in files:
                    os.unlink(os.path.join(root, name))
                for name in dirs:
                    os.rmdir(os.path.join(root, name))
            os.rmdir(workdir)
    finally:
        os.unlink(path)
