package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestSubcommandSkipsGlobalFlags(t *testing.T) {
	cmd, rest := subcommand([]string{"--root", "/run/x", "--log=/l", "--systemd-cgroup", "create", "--bundle", "/b", "id"})
	if cmd != "create" || !reflect.DeepEqual(rest, []string{"--bundle", "/b", "id"}) {
		t.Fatalf("got %q %v", cmd, rest)
	}
	if v := flagValue(rest, "--bundle", "-b"); v != "/b" {
		t.Fatalf("bundle %q", v)
	}
	if v := flagValue([]string{"--process=/p", "id"}, "--process", "-p"); v != "/p" {
		t.Fatalf("process %q", v)
	}
}

func TestFitCapabilitiesDropsOnlyWhatTheHostLacks(t *testing.T) {
	process := map[string]any{"capabilities": map[string]any{
		"bounding":  []any{"CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN"},
		"effective": []any{"CAP_SYS_RESOURCE"},
	}}
	all := uint64(1)<<41 - 1
	if fitCapabilities(process, all) {
		t.Fatal("a host with every capability must change nothing")
	}
	if !fitCapabilities(process, all&^(1<<capSysResource)) {
		t.Fatal("CAP_SYS_RESOURCE outside the bounding set must be dropped")
	}
	caps := process["capabilities"].(map[string]any)
	if !reflect.DeepEqual(caps["bounding"], []any{"CAP_CHOWN", "CAP_SYS_ADMIN"}) || len(caps["effective"].([]any)) != 0 {
		t.Fatalf("left %v", caps)
	}
}

func TestFitArgsRewritesTheBundleSpec(t *testing.T) {
	dir := t.TempDir()
	spec := map[string]any{"process": map[string]any{"capabilities": map[string]any{
		"bounding": []any{"CAP_SYS_RESOURCE", "CAP_KILL"}}}}
	raw, _ := json.Marshal(spec)
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := fitArgs([]string{"create", "--bundle", dir, "id"}); err != nil {
		t.Fatal(err)
	}
	bounding, err := ownBoundingSet()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(path)
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	list := got["process"].(map[string]any)["capabilities"].(map[string]any)["bounding"].([]any)
	hasResource := false
	for _, c := range list {
		hasResource = hasResource || c == "CAP_SYS_RESOURCE"
	}
	if want := bounding&(1<<capSysResource) != 0; hasResource != want {
		t.Fatalf("CAP_SYS_RESOURCE kept=%v, host grants it=%v", hasResource, want)
	}
}
