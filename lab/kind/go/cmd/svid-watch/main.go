// svid-watch is the workload of the kind lab's sample pods. It talks to the SPIFFE Workload
// API on the socket the SPIFFE CSI driver mounts into the pod.
//
//	svid-watch once --bundle FILE|DIR [--expect-id spiffe://...]
//	    Fetch one X509-SVID, verify its chain against the trust bundle (a PEM file, or a
//	    directory holding the spire-bundle ConfigMap, whose key is bundle.crt), print one
//	    JSON line and exit 0 only if it verified (and has the expected SPIFFE ID).
//	svid-watch [loop] [--interval 1s] [--status-file /tmp/status.json]
//	    Every interval, fetch an X509-SVID and the trust bundles with a fresh Workload API
//	    client, verify the SVID against the bundle of its trust domain that came with it,
//	    count attempts and failures (a fetch that does not verify is one), record which
//	    bundle roots and SVID issuers were seen (CA rotation evidence), log each failure,
//	    and atomically rewrite the status file.
//	svid-watch status [--status-file /tmp/status.json]
//	    Print the status file (the image has no cat; use it through kubectl exec).
//
// The Workload API address comes from --socket, which defaults to $SPIFFE_ENDPOINT_SOCKET
// (for example unix:///spiffe-workload-api/spire-agent.sock).
package main

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// bundleKey is the key the k8sbundle notifier writes in the spire-bundle ConfigMap.
const bundleKey = "bundle.crt"

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC)
	args := os.Args[1:]
	mode := "loop"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		mode, args = args[0], args[1:]
	}
	var err error
	switch mode {
	case "once":
		err = once(args)
	case "loop":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		err = loop(ctx, args)
		stop()
	case "status":
		err = printStatus(args)
	default:
		err = fmt.Errorf("unknown mode %q (want once, loop or status)", mode)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		log.Printf("svid-watch %s: %v", mode, err)
		os.Exit(1)
	}
}

// newFlags returns a flag set for mode, plus a parse function that also refuses positional
// arguments.
func newFlags(mode string) (*flag.FlagSet, func([]string) error) {
	fs := flag.NewFlagSet("svid-watch "+mode, flag.ContinueOnError)
	return fs, func(args []string) error {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("unexpected arguments: %q", fs.Args())
		}
		return nil
	}
}

func socketFlag(fs *flag.FlagSet) *string {
	return fs.String("socket", os.Getenv("SPIFFE_ENDPOINT_SOCKET"), "Workload API address (default: $SPIFFE_ENDPOINT_SOCKET)")
}

// result is what once prints.
type result struct {
	SpiffeID    string    `json:"spiffe_id"`
	NotAfter    time.Time `json:"not_after"`
	Verified    bool      `json:"verified"`
	ChainLength int       `json:"chain_length"` // certificates the agent sent: leaf + intermediates
}

func once(args []string) error {
	fs, parse := newFlags("once")
	socket := socketFlag(fs)
	bundlePath := fs.String("bundle", "", "trust bundle: a PEM file, or a directory holding "+bundleKey+" (required)")
	expect := fs.String("expect-id", "", "fail unless the SVID has this SPIFFE ID")
	timeout := fs.Duration("timeout", 10*time.Second, "deadline for the fetch")
	if err := parse(args); err != nil {
		return err
	}
	if *socket == "" || *bundlePath == "" {
		return errors.New("--socket (or $SPIFFE_ENDPOINT_SOCKET) and --bundle are required")
	}
	var expectID spiffeid.ID
	if *expect != "" {
		id, err := spiffeid.FromString(*expect)
		if err != nil {
			return fmt.Errorf("--expect-id: %w", err)
		}
		expectID = id
	}
	roots, err := readBundle(*bundlePath)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	svid, err := workloadapi.FetchX509SVID(ctx, workloadapi.WithAddr(*socket))
	if err != nil {
		return fmt.Errorf("fetching X509-SVID from %s: %w", *socket, err)
	}
	res, err := check(svid.Certificates, roots, expectID, time.Now())
	line, _ := json.Marshal(res)
	fmt.Println(string(line))
	return err
}

