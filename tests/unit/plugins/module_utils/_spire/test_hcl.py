"""The HCL v1 / JSON reader and the HCL writer of module_utils._spire.hcl."""

import json
import pathlib

import pytest

from ansible_collections.ardur.spire.plugins.module_utils._spire import hcl
from ansible_collections.ardur.spire.plugins.module_utils._spire import schema

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "fixtures" / "spire_config"


def parse(text):
    return hcl.parse(text, schema.decode_policy)[0]


def test_syntax_features():
    text = r'''
# hash comment
// slash comment
/* block
   comment */
server {
  bind_port = 8081
  neg = -3
  hex = 0x1F
  octal = 010
  ratio = 1.5
  on = true
  off = false
  name = "tab\tquote\"back\\slash\u00e9"
  list = ["a", 1, true,]
  empty = []
  inline = { a = 1, b = "x" }
  "quoted key" = "v"
}
plugins {
  NodeAttestor "k8s_psat" {
    plugin_data {
      clusters = {
        "c-1" = { service_account_allow_list = ["ns:sa"] }
      }
    }
  }
  NodeAttestor "join_token" {}
  KeyManager disk plugin_data { keys_path = "/k" }
}
'''
    data = parse(text)
    server = data["server"]
    assert server["bind_port"] == 8081 and server["neg"] == -3 and server["hex"] == 31
    assert server["octal"] == 8  # Go ParseInt base 0, as HCL v1
    assert server["ratio"] == 1.5 and server["on"] is True and server["off"] is False
    assert server["name"] == 'tab\tquote"back\\slash\u00e9'
    assert server["list"] == ["a", 1, True] and server["empty"] == []
    assert server["inline"] == {"a": 1, "b": "x"} and server["quoted key"] == "v"
    plugins = data["plugins"]
    assert list(plugins["NodeAttestor"]) == ["k8s_psat", "join_token"]
    assert plugins["NodeAttestor"]["k8s_psat"]["plugin_data"]["clusters"]["c-1"] == {"service_account_allow_list": ["ns:sa"]}
    assert plugins["KeyManager"] == {"disk": {"plugin_data": {"keys_path": "/k"}}}


def test_interpolation_is_kept_verbatim():
    data = parse('a = "x${FOO "q" \\n}y\\n"\n')
    assert data["a"] == 'x${FOO "q" \\n}y\n'
    assert parse(hcl.render(data)) == data


def test_heredoc():
    data = parse('a = <<EOF\nline1\n  line2\nEOF\nb = <<-EOT\n    x\n      y\n    EOT\n')
    assert data == {"a": "line1\n  line2\n", "b": "x\n  y\n"}


def test_repeated_blocks_merge_and_lists_collect():
    data = parse('server { a = 1 }\nserver { b = 2 }\ntelemetry {\n DogStatsd { address = "x" }\n DogStatsd = [{ address = "y" }]\n}\n')
    assert data["server"] == {"a": 1, "b": 2}
    assert data["telemetry"]["DogStatsd"] == [{"address": "x"}, {"address": "y"}]


@pytest.mark.parametrize("text, line, column, fragment", [
    ("a = ", 1, 5, "expected a value"),
    ('a "b" = 1', 1, 7, "only a block may have labels"),
    ("a = 1\na = 2\n", 2, 1, "a is a duplicate key (first defined at line 1, column 1)"),
    ("s {\n x = 1\n}\ns {\n x = 2\n}\n", 5, 2, "s.x is a duplicate key"),
    ('plugins {\n KeyManager "disk" {}\n KeyManager "disk" {}\n}\n', 3, 13, 'plugins.KeyManager.disk declared more than once'),
    ('a = "x\n"', 1, 5, "string not terminated"),
    ("a = [1 2]", 1, 8, "expected ',' or ']'"),
    ("a = foo", 1, 5, "strings must be double-quoted"),
    ("s {\n  a = 1\n", 3, 1, "expected '}' to close the block opened at line 1, column 3"),
    ('x = "\\q"', 1, 6, "illegal escape"),
    ("x = 1\n/* open", 2, 1, "comment not terminated"),
    ("a = <<EOF\nno end\n", 1, 5, "heredoc EOF not terminated"),
    ("a @ 1", 1, 3, "illegal character"),
    ('{"a": 1, "a": 2}', 1, 10, "a is a duplicate key"),
    ('{"a": [1, }', 1, 11, "unexpected character"),
    ('{"a": nul}', 1, 7, "unexpected character"),
    ('{"a": ["x", null]}', 1, 13, "null is not allowed in a list"),
    ('{"a" 1}', 1, 6, "expected ':'"),
])
def test_parse_errors_name_line_and_column(text, line, column, fragment):
    with pytest.raises(hcl.HCLError) as info:
        hcl.parse(text, schema.decode_policy)
    assert (info.value.line, info.value.column) == (line, column)
    assert fragment in str(info.value)
    assert str(info.value).startswith("line %d, column %d: " % (line, column))


