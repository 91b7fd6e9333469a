package main

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"reflect"
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
	// serve starts an agent on a socket in dir whose SVID comes with bundleRoot; its address.
	serve := func(name string, bundleRoot *x509.Certificate) string {
		sock := filepath.Join(dir, name)
		lis, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer()
		workload.RegisterSpiffeWorkloadAPIServer(srv, &agent{svid: &workload.X509SVID{
			SpiffeId:    id,
			X509Svid:    append(append([]byte{}, leaf.Raw...), inter.Raw...),
			X509SvidKey: keyDER,
			Bundle:      bundleRoot.Raw,
		}})
		go srv.Serve(lis)
		t.Cleanup(srv.Stop)
		return "unix://" + sock
	}
	addr := serve("agent.sock", root)
	// A second agent whose SVID comes with a bundle that does not verify it.
	wrongAddr := serve("wrong.sock", otherRoot)

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

	// loop, against the agent, the agent with the wrong bundle, and a socket where nothing listens. It stops once
	// the status file shows three fetches (not after a fixed time: a loaded machine is slow), and
	// each fetch against the agent gets a generous deadline, so only a real failure counts.
	for _, c := range []struct {
		addr, timeout string
		wantFails     bool
	}{{addr, "10s", false}, {wrongAddr, "10s", true}, {"unix://" + filepath.Join(dir, "missing.sock"), "200ms", true}} {
		statusFile := filepath.Join(dir, "status.json")
		os.Remove(statusFile)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- loop(ctx, []string{"--socket", c.addr, "--interval", "50ms", "--timeout", c.timeout, "--status-file", statusFile})
		}()
		var st status
		var data []byte
		for deadline := time.Now().Add(time.Minute); st.Fetches < 3; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("%s: fewer than 3 fetches in a minute: %s", c.addr, data)
			}
			if data, err = os.ReadFile(statusFile); err == nil {
				if err := json.Unmarshal(data, &st); err != nil {
					t.Fatalf("status file %q: %v", data, err)
				}
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("loop: %v", err)
		}
		if st.Since.IsZero() || st.Updated.Before(st.Since) {
			t.Fatalf("%s: status %s", c.addr, data)
		}
		// Never a good SVID where every fetch fails: each failure is uncovered.
		if c.wantFails && (st.Failures != st.Fetches || st.Uncovered != st.Fetches || st.LastError == "" || st.LastSpiffeID != "") ||
			!c.wantFails && (st.Failures != 0 || st.Uncovered != 0 || st.LongestOutageSeconds != 0 || st.LastError != "" || st.LastSpiffeID != id) {
			t.Fatalf("%s: status %s", c.addr, data)
		}
		// What a verified fetch saw: the one root, and the intermediate that signed the leaf.
		wantRoots, wantIssuers := [][]string{{hex.EncodeToString(root.SubjectKeyId)}}, []string{hex.EncodeToString(inter.AuthorityKeyId)}
		if c.wantFails {
			wantRoots, wantIssuers = nil, nil
		}
		if !reflect.DeepEqual(st.BundleRootSKIs, wantRoots) || !reflect.DeepEqual(st.SVIDIssuerAKIs, wantIssuers) ||
			!c.wantFails && (!reflect.DeepEqual(st.LastBundleRootSKIs, wantRoots[0]) || st.LastSVIDIssuerAKI != wantIssuers[0]) {
			t.Fatalf("%s: roots %v issuers %v, want %v %v", c.addr, st.BundleRootSKIs, st.SVIDIssuerAKIs, wantRoots, wantIssuers)
		}
		t.Logf("%s: status %s", c.addr, data)
	}
}
