package ldapdirtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"

	"github.com/sspr/sspr/internal/directory"
)

// Tap is a TCP proxy on loopback in front of a real directory server. It
// records every byte that crosses it in either direction, so a test can
// prove what went over the wire (no password in clear) and count the LDAP
// requests a client sent. A plain tap (NewTap) forwards bytes as they are:
// what it records is exactly what a network eavesdropper sees. A TLS tap
// (NewTLSTap) ends the clients' TLS with a throw-away certificate and speaks
// TLS to the server, so it can read (and count) requests on ldaps://.
type Tap struct {
	t        testing.TB
	ln       net.Listener
	upstream string
	front    *tls.Config // TLS towards clients (TLS tap only)
	back     *tls.Config // TLS towards the server (TLS tap only)
	caFile   string

	mu    sync.Mutex
	conns []*tapConn
	wg    sync.WaitGroup
	open  map[net.Conn]struct{}
}

type tapConn struct {
	mu       sync.Mutex
	sent     bytes.Buffer // client → server
	received bytes.Buffer // server → client
}

// NewTap starts a plain tap forwarding to upstream (host:port); it stops when
// the test ends.
func NewTap(t testing.TB, upstream string) *Tap {
	t.Helper()
	return startTap(t, upstream, nil, nil, "")
}

// NewTLSTap starts a tap that clients reach with ldaps:// (trusting
// CAFile()) and that reaches upstream with TLS configured by back. It sees
// the plaintext in between.
func NewTLSTap(t testing.TB, upstream string, back *tls.Config) *Tap {
	t.Helper()
	cert, caFile := throwAwayCert(t)
	front := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	return startTap(t, upstream, front, back, caFile)
}

func startTap(t testing.TB, upstream string, front, back *tls.Config, caFile string) *Tap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("tap: %v", err)
	}
	tp := &Tap{t: t, ln: ln, upstream: upstream, front: front, back: back, caFile: caFile, open: map[net.Conn]struct{}{}}
	tp.wg.Add(1)
	go tp.accept()
	t.Cleanup(tp.close)
	return tp
}

// Addr is the tap's host:port.
func (tp *Tap) Addr() string { return tp.ln.Addr().String() }

// URL is ldap://ADDR for a plain tap, ldaps://ADDR for a TLS tap.
func (tp *Tap) URL() string {
	if tp.front != nil {
		return "ldaps://" + tp.Addr()
	}
	return "ldap://" + tp.Addr()
}

// CAFile is the PEM file a client must trust to reach a TLS tap.
func (tp *Tap) CAFile() string { return tp.caFile }

func (tp *Tap) accept() {
	defer tp.wg.Done()
	for {
		c, err := tp.ln.Accept()
		if err != nil {
			return
		}
		tp.wg.Add(1)
		go tp.serve(c)
	}
}

func (tp *Tap) track(c net.Conn) bool {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.open == nil {
		return false
	}
	tp.open[c] = struct{}{}
	return true
}

func (tp *Tap) serve(client net.Conn) {
	defer tp.wg.Done()
	if tp.front != nil {
		client = tls.Server(client, tp.front)
	}
	if !tp.track(client) {
		_ = client.Close()
		return
	}
	defer client.Close()
	var server net.Conn
	var err error
	d := net.Dialer{Timeout: 10 * time.Second}
	if tp.back != nil {
		server, err = tls.DialWithDialer(&d, "tcp", tp.upstream, tp.back)
	} else {
		server, err = d.Dial("tcp", tp.upstream)
	}
	if err != nil {
		tp.t.Logf("tap: dial %s: %v", tp.upstream, err)
		return
	}
	if !tp.track(server) {
		_ = server.Close()
		return
	}
	defer server.Close()
	tc := &tapConn{}
	tp.mu.Lock()
	tp.conns = append(tp.conns, tc)
	tp.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn, rec *bytes.Buffer) {
		buf := make([]byte, 32*1024)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				// Recorded before it is forwarded: once the client
				// has its answer, its request is in the record.
				tc.mu.Lock()
				rec.Write(buf[:n])
				tc.mu.Unlock()
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		// Unblock the other direction.
		_ = dst.Close()
		_ = src.Close()
		done <- struct{}{}
	}
	go pipe(server, client, &tc.sent)
	go pipe(client, server, &tc.received)
	<-done
	<-done
}

func (tp *Tap) close() {
	_ = tp.ln.Close()
	tp.mu.Lock()
	for c := range tp.open {
		_ = c.Close()
	}
	tp.open = nil
	tp.mu.Unlock()
	tp.wg.Wait()
}

// Connections is how many connections the tap has forwarded.
func (tp *Tap) Connections() int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return len(tp.conns)
}

// Bytes returns how many bytes crossed the tap, both directions.
func (tp *Tap) Bytes() int {
	n := 0
	for _, c := range tp.snapshot() {
		n += len(c.sent) + len(c.received)
	}
	return n
}

// Contains reports whether s crossed the tap in either direction.
func (tp *Tap) Contains(s string) bool {
	for _, c := range tp.snapshot() {
		if bytes.Contains(c.sent, []byte(s)) || bytes.Contains(c.received, []byte(s)) {
			return true
		}
	}
	return false
}

// Reset forgets everything recorded so far (connections stay open).
func (tp *Tap) Reset() {
	tp.mu.Lock()
	conns := tp.conns
	tp.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		c.sent.Reset()
		c.received.Reset()
		c.mu.Unlock()
	}
}

