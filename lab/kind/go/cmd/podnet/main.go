// podnet is the kind lab's pod network, standing in for kind's kindnet, whose image the
// offline lab cannot obtain. A DaemonSet runs it on every node (hostNetwork, NET_ADMIN,
// the host's CNI configuration directory mounted). It watches the Nodes and
//
//   - for its own node ($NODE_NAME) writes a CNI configuration that gives pods addresses
//     from the node's pod CIDR with the standard ptp, host-local and portmap plugins;
//   - for every other node routes that node's pod CIDR via the node's InternalIP, and
//     removes the routes of nodes that are gone. Its routes carry their own routing
//     protocol number, so it can tell them from everyone else's.
//
// All nodes share one L2 network (kind's docker network), so plain routes suffice. Each
// pass is idempotent; it runs on every Node event and every 30 seconds.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

const (
	confName = "10-podnet.conflist"
	resync   = 30 * time.Second
	// routeProtocol marks podnet's routes ("proto 77" in `ip route`): a number that
	// iproute2's rt_protos does not assign.
	routeProtocol = netlink.RouteProtocol(77)
)

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC)
	confDir := flag.String("cni-conf-dir", "/etc/cni/net.d", "directory of the node's CNI configuration")
	nodeName := flag.String("node-name", os.Getenv("NODE_NAME"), "this node's name (default: $NODE_NAME)")
	flag.Parse()
	if flag.NArg() > 0 || *nodeName == "" {
		log.Fatalf("usage: podnet [--cni-conf-dir DIR] [--node-name NAME]; the node name (or $NODE_NAME) is required")
	}
	if err := run(*confDir, *nodeName); err != nil {
		log.Fatalf("podnet: %v", err)
	}
}

func run(confDir, self string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return err
	}
	// Only the core/v1 client: the full clientset would add 12 MB to the binary.
	client, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return err
	}
	informer := cache.NewSharedIndexInformer(
		cache.NewListWatchFromClient(client.RESTClient(), "nodes", "", fields.Everything()),
		&corev1.Node{}, 0, cache.Indexers{})
	changed := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case changed <- struct{}{}:
		default: // a pass is already due
		}
	}
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: poke, UpdateFunc: func(_, n any) { poke(n) }, DeleteFunc: poke,
	}); err != nil {
		return err
	}
	go informer.Run(ctx.Done())
	// Only a complete node list may decide which routes to remove.
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		return errors.New("the node cache did not sync")
	}
	log.Printf("watching nodes as %s", self)

	lister := listersv1.NewNodeLister(informer.GetIndexer())
	ticker := time.NewTicker(resync)
	defer ticker.Stop()
	for {
		if err := syncOnce(lister, self, filepath.Join(confDir, confName)); err != nil {
			log.Printf("sync: %v", err)
		}
		select {
		case <-ctx.Done():
			// Leave configuration and routes in place: pods keep working across restarts.
			return nil
		case <-changed:
		case <-ticker.C:
		}
	}
}

// syncOnce brings the CNI configuration and the routes in line with the node list.
func syncOnce(lister listersv1.NodeLister, self, confPath string) error {
	nodes, err := lister.List(labels.Everything())
	if err != nil {
		return err
	}
	var errs []error
	found := false
	for _, n := range nodes {
		if n.Name != self {
			continue
		}
		found = true
		if cidrs := podCIDRs(n); len(cidrs) == 0 {
			errs = append(errs, fmt.Errorf("node %s has no pod CIDR yet", self))
		} else if err := writeConf(confPath, cidrs); err != nil {
			errs = append(errs, err)
		}
	}
	if !found {
		errs = append(errs, fmt.Errorf("node %s not found", self))
	}
	return errors.Join(append(errs, syncRoutes(desiredRoutes(nodes, self)))...)
}

func podCIDRs(n *corev1.Node) []string {
	if len(n.Spec.PodCIDRs) > 0 {
		return n.Spec.PodCIDRs
	}
	if n.Spec.PodCIDR != "" {
		return []string{n.Spec.PodCIDR}
	}
	return nil
}

