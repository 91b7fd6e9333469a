# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

"""What every filter plugin of this collection shares: the decision code raises ValueError with a
message naming the bad input; Ansible shows it as the filter's own error."""

from __future__ import annotations

import functools

from ansible.errors import AnsibleFilterError


def wrap_filters(table, errors=(ValueError,)):
    """{name: function} -> {name: the function, its `errors` raised as AnsibleFilterError('ardur.spire.<name>: ...')}."""
    return {name: _wrap(name, func, errors) for name, func in table.items()}


def _wrap(name, func, errors):
    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except AnsibleFilterError:
            raise
        except errors as exc:
            raise AnsibleFilterError("ardur.spire.%s: %s" % (name, exc)) from exc
    return wrapped
