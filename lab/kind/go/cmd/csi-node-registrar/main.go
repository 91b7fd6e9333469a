// csi-node-registrar registers a CSI driver with the kubelet. It stands in for
// registry.k8s.io/sig-storage/csi-node-driver-registrar, which the offline kind lab cannot
// obtain, and does only what the collection's DaemonSet needs of that image:
//
//  1. ask the CSI driver on --csi-address for its name (CSI Identity GetPluginInfo),
//     retrying until the driver answers;
//  2. serve the kubelet plugin-registration API on
//     <--plugin-registration-path>/<driver name>-reg.sock, where the kubelet's plugin watcher
//     (its plugins_registry directory, mounted there) finds it. GetInfo tells the kubelet
//     that a CSI plugin of that name listens on --kubelet-registration-path (the driver's
//     socket as seen from the host);
//  3. exit non-zero when the kubelet reports a failed registration, as upstream does, so the
//     container restarts and registers again; on SIGTERM, remove the socket and exit 0.
//
// It accepts the upstream flags the DaemonSet passes plus --plugin-registration-path, and
// refuses any other flag rather than ignoring it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// How long one GetPluginInfo attempt may take, and how long to wait between attempts.
const (
	callTimeout   = time.Second
	retryInterval = 2 * time.Second
)

type config struct {
	csiAddress              string // the driver's socket, as this container sees it
	kubeletRegistrationPath string // the driver's socket, as the kubelet (the host) sees it
	pluginRegistrationPath  string // the kubelet's plugins_registry directory, as mounted here
}

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC)
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		log.Printf("csi-node-registrar: %v", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		log.Printf("csi-node-registrar: %v", err)
		os.Exit(1)
	}
}

// parseFlags reads the upstream flag names (one or two leading dashes, as with upstream).
// Unknown flags and positional arguments are errors.
func parseFlags(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("csi-node-registrar", flag.ContinueOnError)
	fs.StringVar(&cfg.csiAddress, "csi-address", "/run/csi/socket", "path of the CSI driver's socket in this container")
	fs.StringVar(&cfg.kubeletRegistrationPath, "kubelet-registration-path", "", "path of the CSI driver's socket on the host (required)")
	fs.StringVar(&cfg.pluginRegistrationPath, "plugin-registration-path", "/registration", "directory where the kubelet watches for plugin sockets")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if cfg.kubeletRegistrationPath == "" {
		return cfg, errors.New("--kubelet-registration-path is required")
	}
	return cfg, nil
}

// run registers the driver and serves the kubelet until ctx ends (nil) or the kubelet
// reports a failed registration or serving fails (an error). The socket is removed on return.
func run(ctx context.Context, cfg config) error {
	name, err := driverName(ctx, cfg.csiAddress)
	if err != nil {
		return err
	}
	log.Printf("CSI driver at %s is %q", cfg.csiAddress, name)

	sock := filepath.Join(cfg.pluginRegistrationPath, name+"-reg.sock")
	// A socket left by an earlier run would make Listen fail.
	if err := os.Remove(sock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing stale socket: %w", err)
	}
	// Like upstream, create the socket accessible to its owner (root: the kubelet) only.
	oldMask := syscall.Umask(0o077)
	lis, err := net.Listen("unix", sock)
	syscall.Umask(oldMask)
	if err != nil {
		return err
	}
	defer os.Remove(sock) // closing the listener also unlinks it; this covers every path

	reg := &registrar{name: name, endpoint: cfg.kubeletRegistrationPath, failed: make(chan error, 1)}
	srv := grpc.NewServer()
	registerapi.RegisterRegistrationServer(srv, reg)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	log.Printf("serving plugin registration on %s (endpoint %s)", sock, cfg.kubeletRegistrationPath)

	select {
	case <-ctx.Done():
		log.Printf("stopping: %v", context.Cause(ctx))
		srv.Stop()
		return nil
	case err := <-reg.failed:
		srv.GracefulStop() // let the kubelet have its answer first
		return fmt.Errorf("kubelet failed to register the plugin: %w", err)
	case err := <-served:
		return fmt.Errorf("serving plugin registration: %w", err)
	}
}

// driverName asks the CSI driver for its name, retrying until it answers or ctx ends.
// Each attempt uses a fresh connection, so gRPC's reconnect backoff never delays the answer.
func driverName(ctx context.Context, addr string) (string, error) {
	target := addr
	if !strings.HasPrefix(addr, "unix:") {
		target = "unix:" + addr
	}
	for {
		name, err := getPluginName(ctx, target)
		if err == nil {
			return name, nil
		}
		log.Printf("waiting for the CSI driver at %s: %v", addr, err)
		select {
		case <-ctx.Done():
			return "", context.Cause(ctx)
		case <-time.After(retryInterval):
		}
	}
}

func getPluginName(ctx context.Context, target string) (string, error) {
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := csi.NewIdentityClient(conn).GetPluginInfo(ctx, &csi.GetPluginInfoRequest{})
	if err != nil {
		return "", err
	}
	if resp.GetName() == "" {
		return "", errors.New("the driver reported an empty name")
	}
	return resp.GetName(), nil
}

// registrar implements the kubelet's plugin-registration service for one CSI driver.
type registrar struct {
	name     string
	endpoint string
	failed   chan error // receives the kubelet's error when it reports a failed registration
}

func (r *registrar) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	log.Printf("kubelet asked for plugin info")
	return &registerapi.PluginInfo{
		Type:              registerapi.CSIPlugin,
		Name:              r.name,
		Endpoint:          r.endpoint,
		SupportedVersions: []string{"1.0.0"},
	}, nil
}

func (r *registrar) NotifyRegistrationStatus(_ context.Context, s *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	if s.PluginRegistered {
		log.Printf("kubelet registered CSI driver %q", r.name)
	} else {
		log.Printf("kubelet failed to register CSI driver %q: %s", r.name, s.Error)
		select {
		case r.failed <- errors.New(s.Error):
		default: // a failure is already pending
		}
	}
	return &registerapi.RegistrationStatusResponse{}, nil
}
