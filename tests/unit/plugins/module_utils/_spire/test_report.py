"""The runbook report envelope (plugins/module_utils/_spire/report.py)."""

import datetime

import pytest

from ansible_collections.ardur.spire.plugins.module_utils._spire import report


def test_envelope_keys_come_first_in_order():
    doc = report.envelope('health', 3, 'healthy', {'servers': {'expected': 3}}, check_mode=True,
                          started_at='2026-12-07T10:00:00Z', generated_at='2026-12-07T10:00:05Z')
    assert list(doc) == list(report.ENVELOPE_KEYS) + ['servers']
    assert doc['runbook'] == 'health' and doc['report_version'] == 3 and doc['status'] == 'healthy'
    assert doc['check_mode'] is True
    assert doc['started_at'] == '2026-12-07T10:00:00Z' and doc['generated_at'] == '2026-12-07T10:00:05Z'


def test_started_at_defaults_to_generated_at():
    doc = report.envelope('uninstall', 1, 'planned', {})
    assert doc['started_at'] == doc['generated_at']
    datetime.datetime.strptime(doc['generated_at'], '%Y-%m-%dT%H:%M:%SZ')


@pytest.mark.parametrize('args, message', [
    (('', 1, 'ok', {}), 'runbook'),
    (('health', 0, 'ok', {}), 'report_version'),
    (('health', True, 'ok', {}), 'report_version'),
    (('health', '2', 'ok', {}), 'report_version'),
    (('health', 1, '', {}), 'status'),
    (('health', 1, 'ok', {'status': 'x', 'runbook': 'y'}), 'runbook, status'),
])
def test_envelope_refuses(args, message):
    with pytest.raises(ValueError, match=message):
        report.envelope(*args)


def test_timestamp():
    moment = datetime.datetime(2026, 12, 7, 11, 30, 1, 999, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert report.timestamp(moment) == '2026-12-07T10:30:01Z'
    with pytest.raises(ValueError):
        report.timestamp(datetime.datetime(2026, 12, 7))
