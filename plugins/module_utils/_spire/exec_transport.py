# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), a licence compatible with
# the GNU General Public License v3.0 under which ansible-core runs this module.
"""How modules reach one SPIRE server: its admin socket on this host, or an exec into a server pod
through the Kubernetes exec API with kubernetes.core's connection options."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.ardur.spire.plugins.module_utils._spire.server_info import EXEC_FAILED

try:
    from kubernetes.client import CoreV1Api
    from kubernetes.stream import stream
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError as exc:  # the local transport needs none of this
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = exc

# Options of the ardur.spire.server_transport doc fragment, plus kubernetes.core's connection options.
SERVER_TRANSPORT_SPEC = dict(
    transport=dict(type="str", choices=["local", "kubernetes"], default="local"),
    spire_server_path=dict(type="str", default="/opt/spire/bin/spire-server"),
    socket_path=dict(type="path", default="/tmp/spire-server/private/api.sock"),
    namespace=dict(type="str", default="spire-system"),
    pod=dict(type="str", default="spire-server-0"),
    container=dict(type="str", default="spire-server"),
)
SERVER_TRANSPORT_SPEC.update(AUTH_ARG_SPEC)

_ERROR_CHANNEL = 3


def exec_failure(namespace, pod, exc):
    """The error of an exec the API refused, in one line: the API's Status message when the
    exception carries one (a Pending pod: 'pod X does not have a host assigned'), else the exception."""
    text = str(exc)
    start = text.rfind('{"kind":"Status"')
    if start >= 0:
        try:
            status = json.JSONDecoder().raw_decode(text[start:])[0]
            text = "%s (%s)" % (status.get("message") or "no message", status.get("reason") or status.get("code"))
        except ValueError:
            pass
    return "%s%s/%s failed: %s" % (EXEC_FAILED, namespace, pod, " ".join(text.split()))


def _exit_code(status):
    """The command's exit code from the exec API's status message (channel 3)."""
    if not status:
        return 0
    status = json.loads(status) if isinstance(status, str) else status
    if status.get("status") == "Success":
        return 0
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            return int(cause.get("message", 1))
    return 1


def kubernetes_runner(module, namespace, pod, container):
    """A `run(argv, stdin) -> (rc, stdout, stderr)` that executes argv in the pod's container.

    The exec API gives no way to close a command's stdin, so callers pass stdin=None.
    """
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=str(KUBERNETES_IMPORT_ERROR))
    auth = {key: module.params.get(key) for key in AUTH_ARG_SPEC if module.params.get(key) is not None}
    # CoreV1Api wants the plain ApiClient (stream() patches its call_api), which kubernetes.core
    # keeps inside its DynamicClient: K8SClient.client.client.
    api = CoreV1Api(get_api_client(**auth).client.client)

    def run(argv, stdin):
        if stdin is not None:
            raise ValueError("the exec transport cannot feed stdin")
        try:
            resp = stream(api.connect_get_namespaced_pod_exec, pod, namespace, container=container, command=argv,
                          stdin=False, stdout=True, stderr=True, tty=False, _preload_content=False)
        except Exception as exc:  # pylint: disable=broad-except
            return 1, "", exec_failure(namespace, pod, exc)
        out, err = [], []
        while resp.is_open():
            resp.update(timeout=1)
            if resp.peek_stdout():
                out.append(resp.read_stdout())
            if resp.peek_stderr():
                err.append(resp.read_stderr())
        return _exit_code(resp.read_channel(_ERROR_CHANNEL)), "".join(out), "".join(err)

    return run


def server_runner(module):
    """The `run(argv, stdin) -> (rc, stdout, stderr)` the module's O(transport) asks for."""
    params = module.params
    if params["transport"] == "local":
        def run(argv, stdin):
            return module.run_command(argv, data=stdin, binary_data=True)
        return run
    return kubernetes_runner(module, params["namespace"], params["pod"], params["container"])