def test_json_list_of_objects_is_repeated_blocks():
    text = json.dumps({
        "server": {"trust_domain": "a"},
        "plugins": {"NodeAttestor": [{"k8s_psat": {"plugin_data": {}}}, {"join_token": {}}],
                    "KeyManager": {"disk": {"plugin_data": {"keys_path": "/k"}}}},
        "telemetry": {"DogStatsd": [{"address": "x"}], "AllowedLabels": ["a", "b"]},
    })
    data = parse(text)
    assert data["plugins"]["NodeAttestor"] == {"k8s_psat": {"plugin_data": {}}, "join_token": {}}
    assert data["telemetry"] == {"DogStatsd": [{"address": "x"}], "AllowedLabels": ["a", "b"]}


def test_json_null_is_kept_for_the_key_tables():
    """HCL v1 reads null as an empty string token; what it means depends on the key (validate.coerce)."""
    data, positions = hcl.parse('{"a": null, "b": ["x"], "c": {"d": null}}')
    assert data == {"a": hcl.NULL, "b": ["x"], "c": {"d": hcl.NULL}}
    assert data["a"] is hcl.NULL and not hcl.NULL and repr(hcl.NULL) == "null"
    assert positions[("c", "d")] == (1, 31)
    import copy
    assert copy.deepcopy(data)["c"]["d"] is hcl.NULL, "masking deep-copies the data: null stays the one object"


def test_from_python_matches_parse():
    mapping = {"plugins": {"NodeAttestor": [{"a": {}}, {"b": {"plugin_data": {"x": None, "y": 1}}}]}}
    assert hcl.from_python(mapping, schema.decode_policy) == {"plugins": {"NodeAttestor": {"a": {}, "b": {"plugin_data": {"y": 1}}}}}


def test_render_layout_and_order():
    data = {
        "telemetry": {"Prometheus": {"port": 9988, "host": "0.0.0.0"}},
        "plugins": {"NodeAttestor": {"z": {}, "a": {"plugin_data": {"clusters": {"c.d": {"k": ["v"]}}}}},
                    "DataStore": {"sql": {"plugin_data": {"database_type": "postgres"}}},
                    "Custom": {"x": {}}},
        "server": {"trust_domain": "td", "bind_port": 1, "ratio": 2.0},
    }
    text = hcl.render(data, ("server", "plugins", "health_checks", "telemetry"), schema.PLUGIN_TYPE_ORDER["server"])
    assert text == '''server {
  bind_port = 1
  ratio = 2.0
  trust_domain = "td"
}

plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "postgres"
    }
  }
  NodeAttestor "z" {}
  NodeAttestor "a" {
    plugin_data {
      clusters {
        "c.d" {
          k = ["v"]
        }
      }
    }
  }
  Custom "x" {}
}

telemetry {
  Prometheus {
    host = "0.0.0.0"
    port = 9988
  }
}
'''


@pytest.mark.parametrize("name", sorted(p.name for p in (FIXTURES / "valid").iterdir()))
def test_valid_fixtures_round_trip(name):
    text = (FIXTURES / "valid" / name).read_text()
    data = parse(text)
    component = "agent" if "agent" in data else "server"
    rendered = hcl.render(data, schema.SECTIONS[component], schema.PLUGIN_TYPE_ORDER[component])
    assert parse(rendered) == data
    assert hcl.render(parse(rendered), schema.SECTIONS[component], schema.PLUGIN_TYPE_ORDER[component]) == rendered


def test_render_escapes_round_trip():
    data = {"s": {"k": 'quote " back \\ nl \n tab \t ctl \x01 dollar $$ ${A} ${B "c"}', "true": 1, "weird key": [1.5, -2, False]}}
    assert parse(hcl.render(data)) == data


@pytest.mark.parametrize("path, text", [
    (("plugins", "DataStore", "sql", "plugin_data", "database_type"), "plugins.DataStore.sql.plugin_data.database_type"),
    (("clusters", "a.b", "x", 0), 'clusters["a.b"].x[0]'),
    (("a b",), '["a b"]'),
])
def test_format_path(path, text):
    assert hcl.format_path(path) == text
