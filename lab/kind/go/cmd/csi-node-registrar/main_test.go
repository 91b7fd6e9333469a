package main

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

func TestParseFlags(t *testing.T) {
	// The arguments the collection's DaemonSet passes.
	cfg, err := parseFlags([]string{"-csi-address", "/spiffe-csi/csi.sock", "-kubelet-registration-path", "/var/lib/kubelet/plugins/csi.spiffe.io/csi.sock"})
	if err != nil {
		t.Fatal(err)
	}
	want := config{"/spiffe-csi/csi.sock", "/var/lib/kubelet/plugins/csi.spiffe.io/csi.sock", "/registration"}
	if cfg != want {
		t.Fatalf("got %+v, want %+v", cfg, want)
	}
	for _, args := range [][]string{
		{"--kubelet-registration-path=/k", "-v=5"},                  // unknown flag
		{"--kubelet-registration-path=/k", "--http-endpoint=:9809"}, // unknown flag
		{"--csi-address=/c"},                                        // missing required flag
		{"--kubelet-registration-path=/k", "extra"},                 // positional argument
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}

// identity is a CSI Identity server that only knows its name.
type identity struct {
	csi.UnimplementedIdentityServer
	name string
}

func (i *identity) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: i.name, VendorVersion: "test"}, nil
}

// startDriver serves a CSI Identity service on a unix socket at path.
func startDriver(t *testing.T, path, name string) {
	t.Helper()
	lis, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	csi.RegisterIdentityServer(srv, &identity{name: name})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
}

// waitForSocket waits until path exists.
func waitForSocket(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if fi, err := os.Stat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return
		}
	}
	t.Fatalf("%s did not appear", path)
}

// startRegistrar runs the registrar against a driver that starts only after the registrar
// (so the retry is exercised) and a stale file where the registration socket goes.
// It returns a client for the registration socket, the socket's path, and run's result.
func startRegistrar(t *testing.T, ctx context.Context) (registerapi.RegistrationClient, string, <-chan error) {
	t.Helper()
	dir := t.TempDir()
	regDir := filepath.Join(dir, "registration")
	if err := os.Mkdir(regDir, 0o755); err != nil {
		t.Fatal(err)
	}
	regSock := filepath.Join(regDir, "csi.example.org-reg.sock")
	if err := os.WriteFile(regSock, []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}
	driverSock := filepath.Join(dir, "csi.sock")
	cfg := config{csiAddress: driverSock, kubeletRegistrationPath: "/host/csi.sock", pluginRegistrationPath: regDir}
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg) }()

	time.Sleep(300 * time.Millisecond) // let the first GetPluginInfo attempt fail
	startDriver(t, driverSock, "csi.example.org")
	waitForSocket(t, regSock)
	if fi, err := os.Stat(regSock); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("registration socket is group/other accessible: %v %v", fi.Mode(), err)
	}

	conn, err := grpc.NewClient("unix:"+regSock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return registerapi.NewRegistrationClient(conn), regSock, done
}

func TestRegistrationAndSIGTERM(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client, regSock, done := startRegistrar(t, ctx)

	info, err := client.GetInfo(ctx, &registerapi.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != registerapi.CSIPlugin || info.Name != "csi.example.org" || info.Endpoint != "/host/csi.sock" ||
		!reflect.DeepEqual(info.SupportedVersions, []string{"1.0.0"}) {
		t.Fatalf("GetInfo = %+v", info)
	}
	if _, err := client.NotifyRegistrationStatus(ctx, &registerapi.RegistrationStatus{PluginRegistered: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("run returned after a successful registration: %v", err)
	case <-time.After(200 * time.Millisecond):
	}

	cancel() // what SIGTERM does in main
	if err := <-done; err != nil {
		t.Fatalf("run after cancel: %v", err)
	}
	if _, err := os.Stat(regSock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("registration socket left behind: %v", err)
	}
}

func TestRegistrationFailureExits(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client, regSock, done := startRegistrar(t, ctx)

	if _, err := client.NotifyRegistrationStatus(ctx, &registerapi.RegistrationStatus{PluginRegistered: false, Error: "boom"}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("run returned nil after a failed registration")
		}
		t.Logf("run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after a failed registration")
	}
	if _, err := os.Stat(regSock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("registration socket left behind: %v", err)
	}
}
