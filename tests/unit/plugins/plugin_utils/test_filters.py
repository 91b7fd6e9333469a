"""wrap_filters: the decision code's ValueError becomes the filter's own AnsibleFilterError."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


class _PlanError(ValueError):
    """Like uninstall.PlanError and upgrade.RunError: a ValueError subclass."""


def _raise(exc):
    def func(*args, **kwargs):
        raise exc
    return func


def _checked_sum(value, extra=0, *, scale=1):
    """Adds EXTRA to VALUE, times SCALE."""
    if not isinstance(value, int):
        raise ValueError("the input must be a number")
    return (value + extra) * scale


def test_results_and_arguments_pass_through():
    wrapped = wrap_filters({"checked_sum": _checked_sum})
    assert list(wrapped) == ["checked_sum"]
    assert wrapped["checked_sum"](1, 2, scale=3) == 9


@pytest.mark.parametrize("exc", [ValueError("bad input"), _PlanError("bad input")])
def test_value_error_becomes_a_filter_error_naming_the_filter(exc):
    func = wrap_filters({"some_filter": _raise(exc)})["some_filter"]
    with pytest.raises(AnsibleFilterError) as info:
        func({})
    assert str(info.value).startswith("ardur.spire.some_filter: bad input")
    assert info.value.__cause__ is exc


def test_each_filter_is_named_after_its_own_key():
    wrapped = wrap_filters({"first": _checked_sum, "second": _checked_sum})
    with pytest.raises(AnsibleFilterError, match="^ardur.spire.second: the input must be a number"):
        wrapped["second"]("x")
    with pytest.raises(AnsibleFilterError, match="^ardur.spire.first: the input must be a number"):
        wrapped["first"]("x")


@pytest.mark.parametrize("exc", [TypeError("not this"), KeyError("not this"), RuntimeError("not this")])
def test_other_exceptions_pass_through(exc):
    func = wrap_filters({"some_filter": _raise(exc)})["some_filter"]
    with pytest.raises(type(exc)) as info:
        func()
    assert info.value is exc


def test_errors_chooses_what_is_turned_into_filter_errors():
    func = wrap_filters({"some_filter": _raise(TypeError("wrong type"))}, errors=(ValueError, TypeError))["some_filter"]
    with pytest.raises(AnsibleFilterError, match="^ardur.spire.some_filter: wrong type"):
        func()
    only_type_errors = wrap_filters({"some_filter": _raise(ValueError("kept"))}, errors=(TypeError,))["some_filter"]
    with pytest.raises(ValueError, match="^kept$"):
        only_type_errors()


def test_filter_error_passes_unchanged():
    exc = AnsibleFilterError("ardur.spire.other: already said")
    func = wrap_filters({"some_filter": _raise(exc)}, errors=(ValueError, Exception))["some_filter"]
    with pytest.raises(AnsibleFilterError) as info:
        func()
    assert info.value is exc and str(exc) == "ardur.spire.other: already said"


def test_the_wrapper_keeps_name_doc_and_signature():
    func = wrap_filters({"checked_sum": _checked_sum})["checked_sum"]
    assert func.__name__ == "_checked_sum" and func.__doc__ == _checked_sum.__doc__
    assert func.__wrapped__ is _checked_sum
    assert func.__module__ == _checked_sum.__module__