// readBundle reads the PEM certificates of a trust bundle from a file, or from the
// ConfigMap key file in a directory.
func readBundle(path string) ([]*x509.Certificate, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, bundleKey)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading trust bundle: %w", err)
	}
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("trust bundle %s: %w", path, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("trust bundle %s holds no PEM certificate", path)
	}
	return certs, nil
}

// check verifies an X509-SVID chain (leaf first) against roots, the X.509 authorities of
// the SVID's trust domain, with go-spiffe's SVID rules, and compares its SPIFFE ID with
// expect unless that is zero. The result describes the chain even when the check fails.
func check(chain []*x509.Certificate, roots []*x509.Certificate, expect spiffeid.ID, now time.Time) (result, error) {
	if len(chain) == 0 {
		return result{}, errors.New("the agent sent no certificates")
	}
	res := result{NotAfter: chain[0].NotAfter.UTC(), ChainLength: len(chain)}
	id, err := x509svid.IDFromCert(chain[0])
	if err != nil {
		return res, err
	}
	res.SpiffeID = id.String()
	bundle := x509bundle.FromX509Authorities(id.TrustDomain(), roots)
	if _, _, err := x509svid.Verify(chain, bundle, x509svid.WithTime(now)); err != nil {
		return res, err
	}
	res.Verified = true
	if !expect.IsZero() && id != expect {
		return res, fmt.Errorf("SVID has SPIFFE ID %s, expected %s", id, expect)
	}
	return res, nil
}

// status is what loop writes to the status file.
type status struct {
	Fetches      int64     `json:"fetches"`        // fetch attempts
	Failures     int64     `json:"failures"`       // attempts that failed or timed out
	LastError    string    `json:"last_error"`     // the latest failure's error, kept after later successes
	LastSpiffeID string    `json:"last_spiffe_id"` // from the latest successful fetch
	Since        time.Time `json:"since"`          // when counting started (process start)
	Updated      time.Time `json:"updated"`        // when the file was last written
	// Distinct sets of root subject key IDs of the bundles fetched (hex, sorted), and distinct
	// authority key IDs of the certificate that signed the SVID (the server's CA, whose AKI
	// names the upstream root): in order of first sight, at most maxSeen each.
	BundleRootSKIs [][]string `json:"bundle_root_skis"`
	SVIDIssuerAKIs []string   `json:"svid_issuer_akis"`
	// The same two of the latest verified fetch.
	LastBundleRootSKIs []string `json:"last_bundle_root_skis"`
	LastSVIDIssuerAKI  string   `json:"last_svid_issuer_aki"`
	// Failed fetches at a moment when the SVID of the latest good fetch had expired (or none was
	// had yet): when a workload keeping its latest SVID, as a go-spiffe X509Source does, would
	// have held no valid identity. An agent being replaced costs failures, not these.
	Uncovered int64 `json:"uncovered"`
	// The longest run of failed fetches, from its first failure to the next good fetch (or to
	// the latest failure while it lasts), in seconds.
	LongestOutageSeconds float64 `json:"longest_outage_seconds"`

	validUntil  time.Time // NotAfter of the latest good fetch's SVID
	outageStart time.Time // first failure of the current run of failures; zero when none
}

// record counts one fetch made at now: failed with err, or good with an SVID valid until notAfter.
func (st *status) record(now time.Time, err error, notAfter time.Time) {
	st.Fetches++
	if err != nil {
		st.Failures++
		st.LastError = err.Error()
		if !now.Before(st.validUntil) {
			st.Uncovered++
		}
		if st.outageStart.IsZero() {
			st.outageStart = now
		}
	} else {
		st.validUntil = notAfter
	}
	if !st.outageStart.IsZero() {
		if d := now.Sub(st.outageStart).Seconds(); d > st.LongestOutageSeconds {
			st.LongestOutageSeconds = d
		}
		if err == nil {
			st.outageStart = time.Time{}
		}
	}
}

// maxSeen bounds the seen-lists of the status file.
const maxSeen = 32

