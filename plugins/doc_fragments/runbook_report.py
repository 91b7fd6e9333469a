# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), a licence compatible with
# the GNU General Public License v3.0 under which ansible-core runs this module.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    """The options every runbook report filter takes for the report's envelope (docs/runbooks/README.md)."""

    DOCUMENTATION = r"""
options:
  check_mode:
    description: Whether the run is in check mode (the report's C(check_mode)).
    type: bool
    default: false
  started_at:
    description: When the run started, UTC RFC 3339 (the report's C(started_at)); the time of the call when left out.
    type: str
"""
