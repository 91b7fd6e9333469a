package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

var now = time.Now()

// issue makes a certificate signed by parent (self-signed when parent is nil). A CA when uri
// is empty, otherwise an X509-SVID leaf for that SPIFFE ID.
func issue(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, uri string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"SPIFFE"}, SerialNumber: serial.String()},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		BasicConstraintsValid: true,
	}
	if uri == "" {
		tmpl.IsCA = true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else {
		u, _ := url.Parse(uri)
		tmpl.URIs = []*url.URL{u}
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func pemOf(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

func TestReadBundle(t *testing.T) {
	root1, _ := issue(t, nil, nil, "")
	root2, _ := issue(t, nil, nil, "")
	dir := t.TempDir()
	// A file, with something that is not a certificate in between.
	file := filepath.Join(dir, "bundle.pem")
	data := append(pemOf(root1), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1}})...)
	if err := os.WriteFile(file, append(data, pemOf(root2)...), 0o600); err != nil {
		t.Fatal(err)
	}
	if certs, err := readBundle(file); err != nil || len(certs) != 2 || !certs[1].Equal(root2) {
		t.Fatalf("readBundle(file) = %d certs, %v", len(certs), err)
	}
	// A directory holding the ConfigMap key, as a ConfigMap volume mounts it.
	cmDir := filepath.Join(dir, "cm")
	if err := os.Mkdir(cmDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cmDir, "bundle.crt"), pemOf(root1), 0o600); err != nil {
		t.Fatal(err)
	}
	if certs, err := readBundle(cmDir); err != nil || len(certs) != 1 || !certs[0].Equal(root1) {
		t.Fatalf("readBundle(dir) = %d certs, %v", len(certs), err)
	}
	// Failures: no such file, no certificates, a broken certificate.
	empty := filepath.Join(dir, "empty.pem")
	broken := filepath.Join(dir, "broken.pem")
	os.WriteFile(empty, []byte("no PEM here\n"), 0o600)
	os.WriteFile(broken, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}), 0o600)
	for _, p := range []string{filepath.Join(dir, "missing"), empty, broken, dir /* no bundle.crt */} {
		if _, err := readBundle(p); err == nil {
			t.Errorf("readBundle(%s) accepted", p)
		}
	}
}

func TestCheck(t *testing.T) {
	const id = "spiffe://lab.example/ns/demo/sa/default"
	root, rootKey := issue(t, nil, nil, "")
	inter, interKey := issue(t, root, rootKey, "")
	leaf, _ := issue(t, inter, interKey, id)
	otherRoot, _ := issue(t, nil, nil, "")
	chain := []*x509.Certificate{leaf, inter}

	res, err := check(chain, []*x509.Certificate{otherRoot, root}, spiffeid.ID{}, now)
	if err != nil || !res.Verified || res.SpiffeID != id || res.ChainLength != 2 || !res.NotAfter.Equal(leaf.NotAfter) {
		t.Fatalf("check = %+v, %v", res, err)
	}
	if _, err := check(chain, []*x509.Certificate{root}, spiffeid.RequireFromString(id), now); err != nil {
		t.Fatalf("check with the expected ID: %v", err)
	}

	res, err = check(chain, []*x509.Certificate{root}, spiffeid.RequireFromString("spiffe://lab.example/other"), now)
	if err == nil || !res.Verified {
		t.Fatalf("wrong expected ID: %+v, %v", res, err)
	}
	for name, c := range map[string]struct {
		chain []*x509.Certificate
		roots []*x509.Certificate
		now   time.Time
	}{
		"untrusted root":       {chain, []*x509.Certificate{otherRoot}, now},
		"missing intermediate": {[]*x509.Certificate{leaf}, []*x509.Certificate{root}, now},
		"expired":              {chain, []*x509.Certificate{root}, now.Add(2 * time.Hour)},
		"CA as leaf":           {[]*x509.Certificate{inter}, []*x509.Certificate{root}, now},
		"empty chain":          {nil, []*x509.Certificate{root}, now},
	} {
		if res, err := check(c.chain, c.roots, spiffeid.ID{}, c.now); err == nil || res.Verified {
			t.Errorf("%s: check = %+v, %v", name, res, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// TestRecord: failures while the latest SVID is still valid are covered; the longest run of
// failures is measured from its first failure to the next good fetch.
func TestRecord(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	boom := errors.New("boom")
	var st status
	for _, f := range []struct {
		at       int
		err      error
		notAfter int
	}{
		{0, boom, 0},  // nothing held yet: uncovered
		{1, nil, 10},  // valid until 10; the run of failures lasted 1 s
		{5, boom, 0},  // covered
		{8, boom, 0},  // covered
		{10, boom, 0}, // the SVID expired at 10: uncovered
		{12, nil, 30}, // run of failures 5..12: 7 s
		{13, boom, 0}, // covered
		{14, nil, 40}, // 1 s
	} {
		st.record(at(f.at), f.err, at(f.notAfter))
	}
	if st.Fetches != 8 || st.Failures != 5 || st.Uncovered != 2 || st.LongestOutageSeconds != 7 || st.LastError != "boom" {
		t.Fatalf("status %+v", st)
	}
	// A run still going counts up to its latest failure.
	st.record(at(20), boom, time.Time{})
	st.record(at(29), boom, time.Time{})
	if st.LongestOutageSeconds != 9 || st.Uncovered != 2 {
		t.Fatalf("status %+v", st)
	}
}

func TestWriteStatus(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "status.json")
	since := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := int64(1); i <= 2; i++ {
		want := status{Fetches: 10 * i, Failures: i, LastError: "boom", LastSpiffeID: "spiffe://x/y", Since: since, Updated: since.Add(time.Minute),
			BundleRootSKIs: [][]string{{"0a", "0b"}}, SVIDIssuerAKIs: []string{"0a"}, Uncovered: i, LongestOutageSeconds: 1.5}
		if err := writeStatus(path, want); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var got status
		if err := json.Unmarshal(data, &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("status file %q: %+v, %v", data, got, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
	if err := printStatus([]string{"--status-file", path}); err != nil {
		t.Fatalf("status: %v", err)
	}
	if err := printStatus([]string{"--status-file", path + ".missing"}); err == nil {
		t.Fatal("status of a missing file succeeded")
	}
	if err := writeStatus(filepath.Join(dir, "missing", "status.json"), status{}); err == nil {
		t.Fatal("writeStatus into a missing directory succeeded")
	}
}