type recorded struct{ sent, received []byte }

func (tp *Tap) snapshot() []recorded {
	tp.mu.Lock()
	conns := append([]*tapConn(nil), tp.conns...)
	tp.mu.Unlock()
	out := make([]recorded, 0, len(conns))
	for _, c := range conns {
		c.mu.Lock()
		out = append(out, recorded{bytes.Clone(c.sent.Bytes()), bytes.Clone(c.received.Bytes())})
		c.mu.Unlock()
	}
	return out
}

// Request is one LDAP request a client sent through the tap.
type Request struct {
	// Op is bind, unbind, search, modify, add, delete, modrdn, compare,
	// abandon or extended.
	Op string
	// Base is a search's base DN ("" for the RootDSE).
	Base string
	// Entries is how many entries the server returned to a search (counted
	// from the answers on the same connection).
	Entries int
	// Attributes are the attributes a search asked for.
	Attributes []string
}

var opNames = map[ber.Tag]string{0: "bind", 2: "unbind", 3: "search", 6: "modify", 8: "add", 10: "delete",
	12: "modrdn", 14: "compare", 16: "abandon", 23: "extended"}

const startTLSOID = "1.3.6.1.4.1.1466.20037"

// Requests decodes the requests clients sent, connection by connection, in
// order. On a plain tap it stops reading a connection at StartTLS (what
// follows is encrypted).
func (tp *Tap) Requests() []Request {
	var out []Request
	for _, c := range tp.snapshot() {
		reqs := map[int64]int{} // message ID → index in out
		startTLS := int64(-1)
		r := bytes.NewReader(c.sent)
		for r.Len() > 0 {
			p, err := ber.ReadPacket(r)
			if err != nil || len(p.Children) < 2 {
				break
			}
			id, _ := p.Children[0].Value.(int64)
			op := p.Children[1]
			req := Request{Op: opNames[op.Tag]}
			if req.Op == "" {
				req.Op = "unknown"
			}
			if req.Op == "search" && len(op.Children) > 0 {
				req.Base, _ = op.Children[0].Value.(string)
			}
			if req.Op == "search" && len(op.Children) > 7 {
				for _, a := range op.Children[7].Children {
					req.Attributes = append(req.Attributes, a.Data.String())
				}
			}
			reqs[id] = len(out)
			out = append(out, req)
			if req.Op == "extended" && len(op.Children) > 0 && op.Children[0].Data.String() == startTLSOID {
				startTLS = id
				break
			}
		}
		// Count the search result entries (application tag 4) by ID.
		rr := bytes.NewReader(c.received)
		for rr.Len() > 0 {
			p, err := ber.ReadPacket(rr)
			if err != nil || len(p.Children) < 2 {
				break
			}
			id, _ := p.Children[0].Value.(int64)
			if i, ok := reqs[id]; ok && p.Children[1].Tag == 4 {
				out[i].Entries++
			}
			if id == startTLS {
				break // the rest is TLS
			}
		}
	}
	return out
}

// Ops returns the operation names of Requests.
func (tp *Tap) Ops() []string {
	var out []string
	for _, r := range tp.Requests() {
		out = append(out, r.Op)
	}
	return out
}

// throwAwayCert makes a self-signed certificate for 127.0.0.1 and writes it
// as the CA file clients trust.
func throwAwayCert(t testing.TB) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sspr test tap"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "tap-ca.pem")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, caFile
}

// Lookup is a connector that finds users and reads their status and policy.
type Lookup interface {
	directory.Directory
	directory.StatusReader
	directory.PolicyReader
}

// LookupRequests looks login up in d, reads its status and its policy the
// way a flow step does, twice: once to warm the pool and the policy cache,
// then with tap (which d reaches the server through) recording. It returns
// the requests of the second round, leaving out RootDSE reads (the pool's
// health probe of a connection idle for a while, which a loaded machine may
// cause), and checks both rounds agree.
func LookupRequests(t testing.TB, d Lookup, tap *Tap, login string) []Request {
	t.Helper()
	round := func() (*directory.User, *directory.AccountStatus, *directory.PasswordPolicy) {
		u := FindUser(t, d, login)
		st := Status(t, d, u)
		p, err := d.EffectivePolicy(Context(t), u)
		if err != nil {
			t.Fatalf("EffectivePolicy: %v", err)
		}
		return u, st, p
	}
	_, st1, p1 := round()
	tap.Reset()
	u, st2, p2 := round()
	reqs := tap.Requests()
	if st1.Locked != st2.Locked || st1.Disabled != st2.Disabled || st1.MustChange != st2.MustChange ||
		!st1.PasswordLastSet.Equal(st2.PasswordLastSet) || st1.Protected != st2.Protected || *p1 != *p2 {
		t.Errorf("the warm round differs from the cold one: status %+v / %+v, policy %+v / %+v", st1, st2, p1, p2)
	}
	t.Logf("status attributes read with the lookup: %v", u.StatusAttributes)
	var out []Request
	for _, r := range reqs {
		if r.Op == "search" && r.Base == "" {
			continue
		}
		out = append(out, r)
	}
	return out
}

// HostPort returns the host:port of an ldap:// or ldaps:// URL.
func HostPort(t testing.TB, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// TrustCA returns a TLS client configuration for a tap's own connection to
// a server on 127.0.0.1 whose certificate caFile signed.
func TrustCA(t testing.TB, caFile string) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", caFile)
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}
