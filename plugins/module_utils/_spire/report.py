# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The envelope every runbook report shares.

Each runbook writes one JSON document (docs/runbooks/README.md): these keys first, then its own
sections. ``report_version`` is the runbook's own schema version: raise it when a section changes
meaning or loses a key, so that a reader can refuse a report it does not understand.
"""

from __future__ import annotations

import datetime

# Keys of the envelope, in the order they are written.
ENVELOPE_KEYS = ('runbook', 'report_version', 'status', 'check_mode', 'started_at', 'generated_at')


def timestamp(moment=None):
    """MOMENT (an aware datetime; now when None) as UTC RFC 3339 with seconds, e.g. 2026-12-07T10:00:00Z."""
    moment = moment or datetime.datetime.now(datetime.timezone.utc)
    if moment.tzinfo is None:
        raise ValueError('timestamp needs an aware datetime')
    return moment.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def envelope(runbook, report_version, status, sections, check_mode=False, started_at=None, generated_at=None):
    """The report of RUNBOOK: the envelope keys, then SECTIONS (a dict whose keys must not clash).

    STARTED_AT and GENERATED_AT are RFC 3339 strings (generated_at defaults to now, started_at to
    generated_at); STATUS is the runbook's one-word outcome.
    """
    if not isinstance(runbook, str) or not runbook:
        raise ValueError('runbook must be a non-empty string')
    if isinstance(report_version, bool) or not isinstance(report_version, int) or report_version < 1:
        raise ValueError('report_version must be a positive integer, not %r' % (report_version,))
    if not isinstance(status, str) or not status:
        raise ValueError('status must be a non-empty string')
    clash = sorted(set(sections) & set(ENVELOPE_KEYS))
    if clash:
        raise ValueError('report sections may not use the envelope keys: %s' % ', '.join(clash))
    generated_at = generated_at or timestamp()
    report = {
        'runbook': runbook,
        'report_version': report_version,
        'status': status,
        'check_mode': bool(check_mode),
        'started_at': started_at or generated_at,
        'generated_at': generated_at,
    }
    report.update(sections)
    return report
