# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Checks of role inputs, run by the roles' preflight tasks (through this collection's filter plugins).

Each function takes one input value and returns what is wrong with it, as text that states the rule
(empty when the value is fine), or a list of such texts; the caller puts the input's name in front.
No function ever returns a secret: file checks describe the file, never its content.

* Go durations (``time.ParseDuration``, through :func:`validate.parse_duration`), and SPIRE's rule
  that an SVID TTL stays within ``min(ca_ttl/6, 7d)``;
* Kubernetes resource quantities (``k8s.io/apimachinery`` ``resource.Quantity`` grammar) and a
  container's ``resources`` (names, quantities, requests <= limits);
* container image registries (``host[:port][/path]``, the registry part of an image reference) and full
  image references (``host[:port]/path[:tag][@sha256:...]``, the per-image overrides);
* PEM files: a certificate file must hold only ``CERTIFICATE`` blocks, a key file exactly one
  unencrypted private key; a DER (binary) file is recognised and named as such.
"""

from __future__ import annotations

import base64
import binascii
import re
from fractions import Fraction

from . import schema as S
from .validate import format_duration, parse_duration

# --------------------------------------------------------------- durations
# SPIRE's ca/manager: an SVID cannot outlive min(ca_ttl / 6, 7d) (activationThresholdDivisor/Cap).
_CA_TTL_DIVISOR = getattr(S, 'CA_TTL_DIVISOR', 6)
_MAX_SVID_TTL_CAP = getattr(S, 'MAX_SVID_TTL_CAP', '168h')
_DURATION_HINT = 'write it like 90s, 30m, 1h30m or 24h (Go has no unit for days: 7d is 168h)'


def duration_problem(value, allow_zero=False, ca_ttl=None):
    """What is wrong with ``value`` as a Go duration input ('' when nothing).

    Negative durations are refused, zero unless ``allow_zero``. With ``ca_ttl`` (a Go duration) the
    value is an SVID TTL and must not exceed min(ca_ttl/6, 7d), SPIRE's rule.
    """
    if isinstance(value, bool) or not isinstance(value, str):
        return 'must be a Go duration string such as "1h30m", got %s' % _describe(value)
    try:
        nanos = parse_duration(value)
    except ValueError as exc:
        return 'is not a Go duration: %s; %s' % (exc, _DURATION_HINT)
    if nanos < 0:
        return 'must not be negative (got %r)' % value
    if nanos == 0 and not allow_zero:
        return 'must be longer than 0 (got %r)' % value
    if ca_ttl is not None:
        try:
            ca_nanos = parse_duration(ca_ttl) if isinstance(ca_ttl, str) else None
        except ValueError:
            ca_nanos = None
        if ca_nanos is None or ca_nanos <= 0:
            return ''  # the CA TTL's own check reports it
        limit = min(ca_nanos // _CA_TTL_DIVISOR, parse_duration(_MAX_SVID_TTL_CAP))
        if nanos > limit:
            return ('is %s, more than min(ca_ttl/%d, 7d) = %s for a CA TTL of %s (SPIRE rule: an SVID cannot outlive '
                    'the CA that signs it and is cut short); lower it or raise the CA TTL to at least %s'
                    % (format_duration(nanos), _CA_TTL_DIVISOR, format_duration(limit), format_duration(ca_nanos),
                       format_duration(nanos * _CA_TTL_DIVISOR)))
    return ''


# --------------------------------------------------------------- quantities
# k8s.io/apimachinery/pkg/api/resource: <signedNumber><suffix>, suffix one of the binary SI (Ki..Ei),
# the decimal SI (n, u, m, "", k, M, G, T, P, E) or a decimal exponent (e3, E-2). The exponent must be
# an integer (the parser uses strconv.ParseInt on it).
_QUANTITY = re.compile(r'([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)([A-Za-z]*(?:[+-]?[0-9]+)?)\Z')
_BINARY_SI = {'Ki': 2 ** 10, 'Mi': 2 ** 20, 'Gi': 2 ** 30, 'Ti': 2 ** 40, 'Pi': 2 ** 50, 'Ei': 2 ** 60}
_DECIMAL_SI = {'n': Fraction(1, 10 ** 9), 'u': Fraction(1, 10 ** 6), 'm': Fraction(1, 1000), '': 1,
               'k': 10 ** 3, 'M': 10 ** 6, 'G': 10 ** 9, 'T': 10 ** 12, 'P': 10 ** 15, 'E': 10 ** 18}
_EXPONENT = re.compile(r'[eE]([+-]?[0-9]+)\Z')
_MAX_EXPONENT = 30
_QUANTITY_HINT = ('a number with an optional suffix: m (milli), k, M, G, T, P, E (powers of 1000), Ki, Mi, Gi, Ti, '
                  'Pi, Ei (powers of 1024) or an exponent such as e3; e.g. 100m, 1.5, 256Mi, 1Gi')
# Units people write that Kubernetes does not know, and what they probably meant.
_SUFFIX_MISTAKES = {'b': '', 'kb': 'k or Ki', 'mb': 'M or Mi', 'gb': 'G or Gi', 'tb': 'T or Ti', 'pb': 'P or Pi',
                    'eb': 'E or Ei', 'kib': 'Ki', 'mib': 'Mi', 'gib': 'Gi', 'tib': 'Ti', 'k': 'k or Ki',
                    'ki': 'Ki', 'mi': 'Mi', 'gi': 'Gi', 'ti': 'Ti', 'g': 'G or Gi', 't': 'T or Ti',
                    'cores': '', 'core': '', 'cpu': '', 'millicores': 'm', 'mcpu': 'm'}
# Resources counted in bytes: a fraction of a byte (512m is 0.512 bytes) is a mistake.
_BYTE_RESOURCES = ('memory', 'ephemeral-storage', 'storage')


def parse_quantity(value):
    """The exact value of a Kubernetes quantity (a Fraction); raise ValueError with the reason."""
    if isinstance(value, bool):
        raise ValueError('expected a quantity, got a boolean')
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        value = repr(value)
    if not isinstance(value, str):
        raise ValueError('expected a quantity, got %s' % _describe(value))
    match = _QUANTITY.match(value)
    if not match:
        raise ValueError('%r is not a Kubernetes quantity (%s)' % (value, _QUANTITY_HINT))
    sign, number, suffix = match.groups()
    amount = Fraction(number if not number.endswith('.') else number[:-1])
    if suffix in _BINARY_SI:
        multiplier = _BINARY_SI[suffix]
    elif suffix in _DECIMAL_SI:
        multiplier = _DECIMAL_SI[suffix]
    elif _EXPONENT.match(suffix):
        exponent = int(_EXPONENT.match(suffix).group(1))
        if abs(exponent) > _MAX_EXPONENT:
            raise ValueError('%r has an exponent out of range (at most e%d)' % (value, _MAX_EXPONENT))
        multiplier = Fraction(10) ** exponent
    else:
        meant = _SUFFIX_MISTAKES.get(suffix.lower())
        hint = ''
        if meant:
            hint = '; did you mean %s?' % ' or '.join('%s%s' % (number, unit.strip()) for unit in meant.split(' or '))
        elif meant == '':
            hint = '; did you mean %s (no unit)?' % number
        if 'b' in suffix.lower():
            hint = ', and no unit B (bytes are the plain number)' + hint
        raise ValueError('%r is not a Kubernetes quantity: unknown suffix %r (Kubernetes knows m, k, M, G, T, P, E, '
                         'Ki, Mi, Gi, Ti, Pi, Ei and exponents%s)' % (value, suffix, hint))
    result = amount * multiplier
    return -result if sign == '-' else result


def quantity_problem(value, resource=None, positive=False):
    """What is wrong with ``value`` as a quantity of ``resource`` ('' when nothing).

    Negative quantities are refused, zero too with ``positive``. A resource counted in bytes (memory,
    ephemeral-storage, storage, hugepages-*) must be a whole number of bytes.
    """
    try:
        amount = parse_quantity(value)
    except ValueError as exc:
        return str(exc)
    if amount < 0:
        return '%s must not be negative' % _show(value)
    if positive and amount == 0:
        return '%s must be more than 0' % _show(value)
    if resource and (resource in _BYTE_RESOURCES or resource.startswith('hugepages-')) and amount.denominator != 1:
        hint = ''
        if isinstance(value, str) and value.endswith('m'):
            hint = "; 'm' is milli, not mega: write %sMi or %sM" % (value[:-1], value[:-1])
        return '%s is %s bytes, not a whole number of bytes%s' % (_show(value), _decimal(amount), hint)
    return ''


_RESOURCE_NAMES = ('cpu', 'memory', 'ephemeral-storage')
_RESOURCE_SECTIONS = ('requests', 'limits')


def resources_problems(resources):
    """Problems of a container's ``resources`` (requests, limits), each starting with its key path.

    Allowed names are cpu, memory, ephemeral-storage and hugepages-<size>; every value must be a
    quantity; a request must not exceed its limit, and hugepages need a limit equal to the request
    (Kubernetes' ValidateResourceRequirements).
    """
    if resources is None:
        return []
    if not isinstance(resources, dict):
        return ['must be a dict with requests and/or limits, got %s' % _describe(resources)]
    problems = []
    parsed = {}
    for section in resources:
        if section not in _RESOURCE_SECTIONS:
            problems.append('%s: unknown key (allowed: requests, limits)' % section)
            continue
        values = resources[section]
        parsed[section] = {}
        if values is None:
            continue
        if not isinstance(values, dict):
            problems.append('%s: must be a dict of resource names to quantities, got %s' % (section, _describe(values)))
            continue
        for name, value in values.items():
            path = '%s.%s' % (section, name)
            problem = _resource_name_problem(name)
            if problem:
                problems.append('%s: %s' % (path, problem))
                continue
            problem = quantity_problem(value, resource=name)
            if problem:
                problems.append('%s: %s' % (path, problem))
                continue
            parsed[section][name] = (value, parse_quantity(value))
    requests, limits = parsed.get('requests', {}), parsed.get('limits', {})
    for name, (value, amount) in sorted(requests.items()):
        if name in limits and amount > limits[name][1]:
            problems.append('requests.%s: %s is more than limits.%s (%s); Kubernetes requires requests <= limits'
                            % (name, _show(value), name, _show(limits[name][0])))
    hugepages = sorted(set(n for n in list(requests) + list(limits) if n.startswith('hugepages-')))
    for name in hugepages:
        if name not in limits:
            problems.append('limits.%s: is required for hugepages (set it equal to the request)' % name)
        elif name in requests and requests[name][1] != limits[name][1]:
            problems.append('requests.%s: must equal limits.%s for hugepages' % (name, name))
    if hugepages and not any(n in section for section in (requests, limits) for n in ('cpu', 'memory')):
        problems.append('%s: hugepages need a cpu or memory request or limit as well' % hugepages[0])
    return problems


def _resource_name_problem(name):
    if not isinstance(name, str):
        return 'resource names are strings'
    if name in _RESOURCE_NAMES:
        return ''
    if name.startswith('hugepages-'):
        problem = quantity_problem(name[len('hugepages-'):], positive=True)
        return ('hugepages-<size> needs a page size quantity such as hugepages-2Mi (%s)' % problem) if problem else ''
    return 'unknown resource name %r (allowed: cpu, memory, ephemeral-storage, hugepages-<size>)' % name


# --------------------------------------------------------------- image registries
# github.com/distribution/reference: domain := component ('.' component)* [':' port], IPv6 in
# brackets; path components lowercase alphanumerics joined by '.', '_', '__' or dashes.
_DOMAIN_COMPONENT = r'(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
_HOST = re.compile(r'(?:%s(?:\.%s)*|\[[0-9A-Fa-f:.]+\])\Z' % (_DOMAIN_COMPONENT, _DOMAIN_COMPONENT))
_PATH_COMPONENT = re.compile(r'[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z')
_MAX_REGISTRY = 200  # image names are limited to 255 characters; the repository paths follow


def image_registry_problem(value):
    """What is wrong with ``value`` as the registry part of an image reference ('' when nothing)."""
    if not isinstance(value, str) or not value:
        return 'must be a registry host such as ghcr.io or registry.example.org:5000/mirror, got %s' % _describe(value)
    scheme = re.match(r'([A-Za-z][A-Za-z0-9+.-]*)://', value)
    if scheme:
        return ('must not have a URL scheme (%s://): an image reference has none; write %r'
                % (scheme.group(1), value[scheme.end():].rstrip('/')))
    if value != value.strip() or re.search(r'\s', value):
        return 'must not contain white space'
    if value.endswith('/'):
        return "must not end with '/': write %r" % value.rstrip('/')
    if '@' in value:
        return 'must not carry a digest (@sha256:...): the roles append /spiffe/NAME:VERSION to the registry'
    host, _sep, path = value.partition('/')
    if ':' in path:
        return 'must not carry a tag (%r): the roles append /spiffe/NAME:VERSION to the registry' % path[path.index(':'):]
    problem = _host_problem(host, value, 'host[:port][/path]') or _path_problem(path)
    if problem:
        return problem
    if len(value) > _MAX_REGISTRY:
        return 'is longer than %d characters (image names are limited to 255)' % _MAX_REGISTRY
    return ''


def _host_problem(host, value, form):
    """What is wrong with ``host`` (``name[:port]``), the first component of ``value`` ('' when nothing)."""
    hostname, port = host, None
    port_match = re.match(r'(.*):([^:\]]*)\Z', host)
    if port_match and not host.endswith(']'):
        hostname, port = port_match.groups()
    if not _HOST.match(hostname):
        return ('host %r is not a DNS name or a bracketed IPv6 address (letters, digits, "-" and "."; '
                'form %s)' % (hostname, form))
    if port is not None and (not port.isdigit() or not 1 <= int(port) <= 65535):
        return 'port %r is not a number within 1-65535' % port
    if port is None and '.' not in hostname and hostname != 'localhost' and not hostname.startswith('['):
        return ('%r has no "." and no port, so container runtimes read it as a Docker Hub namespace, not a '
                'registry host; write docker.io/%s for Docker Hub, or the full host name' % (hostname, value))
    return ''


def _path_problem(path):
    for component in path.split('/') if path else []:
        if not _PATH_COMPONENT.match(component):
            return ('path component %r must be lowercase letters and digits, separated by ".", "_", "__" or "-"'
                    % component)
    return ''


# --------------------------------------------------------------- image references
# github.com/distribution/reference: reference := name [':' tag] ['@' digest]; name := domain '/' path
# (a full reference names its registry: without one, runtimes read the first component as a Docker
# Hub namespace); tag := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; the digest as the OCI image spec
# registers its algorithms: lowercase hex of the exact length.
_IMAGE_TAG = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z')
_DIGEST_HEX = {'sha256': 64, 'sha512': 128}
_MAX_NAME = 255  # distribution/reference NameTotalLengthMax (registry and path, without tag or digest)
_REFERENCE_EXAMPLE = 'registry.example.org/spiffe/spire-server:1.14.5 (a digest may follow: ...:1.14.5@sha256:<64 hex>)'


def parse_image_reference(value):
    """The parts of a full image reference: dict(registry, repository, tag, digest); ValueError with the reason.

    ``host[:port]/path[:tag][@algorithm:hex]``: the registry host is required, and a tag or a digest
    (an image named by neither is ``:latest``, which changes under a deployment). ``tag`` and
    ``digest`` are '' when absent.
    """
    if not isinstance(value, str) or not value:
        raise ValueError('must be a full image reference such as %s, got %s' % (_REFERENCE_EXAMPLE, _describe(value)))
    scheme = re.match(r'([A-Za-z][A-Za-z0-9+.-]*)://', value)
    if scheme:
        raise ValueError('must not have a URL scheme (%s://): an image reference has none; write %r'
                         % (scheme.group(1), value[scheme.end():]))
    if value != value.strip() or re.search(r'\s', value):
        raise ValueError('must not contain white space')
    name, at, digest = value.partition('@')
    if at:
        problem = _digest_problem(digest)
        if problem:
            raise ValueError(problem)
    registry, slash, rest = name.partition('/')
    if not slash:
        host = name.partition(':')[0]
        if '.' in host or host == 'localhost' or host.startswith('[') or re.match(r'[^:]*:[0-9]+\Z', name):
            raise ValueError('%r names a registry but no repository: a full reference is host[:port]/path[:tag], '
                             'e.g. %s' % (name, _REFERENCE_EXAMPLE))
        raise ValueError('names no registry host: a full reference is host[:port]/path[:tag], e.g. %s (Docker Hub: '
                         'docker.io/library/%s)' % (_REFERENCE_EXAMPLE, value))
    path, colon, tag = rest, '', ''
    last = rest.rsplit('/', 1)[-1]
    if ':' in last:
        path = rest[:len(rest) - len(last)] + last.partition(':')[0]
        colon, tag = ':', last.partition(':')[2]
    problem = _host_problem(registry, value, 'host[:port]/path[:tag]')
    if problem:
        raise ValueError(problem)
    if not path or path.endswith('/'):
        raise ValueError('names no repository after the registry %r: a full reference is host[:port]/path[:tag], '
                         'e.g. %s' % (registry, _REFERENCE_EXAMPLE))
    problem = _path_problem(path)
    if problem:
        raise ValueError('repository ' + problem)
    if colon and not tag:
        raise ValueError("has an empty tag (nothing after ':'); write the tag, or drop the ':' and give a digest")
    if colon and not _IMAGE_TAG.match(tag):
        raise ValueError("tag %r must be 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'" % tag)
    if not tag and not at:
        raise ValueError("names neither a tag nor a digest: the container runtime would pull ':latest', which "
                         "changes under a deployment; write %s:TAG or %s@sha256:<64 hex>" % (name, name))
    if len(registry) + 1 + len(path) > _MAX_NAME:
        raise ValueError('is longer than %d characters without its tag and digest' % _MAX_NAME)
    return {'registry': registry, 'repository': path, 'tag': tag, 'digest': digest}


def _digest_problem(digest):
    algorithm, colon, hexdigits = digest.partition(':')
    if not colon or not algorithm:
        return 'digest %r must be ALGORITHM:HEX, e.g. sha256:<64 hex digits>' % digest
    if algorithm not in _DIGEST_HEX:
        return 'digest algorithm %r is not sha256 or sha512' % algorithm
    length = _DIGEST_HEX[algorithm]
    if not re.match(r'[0-9a-fA-F]*\Z', hexdigits):
        return 'digest %s:... must be hex digits (0-9, a-f)' % algorithm
    if len(hexdigits) != length:
        return 'digest %s has %d hex digits, %s needs exactly %d' % (algorithm, len(hexdigits), algorithm, length)
    if hexdigits != hexdigits.lower():
        return 'digest %s:... must be lowercase hex digits (OCI image spec)' % algorithm
    return ''


def image_reference_problem(value):
    """What is wrong with ``value`` as a full image reference ('' when nothing); see :func:`parse_image_reference`."""
    try:
        parse_image_reference(value)
    except ValueError as exc:
        return str(exc)
    return ''


def images_problems(images, keys):
    """Problems of a map of image overrides (key: full reference), each starting with its key.

    ``keys`` are the images that can be overridden; None or an empty map overrides nothing.
    """
    if images is None:
        return []
    if not isinstance(images, dict):
        return ['must be a dict of image names to image references, got %s' % _describe(images)]
    problems = []
    for key in sorted(images, key=str):
        if key not in keys:
            problems.append('%s: not an image of this collection (known: %s)' % (key, ', '.join(keys)))
            continue
        value = images[key]
        if isinstance(value, str) and not value:
            problems.append('%s: is empty; leave the key out to use the default image' % key)
            continue
        problem = image_reference_problem(value)
        if problem:
            problems.append('%s: %s' % (key, problem))
    return problems


# --------------------------------------------------------------- PEM files
_PEM_BLOCK = re.compile(br'-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END ([A-Z0-9 ]+)-----', re.S)
_PEM_KINDS = ('certificate', 'private_key')
_CONVERT = {
    'certificate': 'openssl x509 -inform DER -in FILE -out FILE.pem',
    'private_key': 'openssl pkey -inform DER -in FILE -out FILE.pem',
}


def pem_problem(data, kind):
    """What is wrong with ``data`` (bytes of a file) as a PEM ``kind`` ('' when nothing).

    ``certificate``: one or more CERTIFICATE blocks and nothing else. ``private_key``: exactly one
    private key block, not encrypted. The content is never part of the answer.
    """
    if kind not in _PEM_KINDS:
        raise ValueError('kind must be one of %s' % ', '.join(_PEM_KINDS))
    if isinstance(data, str):
        data = data.encode('utf-8', 'surrogateescape')
    if not data.strip():
        return 'is empty'
    if _looks_like_der(data):
        return ('is DER (binary) encoded, not PEM; convert it, e.g. %s' % _CONVERT[kind])
    if b'\x00' in data:
        return 'is not a PEM text file (it has binary content)'
    blocks = []
    for match in _PEM_BLOCK.finditer(data):
        label, body, end_label = match.group(1).decode('ascii'), match.group(2), match.group(3).decode('ascii')
        if label != end_label:
            return 'has a PEM block that begins with %r and ends with %r' % (label, end_label)
        blocks.append((label, body))
    if not blocks:
        return 'holds no PEM block (-----BEGIN %s-----)' % ('CERTIFICATE' if kind == 'certificate' else 'PRIVATE KEY')
    for label, body in blocks:
        encrypted = label == 'ENCRYPTED PRIVATE KEY' or b'Proc-Type: 4,ENCRYPTED' in body
        if kind == 'certificate':
            if label.endswith('PRIVATE KEY'):
                return ('holds a private key (%s block): a certificate file must hold only CERTIFICATE blocks, and a '
                        'key must never travel as a certificate' % label)
            if label != 'CERTIFICATE':
                return 'holds a %s block: only CERTIFICATE blocks are allowed' % label
        elif encrypted:
            return ('holds an encrypted (passphrase-protected) private key, which SPIRE and the database client cannot '
                    'read: decrypt it (openssl pkey -in FILE -out FILE.plain) and protect the file instead (mode 0600)')
        if not _base64_ok(body):
            return 'has a %s block whose content is not valid base64' % label
    if kind == 'private_key':
        keys = [label for label, _body in blocks if label.endswith('PRIVATE KEY')]
        if not keys:
            return 'holds no private key (found %s)' % ', '.join(sorted(set(label for label, _body in blocks)))
        if len(blocks) != 1:
            return 'must hold exactly one PEM block, the private key (found %s)' % ', '.join(label for label, _b in blocks)
    return ''


def pem_file_problem(path, kind):
    """:func:`pem_problem` of the file at ``path`` on this host ('' when nothing)."""
    if not isinstance(path, str) or not path:
        return 'must be the path of a PEM file'
    try:
        with open(path, 'rb') as handle:
            data = handle.read(1024 * 1024 + 1)
    except (IOError, OSError) as exc:
        return 'cannot be read (%s)' % (exc.strerror or exc)
    if len(data) > 1024 * 1024:
        return 'is larger than 1 MiB, which no certificate or key file is'
    return pem_problem(data, kind)


def _looks_like_der(data):
    """An ASN.1 DER SEQUENCE whose length covers the data: a binary certificate or key."""
    if len(data) < 2 or data[0:1] != b'\x30':
        return False
    first = data[1]
    if first < 0x80:
        length, offset = first, 2
    else:
        count = first & 0x7f
        if count == 0 or count > 4 or len(data) < 2 + count:
            return False
        length = int(binascii.hexlify(data[2:2 + count]), 16)
        offset = 2 + count
    return offset + length <= len(data) <= offset + length + 2  # a trailing newline at most


def _base64_ok(body):
    lines = [line.strip() for line in body.strip().splitlines()]
    # RFC 1421 headers (Proc-Type, DEK-Info) come first, then an empty line.
    if any(b':' in line for line in lines):
        lines = lines[lines.index(b'') + 1:] if b'' in lines else []
    try:
        base64.b64decode(b''.join(lines), validate=True)
    except (binascii.Error, ValueError):
        return False
    return bool(lines)


# --------------------------------------------------------------- helpers
def _describe(value):
    if value is None:
        return 'nothing (null)'
    if isinstance(value, bool):
        return 'a boolean'
    if isinstance(value, (int, float)):
        return 'a number'
    if isinstance(value, str):
        return 'an empty string' if not value else 'a string'
    if isinstance(value, dict):
        return 'a dict'
    if isinstance(value, (list, tuple)):
        return 'a list'
    return type(value).__name__


def _show(value):
    return repr(value) if isinstance(value, str) else str(value)


def _decimal(amount):
    if amount.denominator == 1:
        return str(amount.numerator)
    text = '%.9f' % float(amount)
    return text.rstrip('0').rstrip('.')


# --------------------------------------------------------------- template markers
# Ansible templates every variable when it is used. A value whose text holds '{{', '{%' or '{#' that do
# not form a valid template fails wherever it is first used, with an error that does not name the input
# and may quote the value. These checks run on the values as Ansible holds them before templating.
_MARKERS = ('{{', '{%', '{#')
_MARKER_TEXT = "'{{', '{%' or '{#'"
_WHOLE_EXPRESSION = re.compile(r'\{\{(?:(?!\{\{|\{%|\{#).)*\}\}\Z', re.S)


def template_syntax_error(text):
    """Line number (int) of the Jinja syntax error in ``text``, 0 when it parses, None without markers."""
    if not any(marker in text for marker in _MARKERS):
        return None
    import jinja2  # a controller dependency of ansible-core; imported here, modules never call this

    env = jinja2.Environment(extensions=['jinja2.ext.do', 'jinja2.ext.loopcontrols'])
    try:
        env.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        return exc.lineno or 1
    return 0


def raw_template_problems(variables, names, secrets=(), trusted=None):
    """Problems of the raw (not yet templated) ``variables`` among ``names``, as 'NAME: problem'.

    A string Ansible would template (``trusted(value)`` true; every string when ``trusted`` is None)
    that holds template markers must parse as a Jinja template. A name in ``secrets`` must moreover
    be either free of markers or one whole ``{{ ... }}`` expression (a reference such as
    ``{{ vault_pg_password }}``): text around a template there is a literal secret that Ansible would
    template into something else. Values are never part of the answer.
    """
    trusted = trusted or (lambda value: True)
    problems = []
    for name in sorted(names):
        if name not in variables:
            continue
        for path, text in _strings(variables[name], name):
            if not trusted(text):
                continue
            line = template_syntax_error(text)
            if line:
                problems.append('%s: holds template markers (%s) that do not form a valid template (syntax error on '
                                'line %d of the value)' % (path, _MARKER_TEXT, line))
            elif line == 0 and name in secrets and path == name and not _WHOLE_EXPRESSION.match(text.strip()):
                problems.append('%s: is a secret with template markers (%s) inside its text, which Ansible would '
                                'template into another value' % (path, _MARKER_TEXT))
    return problems


def _strings(value, path):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, '%s.%s' % (path, key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _strings(item, '%s[%d]' % (path, index))


# --------------------------------------------------------------- labels and tolerations
# k8s.io/apimachinery/pkg/util/validation: qualified names ([prefix/]name) and label values.
_NAME_PART = re.compile(r'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\Z')
_DNS_SUBDOMAIN = re.compile(r'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z')
_LABEL_VALUE = re.compile(r'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?\Z')
_TOLERATION_KEYS = ('key', 'operator', 'value', 'effect', 'tolerationSeconds')
_TOLERATION_EFFECTS = ('', 'NoSchedule', 'PreferNoSchedule', 'NoExecute')


def qualified_name_problem(name):
    """What is wrong with ``name`` as a label key ([prefix/]name) ('' when nothing)."""
    if not isinstance(name, str) or not name:
        return 'a label key must be a non-empty string'
    prefix, _sep, short = name.rpartition('/')
    if _sep and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return 'the prefix of %r must be a DNS subdomain (lowercase letters, digits, "-", ".")' % name
    if len(short) > 63 or not _NAME_PART.match(short):
        return ('%r must be at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit '
                '(with an optional DNS prefix and "/")' % name)
    return ''


def labels_problems(labels):
    """Problems of a label map (a nodeSelector, a pod selector), each starting with its key."""
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return ['must be a dict of label keys to values, got %s' % _describe(labels)]
    problems = []
    for key, value in labels.items():
        problem = qualified_name_problem(key)
        if problem:
            problems.append('%s: %s' % (key, problem))
        elif isinstance(value, bool) or not isinstance(value, str):
            problems.append('%s: the value must be a string, got %s %r (quote it)' % (key, _describe(value), value))
        elif len(value) > 63 or not _LABEL_VALUE.match(value):
            problems.append('%s: %r is not a label value (at most 63 letters, digits, "-", "_" or ".", starting and '
                            'ending with a letter or digit)' % (key, value))
    return problems


def tolerations_problems(tolerations):
    """Problems of a list of tolerations, each starting with its index (Kubernetes' validateTolerations)."""
    if tolerations is None:
        return []
    if not isinstance(tolerations, list):
        return ['must be a list of tolerations, got %s' % _describe(tolerations)]
    problems = []
    for index, item in enumerate(tolerations):
        path = '[%d]' % index
        if not isinstance(item, dict):
            problems.append('%s: must be a dict (key, operator, value, effect, tolerationSeconds), got %s'
                            % (path, _describe(item)))
            continue
        unknown = sorted(str(k) for k in item if k not in _TOLERATION_KEYS)
        if unknown:
            problems.append('%s: unknown key(s) %s (allowed: %s)' % (path, ', '.join(unknown), ', '.join(_TOLERATION_KEYS)))
            continue
        key, operator = item.get('key', ''), item.get('operator', 'Equal')
        value, effect = item.get('value', ''), item.get('effect', '')
        if operator not in ('Exists', 'Equal'):
            problems.append('%s.operator: must be Exists or Equal, got %r' % (path, operator))
            continue
        if key not in ('', None):
            problem = qualified_name_problem(key)
            if problem:
                problems.append('%s.key: %s' % (path, problem))
        elif operator != 'Exists':
            problems.append('%s.operator: must be Exists when key is empty (it then matches every taint)' % path)
        if operator == 'Exists' and value not in ('', None):
            problems.append('%s.value: must be empty when operator is Exists' % path)
        elif isinstance(value, bool) or not isinstance(value, (str, type(None))):
            problems.append('%s.value: must be a string (quote it), got %s' % (path, _describe(value)))
        if effect not in _TOLERATION_EFFECTS and effect is not None:
            problems.append('%s.effect: must be NoSchedule, PreferNoSchedule, NoExecute or empty, got %r' % (path, effect))
        if 'tolerationSeconds' in item:
            seconds = item['tolerationSeconds']
            if isinstance(seconds, bool) or not isinstance(seconds, int):
                problems.append('%s.tolerationSeconds: must be a whole number of seconds' % path)
            elif effect != 'NoExecute':
                problems.append('%s.tolerationSeconds: only applies with effect NoExecute' % path)
    return problems


def version_problems(versions, supported):
    """Messages for the versions outside the series the roles render for.

    ``versions``: {input name: version}; ``supported``: {input name: ["1.14", ...]}, each entry a
    minor series (X.Y) or a major one (X, for components whose flags are stable across it). A
    version that is not X.Y.Z is the shared preflight's to report, not this check's.
    """
    if not isinstance(versions, dict) or not isinstance(supported, dict):
        raise ValueError('versions and supported must be dicts keyed by input name')
    problems = []
    for name, value in versions.items():
        if name not in supported:
            raise ValueError('%s has no supported series' % name)
        series = [str(s) for s in supported[name]]
        parts = str(value).split('.')
        if '.'.join(parts[:2]) in series or parts[0] in series:
            continue
        problems.append('%s=%s is not a version this collection supports: use %s (the manifests and configurations '
                        'are written and validated for those; a typo would render images that do not exist).'
                        % (name, value, ' or '.join(s + '.x' for s in series)))
    return problems