// observe records the roots and the SVID issuer of a verified fetch.
func (st *status) observe(chain, roots []*x509.Certificate) {
	skis := make([]string, 0, len(roots))
	for _, root := range roots {
		skis = append(skis, hex.EncodeToString(root.SubjectKeyId))
	}
	sort.Strings(skis)
	aki := ""
	if len(chain) > 1 {
		aki = hex.EncodeToString(chain[1].AuthorityKeyId)
	}
	st.LastBundleRootSKIs, st.LastSVIDIssuerAKI = skis, aki
	seen := false
	for _, got := range st.BundleRootSKIs {
		seen = seen || strings.Join(got, ",") == strings.Join(skis, ",")
	}
	if !seen && len(st.BundleRootSKIs) < maxSeen {
		st.BundleRootSKIs = append(st.BundleRootSKIs, skis)
	}
	for _, got := range st.SVIDIssuerAKIs {
		if got == aki {
			return
		}
	}
	if len(st.SVIDIssuerAKIs) < maxSeen {
		st.SVIDIssuerAKIs = append(st.SVIDIssuerAKIs, aki)
	}
}

// fetchVerified fetches the X509 context once and verifies the default SVID against the
// bundle of its own trust domain from the same response.
func fetchVerified(ctx context.Context, socket string) (*x509svid.SVID, []*x509.Certificate, error) {
	xctx, err := workloadapi.FetchX509Context(ctx, workloadapi.WithAddr(socket))
	if err != nil {
		return nil, nil, err
	}
	svid := xctx.DefaultSVID()
	if svid == nil {
		return nil, nil, errors.New("the agent sent no X509-SVID")
	}
	bundle, ok := xctx.Bundles.Get(svid.ID.TrustDomain())
	if !ok {
		return svid, nil, fmt.Errorf("no bundle for trust domain %s came with the SVID", svid.ID.TrustDomain())
	}
	roots := bundle.X509Authorities()
	if _, err := check(svid.Certificates, roots, spiffeid.ID{}, time.Now()); err != nil {
		return svid, roots, fmt.Errorf("SVID %s does not verify against its bundle: %w", svid.ID, err)
	}
	return svid, roots, nil
}

func statusFileFlag(fs *flag.FlagSet) *string {
	return fs.String("status-file", "/tmp/status.json", "status file (its directory must be writable)")
}

// loop fetches every interval until ctx ends.
func loop(ctx context.Context, args []string) error {
	fs, parse := newFlags("loop")
	socket := socketFlag(fs)
	interval := fs.Duration("interval", time.Second, "time between fetches")
	timeout := fs.Duration("timeout", 5*time.Second, "deadline for each fetch")
	statusFile := statusFileFlag(fs)
	if err := parse(args); err != nil {
		return err
	}
	if *socket == "" {
		return errors.New("--socket (or $SPIFFE_ENDPOINT_SOCKET) is required")
	}
	if *interval <= 0 || *timeout <= 0 {
		return errors.New("--interval and --timeout must be positive")
	}
	st := status{Since: time.Now().UTC()}
	ticker := time.NewTicker(*interval)
	defer ticker.Stop()
	for {
		fctx, cancel := context.WithTimeout(ctx, *timeout)
		svid, roots, err := fetchVerified(fctx, *socket)
		cancel()
		if ctx.Err() != nil { // stopped mid-fetch: not a failure of the agent
			return nil
		}
		var notAfter time.Time
		if err == nil {
			notAfter = svid.Certificates[0].NotAfter
		}
		st.record(time.Now(), err, notAfter)
		if err != nil {
			log.Printf("fetch %d failed (%d failures, %d uncovered): %v", st.Fetches, st.Failures, st.Uncovered, err)
		} else {
			st.observe(svid.Certificates, roots)
			if id := svid.ID.String(); id != st.LastSpiffeID {
				log.Printf("fetch %d: X509-SVID for %s", st.Fetches, id)
				st.LastSpiffeID = id
			}
		}
		st.Updated = time.Now().UTC()
		if err := writeStatus(*statusFile, st); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// writeStatus replaces path with st as JSON, atomically (a temporary file, then rename), so
// a reader never sees a partial file.
func writeStatus(path string, st status) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".status-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func printStatus(args []string) error {
	fs, parse := newFlags("status")
	statusFile := statusFileFlag(fs)
	if err := parse(args); err != nil {
		return err
	}
	data, err := os.ReadFile(*statusFile)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(data)
	return err
}