// renderConf returns the CNI configuration for a node with the given pod CIDRs: the shape
// of the configuration kindnet writes in kind clusters. No masquerading: pods keep their own
// addresses between nodes (NetworkPolicies see the real source), and nothing leaves the lab.
func renderConf(cidrs []string) ([]byte, error) {
	var ranges, routes []any
	for _, c := range cidrs {
		_, subnet, err := net.ParseCIDR(c)
		if err != nil {
			return nil, fmt.Errorf("pod CIDR %q: %w", c, err)
		}
		ranges = append(ranges, []any{map[string]string{"subnet": subnet.String()}})
		if subnet.IP.To4() != nil {
			routes = append(routes, map[string]string{"dst": "0.0.0.0/0"})
		} else {
			routes = append(routes, map[string]string{"dst": "::/0"})
		}
	}
	conf := map[string]any{
		"cniVersion": "0.3.1",
		"name":       "podnet",
		"plugins": []any{
			map[string]any{
				"type":   "ptp", // a veth pair per pod, routed by the host
				"ipMasq": false,
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": "/run/cni-ipam-state", // tmpfs: allocations end with the node
					"ranges":  ranges,
					"routes":  routes,
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	out, err := json.MarshalIndent(conf, "", "  ")
	return append(out, '\n'), err
}

// writeConf writes the configuration atomically (a temporary file in the same directory,
// then rename, so the container runtime never reads half a file) when it differs.
func writeConf(path string, cidrs []string) error {
	data, err := renderConf(cidrs)
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".podnet-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	log.Printf("wrote %s for pod CIDRs %v", path, cidrs)
	return nil
}

// desiredRoutes maps each other node's pod CIDR (normalised) to that node's InternalIP of
// the same IP family. Nodes without a pod CIDR or a matching address get no route.
func desiredRoutes(nodes []*corev1.Node, self string) map[string]string {
	want := map[string]string{}
	for _, n := range nodes {
		if n.Name == self {
			continue
		}
		for _, c := range podCIDRs(n) {
			_, dst, err := net.ParseCIDR(c)
			if err != nil {
				log.Printf("node %s: bad pod CIDR %q: %v", n.Name, c, err)
				continue
			}
			for _, a := range n.Status.Addresses {
				ip := net.ParseIP(a.Address)
				if a.Type == corev1.NodeInternalIP && ip != nil && (ip.To4() != nil) == (dst.IP.To4() != nil) {
					want[dst.String()] = ip.String()
					break
				}
			}
		}
	}
	return want
}

// diffRoutes compares wanted routes with podnet's current ones (both destination →
// gateway) and returns the destinations to (re)route and those to delete, sorted.
func diffRoutes(want, have map[string]string) (replace, remove []string) {
	for dst, gw := range want {
		if have[dst] != gw {
			replace = append(replace, dst)
		}
	}
	for dst := range have {
		if _, ok := want[dst]; !ok {
			remove = append(remove, dst)
		}
	}
	sort.Strings(replace)
	sort.Strings(remove)
	return replace, remove
}

// syncRoutes makes podnet's routes in the main table exactly want.
func syncRoutes(want map[string]string) error {
	current, err := netlink.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Protocol: routeProtocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return fmt.Errorf("listing routes: %w", err)
	}
	have := map[string]string{}
	byDst := map[string]netlink.Route{}
	for _, r := range current {
		if r.Dst != nil {
			have[r.Dst.String()] = r.Gw.String()
			byDst[r.Dst.String()] = r
		}
	}
	replace, remove := diffRoutes(want, have)
	var errs []error
	for _, dst := range replace {
		_, ipnet, _ := net.ParseCIDR(dst) // valid: desiredRoutes normalised it
		r := netlink.Route{Dst: ipnet, Gw: net.ParseIP(want[dst]), Protocol: routeProtocol}
		if err := netlink.RouteReplace(&r); err != nil {
			errs = append(errs, fmt.Errorf("route %s via %s: %w", dst, want[dst], err))
			continue
		}
		log.Printf("route %s via %s", dst, want[dst])
	}
	for _, dst := range remove {
		r := byDst[dst]
		if err := netlink.RouteDel(&r); err != nil {
			errs = append(errs, fmt.Errorf("deleting route %s: %w", dst, err))
			continue
		}
		log.Printf("deleted route %s via %s", dst, have[dst])
	}
	return errors.Join(errs...)
}
