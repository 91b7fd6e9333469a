# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Reader and writer for the HCL v1 and JSON dialects that SPIRE 1.14 loads.

SPIRE decodes its configuration with hashicorp/hcl v1, which accepts HCL
syntax or JSON.  This module parses both (stdlib only) into plain Python data
and renders deterministic HCL back.  What it mirrors from HCL v1 on purpose:

* repeated blocks with the same name merge (``NodeAttestor "a" {}`` and
  ``NodeAttestor "b" {}``), ``a "b" { }`` means ``a { b { } }``;
* in JSON, a list made only of objects stands for repeated blocks;
* inside ``${...}`` nothing is unescaped (SPIRE's -expandEnv substitutes
  those before HCL sees the text).

* JSON ``null`` is kept as :data:`NULL` (HCL v1 reads it as an empty string
  token); the key tables decide what it means where it stands, as SPIRE's
  decoder does (see ``validate.coerce``).  Inside a list it is a syntax
  error, as in HCL v1.

What it adds: a repeated attribute (``x = 1`` twice) is an error instead of
"last one wins", and every error carries ``line:column``.
"""

from __future__ import annotations

import bisect
import json
import re

__all__ = ['HCLError', 'NULL', 'parse', 'parse_hcl', 'parse_json', 'from_python', 'render', 'format_path']


class HCLError(ValueError):
    """A syntax or structure error, with its position when known."""

    def __init__(self, message, line=None, column=None):
        self.message = message
        self.line = line
        self.column = column
        if line is not None:
            text = 'line %d, column %d: %s' % (line, column or 0, message)
        else:
            text = message
        super(HCLError, self).__init__(text)


class _Null(object):
    """The value of a JSON ``null``: HCL v1 turns it into an empty string token."""

    __slots__ = ()

    def __repr__(self):
        return 'null'

    def __bool__(self):
        return False

    __nonzero__ = __bool__

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        return 'NULL'


NULL = _Null()


# Nodes of the small syntax tree shared by the HCL, JSON and Python readers.
class _Obj(object):
    __slots__ = ('items', 'pos')

    def __init__(self, items, pos):
        self.items = items  # list of (key, node, pos)
        self.pos = pos


class _List(object):
    __slots__ = ('elems', 'pos')

    def __init__(self, elems, pos):
        self.elems = elems
        self.pos = pos


class _Lit(object):
    __slots__ = ('value', 'pos')

    def __init__(self, value, pos):
        self.value = value
        self.pos = pos


_PUNCT = {'{': 'LBRACE', '}': 'RBRACE', '[': 'LBRACK', ']': 'RBRACK', '=': 'ASSIGN', ',': 'COMMA'}
_NUMBER_RE = re.compile(r'-?(?:0[xX][0-9a-fA-F]+|[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)')
_SIMPLE_ESCAPES = {'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v', '\\': '\\', '"': '"'}
_IDENT_RE = re.compile(r'[A-Za-z_][A-Za-z0-9_.\-]*\Z')
_PLAIN_KEY_RE = re.compile(r'[A-Za-z_][A-Za-z0-9_]*\Z')


def _is_letter(ch):
    return ch == '_' or ('a' <= ch <= 'z') or ('A' <= ch <= 'Z') or (ch >= '\x80' and ch.isalpha())


def _is_ident_char(ch):
    return _is_letter(ch) or ch.isdigit() or ch in '-.'


class _Text(object):
    """Source text with offset -> (line, column) conversion."""

    def __init__(self, text):
        self.text = text
        self._starts = [0] + [m.end() for m in re.finditer('\n', text)]

    def pos(self, offset):
        idx = bisect.bisect_right(self._starts, offset) - 1
        return (idx + 1, offset - self._starts[idx] + 1)

    def error(self, message, offset):
        line, col = self.pos(offset)
        return HCLError(message, line, col)


def _hcl_tokens(src):
    """Yield (type, value, offset) tokens of HCL v1 text."""
    text = src.text
    n = len(text)
    i = 0
    if text.startswith('\ufeff'):
        i = 1
    while i < n:
        ch = text[i]
        if ch in ' \t\r\n':
            i += 1
            continue
        if ch == '#' or text.startswith('//', i):
            end = text.find('\n', i)
            i = n if end < 0 else end + 1
            continue
        if text.startswith('/*', i):
            end = text.find('*/', i + 2)
            if end < 0:
                raise src.error('comment not terminated', i)
            i = end + 2
            continue
        if ch in _PUNCT:
            yield (_PUNCT[ch], ch, i)
            i += 1
            continue
        if ch == '"':
            value, i2 = _scan_string(src, i)
            yield ('STRING', value, i)
            i = i2
            continue
        if text.startswith('<<', i):
            value, i2 = _scan_heredoc(src, i)
            yield ('STRING', value, i)
            i = i2
            continue
        if ch.isdigit() or (ch == '-' and i + 1 < n and text[i + 1].isdigit()):
            m = _NUMBER_RE.match(text, i)
            yield ('NUMBER', _number_value(src, m.group(0), i), i)
            i = m.end()
            continue
        if _is_letter(ch):
            j = i + 1
            while j < n and _is_ident_char(text[j]):
                j += 1
            word = text[i:j]
            if word in ('true', 'false'):
                yield ('BOOL', word == 'true', i)
            else:
                yield ('IDENT', word, i)
            i = j
            continue
        raise src.error('illegal character %r' % ch, i)
    yield ('EOF', None, n)


def _number_value(src, literal, offset):
    body = literal.lstrip('-')
    sign = -1 if literal.startswith('-') else 1
    try:
        if body[:2] in ('0x', '0X'):
            return sign * int(body[2:], 16)
        if '.' in body or 'e' in body or 'E' in body:
            return float(literal)
        if len(body) > 1 and body.startswith('0'):
            # Go's ParseInt(s, 0, 0), which HCL v1 uses, reads a leading 0 as octal.
            return sign * int(body, 8)
        return sign * int(body)
    except ValueError:
        raise src.error('invalid number %r' % literal, offset)


def _scan_string(src, start):
    """Scan a double-quoted string starting at ``start``; return (value, end)."""
    text = src.text
    n = len(text)
    out = []
    i = start + 1
    braces = 0
    while True:
        if i >= n:
            raise src.error('string not terminated', start)
        ch = text[i]
        if braces == 0:
            if ch == '\n':
                raise src.error('string not terminated before end of line', start)
            if ch == '"':
                return ''.join(out), i + 1
            if ch == '$' and text.startswith('${', i):
                braces = 1
                out.append('${')
                i += 2
                continue
            if ch == '\\':
                value, i = _scan_escape(src, i)
                out.append(value)
                continue
            out.append(ch)
            i += 1
            continue
        # Inside ${...}: copied verbatim, quotes do not end the string.
        if ch == '{':
            braces += 1
        elif ch == '}':
            braces -= 1
        out.append(ch)
        i += 1


def _scan_escape(src, i):
    text = src.text
    if i + 1 >= len(text):
        raise src.error('illegal escape at end of input', i)
    ch = text[i + 1]
    if ch in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[ch], i + 2
    if ch in '01234567':
        digits, base, start = 3, 8, i + 1
    elif ch == 'x':
        digits, base, start = 2, 16, i + 2
    elif ch == 'u':
        digits, base, start = 4, 16, i + 2
    elif ch == 'U':
        digits, base, start = 8, 16, i + 2
    else:
        raise src.error('illegal escape \\%s' % ch, i)
    chunk = text[start:start + digits]
    try:
        if len(chunk) != digits:
            raise ValueError(chunk)
        return chr(int(chunk, base)), start + digits
    except ValueError:
        raise src.error('illegal escape \\%s%s' % (ch, chunk[:digits]), i)


def _scan_heredoc(src, start):
    text = src.text
    m = re.compile(r'<<(-?)([A-Za-z_][A-Za-z0-9_]*)\r?\n').match(text, start)
    if not m:
        raise src.error('invalid heredoc anchor (expected <<NAME or <<-NAME followed by a newline)', start)
    indent, anchor = m.group(1), m.group(2)
    lines = []
    i = m.end()
    terminator = re.compile(r'[ \t]*' + re.escape(anchor) + r'\r*\Z')
    while True:
        if i >= len(text):
            raise src.error('heredoc %s not terminated' % anchor, start)
        end = text.find('\n', i)
        line = text[i:] if end < 0 else text[i:end]
        nxt = len(text) if end < 0 else end + 1
        if terminator.match(line):
            break
        lines.append(line)
        i = nxt
    if indent:
        prefix = line[:len(line) - len(line.lstrip(' \t'))]
        if all(x.startswith(prefix) for x in lines):
            lines = [x[len(prefix):] for x in lines]
    value = ''.join(x + '\n' for x in lines)
    return value, nxt


class _HCLParser(object):
    def __init__(self, src):
        self.src = src
        self.tokens = list(_hcl_tokens(src))
        self.i = 0

    def peek(self):
        return self.tokens[self.i]

    def take(self):
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, message, tok):
        return self.src.error(message, tok[2])

    def parse_file(self):
        obj = self.parse_object_list('EOF', self.peek()[2])
        return obj

    def parse_object_list(self, end, offset):
        items = []
        while self.peek()[0] != end:
            tok = self.peek()
            if tok[0] == 'EOF':
                raise self.fail("expected '}' to close the block opened at line %d, column %d" % self.src.pos(offset), tok)
            items.append(self.parse_item())
            if self.peek()[0] == 'COMMA':
                self.take()
        return _Obj(items, self.src.pos(offset))

    def parse_item(self):
        keys = []
        while self.peek()[0] in ('IDENT', 'STRING'):
            keys.append(self.take())
        tok = self.peek()
        if not keys:
            raise self.fail('expected a key, found %s' % _describe(tok), tok)
        if tok[0] == 'ASSIGN':
            if len(keys) > 1:
                raise self.fail("expected '{' after %s: only a block may have labels" % _describe(keys[-1]), tok)
            self.take()
            value = self.parse_value()
        elif tok[0] == 'LBRACE':
            self.take()
            value = self.parse_object_list('RBRACE', tok[2])
            self.take()
        else:
            raise self.fail("expected '=' or '{' after %s, found %s" % (_describe(keys[-1]), _describe(tok)), tok)
        # a "b" "c" { } is a { b { c { } } }
        for key in reversed(keys[1:]):
            value = _Obj([(key[1], value, self.src.pos(key[2]))], self.src.pos(key[2]))
        return (keys[0][1], value, self.src.pos(keys[0][2]))

    def parse_value(self):
        tok = self.take()
        kind = tok[0]
        if kind in ('STRING', 'NUMBER', 'BOOL'):
            return _Lit(tok[1], self.src.pos(tok[2]))
        if kind == 'LBRACE':
            obj = self.parse_object_list('RBRACE', tok[2])
            self.take()
            return obj
        if kind == 'LBRACK':
            elems = []
            while self.peek()[0] != 'RBRACK':
                if self.peek()[0] == 'EOF':
                    raise self.fail("expected ']' to close the list opened at line %d, column %d" % self.src.pos(tok[2]), self.peek())
                elems.append(self.parse_value())
                nxt = self.peek()
                if nxt[0] == 'COMMA':
                    self.take()
                elif nxt[0] != 'RBRACK':
                    raise self.fail("expected ',' or ']' in list, found %s" % _describe(nxt), nxt)
            self.take()
            return _List(elems, self.src.pos(tok[2]))
        if kind == 'IDENT':
            raise self.fail('unquoted value %r: strings must be double-quoted' % tok[1], tok)
        raise self.fail('expected a value, found %s' % _describe(tok), tok)


def _describe(tok):
    kind, value = tok[0], tok[1]
    if kind == 'EOF':
        return 'end of input'
    if kind in ('IDENT', 'NUMBER', 'BOOL'):
        return '%s %r' % (kind.lower() if kind != 'IDENT' else 'identifier', value)
    if kind == 'STRING':
        return 'a string'
    return repr(value)


# ----------------------------------------------------------------------- JSON
_JSON_WS = ' \t\r\n'
_JSON_NUMBER_RE = re.compile(r'-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?')


class _JSONParser(object):
    """A position-aware JSON reader (the json module reports no key positions)."""

    def __init__(self, src):
        self.src = src
        self.text = src.text
        self.i = 0

    def ws(self):
        while self.i < len(self.text) and self.text[self.i] in _JSON_WS:
            self.i += 1

    def fail(self, message, offset=None):
        return self.src.error(message, self.i if offset is None else offset)

    def parse_file(self):
        if self.text.startswith('\ufeff'):
            self.i = 1
        self.ws()
        if self.i >= len(self.text) or self.text[self.i] != '{':
            raise self.fail('a JSON configuration must be an object')
        value = self.value()
        self.ws()
        if self.i != len(self.text):
            raise self.fail('unexpected data after the JSON object')
        return value

    def value(self):
        self.ws()
        if self.i >= len(self.text):
            raise self.fail('unexpected end of input')
        ch = self.text[self.i]
        start = self.i
        pos = self.src.pos(start)
        if ch == '{':
            return self.obj()
        if ch == '[':
            self.i += 1
            elems = []
            self.ws()
            if self.text.startswith(']', self.i):
                self.i += 1
                return _List(elems, pos)
            while True:
                self.ws()
                if self.text.startswith('null', self.i):
                    # hcl v1's JSON parser has no null inside a list ("unexpected token while parsing list: NULL").
                    raise self.fail('null is not allowed in a list: SPIRE cannot read it (unexpected token while parsing list)')
                elems.append(self.value())
                self.ws()
                if self.text.startswith(',', self.i):
                    self.i += 1
                    continue
                if self.text.startswith(']', self.i):
                    self.i += 1
                    return _List(elems, pos)
                raise self.fail("expected ',' or ']' in array")
        if ch == '"':
            return _Lit(self.string(), pos)
        for word, val in (('true', True), ('false', False)):
            if self.text.startswith(word, self.i):
                self.i += len(word)
                return _Lit(val, pos)
        if self.text.startswith('null', self.i):
            self.i += 4
            return _Lit(NULL, pos)
        m = _JSON_NUMBER_RE.match(self.text, self.i)
        if m and m.end() > self.i:
            self.i = m.end()
            literal = m.group(0)
            return _Lit(float(literal) if (m.group(1) or m.group(2)) else int(literal), pos)
        raise self.fail('unexpected character %r' % ch)

    def obj(self):
        pos = self.src.pos(self.i)
        self.i += 1
        items = []
        self.ws()
        if self.text.startswith('}', self.i):
            self.i += 1
            return _Obj(items, pos)
        while True:
            self.ws()
            if not self.text.startswith('"', self.i):
                raise self.fail('expected a double-quoted key')
            kpos = self.src.pos(self.i)
            key = self.string()
            self.ws()
            if not self.text.startswith(':', self.i):
                raise self.fail("expected ':' after key")
            self.i += 1
            value = self.value()
            if isinstance(value, _List) and value.elems and all(isinstance(e, _Obj) for e in value.elems):
                # HCL v1 reads a JSON list of objects as repeated blocks.
                for elem in value.elems:
                    items.append((key, elem, kpos))
            else:
                items.append((key, value, kpos))
            self.ws()
            if self.text.startswith(',', self.i):
                self.i += 1
                continue
            if self.text.startswith('}', self.i):
                self.i += 1
                return _Obj(items, pos)
            raise self.fail("expected ',' or '}' in object")

    def string(self):
        start = self.i
        # Reuse json's decoder for a single string literal (it knows every escape).
        end = start + 1
        while True:
            if end >= len(self.text) or self.text[end] == '\n':
                raise self.fail('string not terminated', start)
            if self.text[end] == '\\':
                end += 2
                continue
            if self.text[end] == '"':
                break
            end += 1
        try:
            value = json.loads(self.text[start:end + 1])
        except ValueError as exc:
            raise self.fail('invalid string: %s' % exc, start)
        self.i = end + 1
        return value


# --------------------------------------------------------------------- Python
def _from_python(value, pos=None):
    if isinstance(value, dict):
        items = []
        for key, val in value.items():
            if val is None:
                continue  # None means "unset", like a key left out
            node = _from_python(val)
            if isinstance(node, _List) and node.elems and all(isinstance(e, _Obj) for e in node.elems):
                items.extend((str(key), e, None) for e in node.elems)
            else:
                items.append((str(key), node, None))
        return _Obj(items, pos)
    if isinstance(value, (list, tuple)):
        return _List([_from_python(v) for v in value], pos)
    if isinstance(value, (bool, int, float)) or isinstance(value, str):
        return _Lit(value, pos)
    raise HCLError('unsupported value of type %s' % type(value).__name__)


# ------------------------------------------------------------------- decoding
def format_path(path):
    """Render a key path as ``a.b["c.d"].e``."""
    out = ''
    for part in path:
        if isinstance(part, int):
            out += '[%d]' % part
        elif _PLAIN_KEY_RE.match(part):
            out += ('.' if out else '') + part
        else:
            out += '[%s]' % json.dumps(part)
    return out


def _decode(node, path, policy, positions):
    if isinstance(node, _Lit):
        return node.value
    if isinstance(node, _List):
        for i, elem in enumerate(node.elems):
            if elem.pos is not None:
                positions.setdefault(path + (i,), elem.pos)
        return [_decode(e, path + (i,), policy, positions) for i, e in enumerate(node.elems)]
    result = {}
    origin = {}
    for key, child, pos in node.items:
        kpath = path + (key,)
        mode = policy(kpath)
        if key not in result:
            if pos is not None:
                positions.setdefault(kpath, pos)
            origin[key] = child
            if mode == 'list':
                result[key] = _as_list(child, kpath, policy, positions)
            else:
                result[key] = _decode(child, kpath, policy, positions)
            continue
        first = positions.get(kpath)
        where = ' (first defined at line %d, column %d)' % first if first else ''
        if mode == 'list':
            result[key].extend(_as_list(child, kpath, policy, positions, start=len(result[key])))
        elif mode == 'merge' and isinstance(child, _Obj) and isinstance(origin[key], _Obj):
            merged = _Obj(origin[key].items + child.items, origin[key].pos)
            origin[key] = merged
            result[key] = _decode(merged, kpath, policy, positions)
        else:
            what = 'declared more than once' if mode == 'unique' else 'is a duplicate key'
            line, col = pos if pos else (None, None)
            raise HCLError('%s %s%s' % (format_path(kpath), what, where), line, col)
    return result


def _as_list(node, path, policy, positions, start=0):
    if isinstance(node, _List):
        return [_decode(e, path + (start + i,), policy, positions) for i, e in enumerate(node.elems)]
    return [_decode(node, path + (start,), policy, positions)]


def _default_policy(path):
    return 'merge'


def _finish(root, policy):
    positions = {}
    data = _decode(root, (), policy or _default_policy, positions)
    return data, positions


def parse_hcl(text, policy=None):
    """Parse HCL v1 text; return (data, positions)."""
    return _finish(_HCLParser(_Text(text)).parse_file(), policy)


def parse_json(text, policy=None):
    """Parse SPIRE-style JSON text; return (data, positions)."""
    return _finish(_JSONParser(_Text(text)).parse_file(), policy)


def parse(text, policy=None):
    """Parse HCL or JSON (JSON when the first non-blank character is '{', as HCL v1 decides)."""
    if text.lstrip('\ufeff \t\r\n').startswith('{'):
        return parse_json(text, policy)
    return parse_hcl(text, policy)


def from_python(data, policy=None):
    """Normalize a Python mapping with the same rules as parsed text; return data."""
    if not isinstance(data, dict):
        raise HCLError('the configuration must be a mapping')
    return _finish(_from_python(data), policy)[0]


# ------------------------------------------------------------------ rendering
def _quote(value):
    out = ['"']
    i = 0
    n = len(value)
    while i < n:
        if value.startswith('${', i):
            depth, j = 1, i + 2
            while j < n and depth:
                if value[j] == '{':
                    depth += 1
                elif value[j] == '}':
                    depth -= 1
                j += 1
            if depth == 0:
                out.append(value[i:j])  # verbatim: HCL v1 does not unescape inside ${...}
                i = j
                continue
        ch = value[i]
        if ch == '"':
            out.append('\\"')
        elif ch == '\\':
            out.append('\\\\')
        elif ch == '\n':
            out.append('\\n')
        elif ch == '\t':
            out.append('\\t')
        elif ch == '\r':
            out.append('\\r')
        elif ord(ch) < 0x20 or ord(ch) == 0x7f:
            out.append('\\u%04x' % ord(ch))
        else:
            out.append(ch)
        i += 1
    out.append('"')
    return ''.join(out)


def _key(key):
    # Names with '.' or '-' (trust domains, clusters) are quoted for readability; HCL v1 accepts both.
    return key if (_PLAIN_KEY_RE.match(key) and key not in ('true', 'false')) else _quote(key)


def _scalar(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if ('.' in text or 'e' in text or 'n' in text) else text + '.0'
    if isinstance(value, str):
        return _quote(value)
    raise HCLError('cannot render a value of type %s' % type(value).__name__)


def _render_value(value, indent, lines, prefix):
    pad = '  ' * indent
    if isinstance(value, dict):
        if not value:
            lines.append(pad + prefix + '{}')
            return
        lines.append(pad + prefix + '{')
        _render_body(value, indent + 1, lines, sorted)
        lines.append(pad + '}')
    elif isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            lines.append(pad + prefix + '[' + ', '.join(_scalar(v) for v in value) + ']')
            return
        lines.append(pad + prefix + '[')
        for elem in value:
            sub = []
            _render_value(elem, indent + 1, sub, '')
            sub[-1] += ','
            lines.extend(sub)
        lines.append(pad + ']')
    else:
        lines.append(pad + prefix + _scalar(value))


def _render_body(data, indent, lines, order):
    for key in order(data):
        value = data[key]
        # A mapping renders as a block ("key {"), which HCL v1 decodes exactly
        # like "key = {"; anything else as an assignment.
        _render_value(value, indent, lines, _key(key) + (' ' if isinstance(value, dict) else ' = '))


def _plugin_order(types):
    def order(data):
        known = [t for t in types if t in data]
        return known + sorted(k for k in data if k not in types)
    return order


def render(data, section_order=(), plugin_type_order=()):
    """Render data as HCL v1 text.

    Order: top-level sections as ``section_order`` then the rest sorted;
    under ``plugins`` the types as ``plugin_type_order`` then the rest sorted,
    plugin names in their given order (SPIRE loads them in that order);
    every other key sorted.  Two-space indent, one blank line between
    top-level sections, trailing newline.
    """
    chunks = []
    for key in _plugin_order(list(section_order))(data):
        value = data[key]
        lines = []
        if key == 'plugins' and isinstance(value, dict):
            lines.append(_key(key) + ' {')
            for ptype in _plugin_order(list(plugin_type_order))(value):
                plugins = value[ptype]
                if isinstance(plugins, dict) and all(isinstance(v, dict) for v in plugins.values()):
                    for name, body in plugins.items():
                        _render_value(body, 1, lines, '%s %s ' % (_key(ptype), _quote(name)))
                else:
                    _render_body({ptype: plugins}, 1, lines, sorted)
            lines.append('}')
        else:
            _render_body({key: value}, 0, lines, sorted)
        chunks.append('\n'.join(lines))
    return '\n\n'.join(chunks) + '\n'
