package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/proto/spiffe/workload"
	"google.golang.org/grpc"
)

// agent is a fake SPIRE agent: its Workload API hands every caller the same X509-SVID.
type agent struct {
	workload.UnimplementedSpiffeWorkloadAPIServer
	svid *workload.X509SVID
}

func (a *agent) FetchX509SVID(_ *workload.X509SVIDRequest, stream grpc.ServerStreamingServer[workload.X509SVIDResponse]) error {
	if err := stream.Send(&workload.X509SVIDResponse{Svids: []*workload.X509SVID{a.svid}}); err != nil {
		return err
	}
	<-stream.Context().Done()
	return nil
}

// TestAgainstFakeAgent runs once and loop against a Workload API server on a unix socket.
func TestAgainstFakeAgent(t *testing.T) {
	const id = "spiffe://lab.example/ns/demo/sa/default"
	root, rootKey := issue(t, nil, nil, "")
	inter, interKey := issue(t, root, rootKey, "")
	leaf, leafKey := issue(t, inter, interKey, id)
	otherRoot, _ := issue(t, nil, nil, "")
	keyDER, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	workload.RegisterSpiffeWorkloadAPIServer(srv, &agent{svid: &workload.X509SVID{
		SpiffeId:    id,
		X509Svid:    append(append([]byte{}, leaf.Raw...), inter.Raw...),
		X509SvidKey: keyDER,
		Bundle:      root.Raw,
	}})
	go srv.Serve(lis)
	defer srv.Stop()
	addr := "unix://" + sock

	bundle, other := filepath.Join(dir, "bundle.pem"), filepath.Join(dir, "other.pem")
	os.WriteFile(bundle, pemOf(root), 0o600)
	os.WriteFile(other, pemOf(otherRoot), 0o600)
	if err := once([]string{"--socket", addr, "--bundle", bundle, "--expect-id", id}); err != nil {
		t.Fatalf("once: %v", err)
	}
	for _, args := range [][]string{
		{"--socket", addr, "--bundle", bundle, "--expect-id", "spiffe://lab.example/other"},
		{"--socket", addr, "--bundle", other},
		{"--socket", "unix://" + filepath.Join(dir, "missing.sock"), "--bundle", bundle, "--timeout", "500ms"},
		{"--bundle", bundle, "--socket", ""},
		{"--socket", addr, "--bundle", bundle, "extra"},
	} {
		if err := once(args); err == nil {
			t.Errorf("once(%q) succeeded", args)
		} else {
			t.Logf("once(%q): %v", args, err)
		}
	}

	// loop, first against the agent, then against a socket where nothing listens.
	for _, c := range []struct {
		addr      string
		wantFails bool
	}{{addr, false}, {"unix://" + filepath.Join(dir, "missing.sock"), true}} {
		statusFile := filepath.Join(dir, "status.json")
		os.Remove(statusFile)
		ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
		err := loop(ctx, []string{"--socket", c.addr, "--interval", "100ms", "--timeout", "200ms", "--status-file", statusFile})
		cancel()
		if err != nil {
			t.Fatalf("loop: %v", err)
		}
		data, err := os.ReadFile(statusFile)
		if err != nil {
			t.Fatal(err)
		}
		var st status
		if err := json.Unmarshal(data, &st); err != nil {
			t.Fatal(err)
		}
		if st.Fetches < 2 || st.Since.IsZero() || st.Updated.Before(st.Since) {
			t.Fatalf("%s: status %s", c.addr, data)
		}
		if c.wantFails && (st.Failures != st.Fetches || st.LastError == "" || st.LastSpiffeID != "") ||
			!c.wantFails && (st.Failures != 0 || st.LastError != "" || st.LastSpiffeID != id) {
			t.Fatalf("%s: status %s", c.addr, data)
		}
		t.Logf("%s: status %s", c.addr, data)
	}
}
