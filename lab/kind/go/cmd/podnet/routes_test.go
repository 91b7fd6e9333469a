package main

import (
	"net"
	"reflect"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// TestSyncRoutes runs syncRoutes against a real kernel routing table in a fresh network
// namespace (skipped where namespaces cannot be created, e.g. without root).
func TestSyncRoutes(t *testing.T) {
	runtime.LockOSThread() // network namespaces belong to threads
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New() // creates the namespace and enters it
	if err != nil {
		t.Skipf("cannot create a network namespace: %v", err)
	}
	defer func() {
		if err := netns.Set(orig); err != nil {
			panic(err) // never let this thread go back to the pool inside the namespace
		}
		ns.Close()
	}()

	// A link on 172.18.0.0/16 (kind's network), and a route that is not podnet's.
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "v0"}, PeerName: "v1"}
	must(t, netlink.LinkAdd(veth))
	addr, _ := netlink.ParseAddr("172.18.0.2/16")
	must(t, netlink.AddrAdd(veth, addr))
	peer, err := netlink.LinkByName("v1")
	must(t, err)
	must(t, netlink.LinkSetUp(peer))
	must(t, netlink.LinkSetUp(veth))
	_, foreign, _ := net.ParseCIDR("10.244.9.0/24")
	must(t, netlink.RouteAdd(&netlink.Route{Dst: foreign, Gw: net.ParseIP("172.18.0.9"), Protocol: netlink.RouteProtocol(4)}))

	for _, want := range []map[string]string{
		{"10.244.1.0/24": "172.18.0.3", "10.244.2.0/24": "172.18.0.4"},
		{"10.244.1.0/24": "172.18.0.5"}, // a node moved, another left
		{"10.244.1.0/24": "172.18.0.5"}, // nothing to do
		{},                              // all gone
	} {
		must(t, syncRoutes(want))
		routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
		must(t, err)
		got := map[string]string{}
		foreignSeen := false
		for _, r := range routes {
			switch {
			case r.Protocol == routeProtocol:
				got[r.Dst.String()] = r.Gw.String()
			case r.Dst != nil && r.Dst.String() == foreign.String():
				foreignSeen = true
			}
		}
		if !reflect.DeepEqual(got, want) || !foreignSeen {
			t.Fatalf("after syncRoutes(%v): podnet's routes %v, foreign route kept: %v", want, got, foreignSeen)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
