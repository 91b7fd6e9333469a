package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRenderConf(t *testing.T) {
	data, err := renderConf([]string{"10.244.1.0/24", "fd00:10:244:1::/64"})
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		CNIVersion string `json:"cniVersion"`
		Name       string
		Plugins    []struct {
			Type         string
			IPMasq       bool `json:"ipMasq"`
			Capabilities map[string]bool
			IPAM         struct {
				Type, DataDir string
				Ranges        [][]struct{ Subnet string }
				Routes        []struct{ Dst string }
			}
		}
	}
	if err := json.Unmarshal(data, &conf); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if conf.CNIVersion != "0.3.1" || conf.Name != "podnet" || len(conf.Plugins) != 2 {
		t.Fatalf("unexpected configuration:\n%s", data)
	}
	ptp, portmap := conf.Plugins[0], conf.Plugins[1]
	if ptp.Type != "ptp" || ptp.IPMasq || ptp.IPAM.Type != "host-local" || ptp.IPAM.DataDir == "" ||
		len(ptp.IPAM.Ranges) != 2 || ptp.IPAM.Ranges[0][0].Subnet != "10.244.1.0/24" || ptp.IPAM.Ranges[1][0].Subnet != "fd00:10:244:1::/64" ||
		len(ptp.IPAM.Routes) != 2 || ptp.IPAM.Routes[0].Dst != "0.0.0.0/0" || ptp.IPAM.Routes[1].Dst != "::/0" {
		t.Fatalf("unexpected ptp plugin:\n%s", data)
	}
	if portmap.Type != "portmap" || !portmap.Capabilities["portMappings"] {
		t.Fatalf("unexpected portmap plugin:\n%s", data)
	}
	again, _ := renderConf([]string{"10.244.1.0/24", "fd00:10:244:1::/64"})
	if string(again) != string(data) {
		t.Fatal("rendering is not deterministic")
	}
	if _, err := renderConf([]string{"10.244.1.0"}); err == nil {
		t.Fatal("accepted a pod CIDR without a prefix length")
	}
}

func TestWriteConf(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, confName)
	for _, cidr := range []string{"10.244.1.0/24", "10.244.1.0/24", "10.244.2.0/24"} {
		if err := writeConf(path, []string{cidr}); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		want, _ := renderConf([]string{cidr})
		if string(got) != string(want) {
			t.Fatalf("file holds\n%s\nwant\n%s", got, want)
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v", fi.Mode())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

func node(name string, cidrs []string, addrs ...corev1.NodeAddress) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	n.Spec.PodCIDRs = cidrs
	if len(cidrs) > 0 {
		n.Spec.PodCIDR = cidrs[0]
	}
	n.Status.Addresses = addrs
	return n
}

func internal(ip string) corev1.NodeAddress {
	return corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip}
}

func TestDesiredRoutes(t *testing.T) {
	nodes := []*corev1.Node{
		node("self", []string{"10.244.0.0/24"}, internal("172.18.0.2")),
		node("w1", []string{"10.244.1.0/24"}, corev1.NodeAddress{Type: corev1.NodeHostName, Address: "w1"}, internal("172.18.0.3")),
		// Not normalised; dual-stack: each CIDR goes via the address of its family.
		node("w2", []string{"10.244.2.7/24", "fd00:10:244:2::/64"}, internal("fc00:f853:ccd:e793::4"), internal("172.18.0.4")),
		node("new", nil, internal("172.18.0.5")),                       // no pod CIDR yet
		node("noaddr", []string{"10.244.6.0/24"}),                      // no address yet
		node("v6only", []string{"10.244.7.0/24"}, internal("fc00::7")), // no address of the family
		node("bad", []string{"10.244.8.0"}, internal("172.18.0.8")),    // unparsable CIDR
	}
	want := map[string]string{
		"10.244.1.0/24":      "172.18.0.3",
		"10.244.2.0/24":      "172.18.0.4",
		"fd00:10:244:2::/64": "fc00:f853:ccd:e793::4",
	}
	if got := desiredRoutes(nodes, "self"); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// A node that uses only spec.podCIDR.
	old := node("old", nil, internal("172.18.0.9"))
	old.Spec.PodCIDR = "10.244.9.0/24"
	if got := desiredRoutes([]*corev1.Node{old}, "self"); got["10.244.9.0/24"] != "172.18.0.9" {
		t.Fatalf("spec.podCIDR ignored: %v", got)
	}
}

func TestDiffRoutes(t *testing.T) {
	want := map[string]string{"10.244.1.0/24": "172.18.0.3", "10.244.2.0/24": "172.18.0.4", "10.244.3.0/24": "172.18.0.5"}
	have := map[string]string{"10.244.1.0/24": "172.18.0.3", "10.244.2.0/24": "172.18.0.9", "10.244.4.0/24": "172.18.0.6"}
	replace, remove := diffRoutes(want, have)
	if !reflect.DeepEqual(replace, []string{"10.244.2.0/24", "10.244.3.0/24"}) || !reflect.DeepEqual(remove, []string{"10.244.4.0/24"}) {
		t.Fatalf("replace %v, remove %v", replace, remove)
	}
	if replace, remove := diffRoutes(want, want); replace != nil || remove != nil {
		t.Fatalf("in sync, yet replace %v, remove %v", replace, remove)
	}
	if replace, remove := diffRoutes(nil, have); len(replace) != 0 || len(remove) != 3 {
		t.Fatalf("no nodes: replace %v, remove %v", replace, remove)
	}
}
