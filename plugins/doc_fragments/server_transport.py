# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), a licence compatible with
# the GNU General Public License v3.0 under which ansible-core runs this module.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    """How a module reaches one SPIRE server: its admin socket on this host, or an exec into a server pod."""

    DOCUMENTATION = r"""
options:
  transport:
    description:
      - V(local) runs O(spire_server_path) on this host against O(socket_path).
      - V(kubernetes) runs it inside O(pod) in O(namespace) through the exec API, with the connection options of
        kubernetes.core.
    type: str
    choices: [local, kubernetes]
    default: local
  spire_server_path:
    description:
      - Path of the spire-server binary. The default suits O(transport=kubernetes) with the official image; for V(local)
        give the path, or C(spire-server) to use E(PATH).
    type: str
    default: /opt/spire/bin/spire-server
  socket_path:
    description: The server's admin (private API) socket.
    type: path
    default: /tmp/spire-server/private/api.sock
  namespace:
    description: Namespace of the server pod (O(transport=kubernetes)).
    type: str
    default: spire-system
  pod:
    description: Server pod to run in (O(transport=kubernetes)).
    type: str
    default: spire-server-0
  container:
    description: Container of O(pod) that holds the server (O(transport=kubernetes)).
    type: str
    default: spire-server
requirements:
  - kubernetes >= 24.2.0 (only for O(transport=kubernetes))
"""
