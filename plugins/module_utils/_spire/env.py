# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Environment references as SPIRE's ``-expandEnv`` sees them.

SPIRE (pkg/common/config/config.go) runs Go's ``os.Expand`` over the whole
file before decoding it: ``${NAME}`` and ``$NAME`` are replaced, ``$$``
becomes ``$`` and an unset variable becomes the empty string.  This module
reproduces Go's scanning rules so that the checks know which parts of a
value are only known at run time.
"""

from __future__ import annotations

_SPECIAL = '*#$@!?-0123456789'


def _is_alnum(ch):
    return ch == '_' or ('0' <= ch <= '9') or ('a' <= ch <= 'z') or ('A' <= ch <= 'Z')


def _shell_name(s):
    """Go's getShellName: return (name, width) for the text after a '$'."""
    if s[0] == '{':
        if len(s) > 2 and s[1] in _SPECIAL and s[2] == '}':
            return s[1:2], 3
        end = s.find('}', 1)
        if end == 1:
            return '', 2  # "${}": bad syntax, eaten
        if end < 0:
            return '', 1  # "${" without "}": bad syntax, eaten
        return s[1:end], end + 1
    if s[0] in _SPECIAL:
        return s[0], 1
    i = 0
    while i < len(s) and _is_alnum(s[i]):
        i += 1
    return s[:i], i


def segments(text):
    """Split ``text`` into ('text', str) and ('ref', name, raw) parts as os.Expand does."""
    out = []
    i = 0
    j = 0
    n = len(text)
    while j < n:
        if text[j] == '$' and j + 1 < n:
            if i < j:
                out.append(('text', text[i:j]))
            name, width = _shell_name(text[j + 1:])
            raw = text[j:j + 1 + width]
            if name == '' and width > 0:
                out.append(('bad', raw))
            elif name == '':
                out.append(('text', '$'))
            else:
                out.append(('ref', name, raw))
            j += width
            i = j + 1
        j += 1
    if i < n:
        out.append(('text', text[i:]))
    return out


def references(text):
    """Names of the variables ``text`` refers to (``$$`` is not a reference)."""
    return [seg[1] for seg in segments(text) if seg[0] == 'ref' and seg[1] != '$']


def has_reference(value):
    return isinstance(value, str) and bool(references(value))


def only_references(value):
    """True when ``value`` is made only of variable references (``${A}${B}``)."""
    if not isinstance(value, str) or not value:
        return False
    segs = segments(value)
    return all(seg[0] == 'ref' and seg[1] != '$' for seg in segs)


def literal_part(value):
    """The characters of ``value`` that are not variable references."""
    return ''.join(seg[1] for seg in segments(value) if seg[0] == 'text') if isinstance(value, str) else value


def unbraced_references(text):
    """References written as ``$NAME`` (easy to trigger by accident, e.g. in a password)."""
    return [seg[2] for seg in segments(text) if seg[0] == 'ref' and not seg[2].startswith('${') and seg[1] != '$']


def expand(text, mapping):
    """Go's os.Expand with SPIRE's mapping for ``$$``."""
    parts = []
    for seg in segments(text):
        if seg[0] == 'text':
            parts.append(seg[1])
        elif seg[0] == 'ref':
            parts.append('$' if seg[1] == '$' else mapping(seg[1]))
    return ''.join(parts)
