package remote

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/directory"
)

// fakeDir is a directory with one user, alice, in memory.
type fakeDir struct {
	mu       sync.Mutex
	password string
	lastSet  time.Time
	resets   []string // which connector executed each reset
	who      string
	// onReset runs inside ResetPassword: before (true) or after (false)
	// the password is set, per beforeWrite.
	onReset     func()
	beforeWrite bool
}

func (f *fakeDir) Name() string { return "corp" }
func (f *fakeDir) Close() error { return nil }
func (f *fakeDir) FindUser(_ context.Context, login string) (*directory.User, error) {
	if login != "alice" {
		return nil, &directory.Error{Kind: directory.KindNotFound, Op: "search"}
	}
	return &directory.User{Directory: "corp", DN: "cn=alice,dc=example,dc=test", Login: "alice", Email: "alice@example.test",
		Attributes:       map[string][]string{"objectGUID": {binaryGUID}},
		StatusAttributes: map[string][]string{"x": {"y"}}}, nil
}
func (f *fakeDir) VerifyPassword(_ context.Context, _ *directory.User, pw string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if pw != f.password {
		return &directory.Error{Kind: directory.KindInvalidCredentials, Op: "bind"}
	}
	return nil
}
func (f *fakeDir) ResetPassword(_ context.Context, _ *directory.User, pw string) error {
	if len(pw) < 8 {
		return &directory.Error{Kind: directory.KindPolicyViolation, Reasons: []directory.Reason{directory.ReasonTooShort, directory.ReasonHistory}, MinLength: 8, Op: "reset", Diagnostic: "0000052D"}
	}
	f.mu.Lock()
	hook, before := f.onReset, f.beforeWrite
	f.onReset = nil
	if hook == nil || !before {
		f.password = pw
		f.lastSet = f.lastSet.Add(time.Minute)
		f.resets = append(f.resets, f.who)
	}
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	return nil
}
func (f *fakeDir) AccountStatus(context.Context, *directory.User) (*directory.AccountStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &directory.AccountStatus{PasswordLastSet: f.lastSet}, nil
}

// binaryGUID is a 16-byte objectGUID that is not UTF-8.
var binaryGUID = string([]byte{0xff, 0xfe, 0, 1, 0x80, 0x81, 0xc0, 0xc1, 0xf5, 0xf6, 0xf7, 0xf8, 0xfd, 0xfe, 0xff, 0})

// fakeCreds is the store's side: enrolled connectors and what was audited.
type fakeCreds struct {
	mu       sync.Mutex
	fail     error // the store's answer, when set
	enrolled map[string]Enrolled
	refused  []string
	dropped  []string
	accepted []string
}

func (c *fakeCreds) Connector(_ context.Context, name string) (Enrolled, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return Enrolled{}, false, c.fail
	}
	e, ok := c.enrolled[name]
	return e, ok, nil
}
func (c *fakeCreds) Connected(_ context.Context, name, _, _ string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.accepted = append(c.accepted, name)
}
func (c *fakeCreds) Refused(_ context.Context, name, _, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refused = append(c.refused, name+":"+reason)
}
func (c *fakeCreds) Dropped(_ context.Context, name, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropped = append(c.dropped, name+":"+reason)
}
func (c *fakeCreds) revoke(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.enrolled[name]
	e.Revoked = true
	c.enrolled[name] = e
}

type rig struct {
	t     *testing.T
	srv   *httptest.Server
	hub   *Hub
	dir   *Directory
	creds *fakeCreds
	keys  map[string]ed25519.PrivateKey
	roots *x509.CertPool
}

func newRig(t *testing.T, names ...string) *rig {
	t.Helper()
	r := &rig{t: t, creds: &fakeCreds{enrolled: map[string]Enrolled{}}, keys: map[string]ed25519.PrivateKey{}}
	for _, n := range names {
		pub, pemKey, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		if r.keys[n], err = ParseKey(pemKey); err != nil {
			t.Fatal(err)
		}
		r.creds.enrolled[n] = Enrolled{Directory: "corp", PublicKey: pub}
	}
	logger := slog.New(slog.DiscardHandler)
	r.dir = New(Config{Name: "corp", Wait: 200 * time.Millisecond, Timeout: 10 * time.Second, Log: logger})
	r.hub = &Hub{Creds: r.creds, Log: logger, Attributes: []string{"employeeID"}}
	r.hub.Add(r.dir)
	r.srv = httptest.NewUnstartedServer(r.hub)
	r.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	r.srv.StartTLS()
	t.Cleanup(r.srv.Close)
	r.roots = x509.NewCertPool()
	r.roots.AddCert(r.srv.Certificate())
	return r
}

// running is a connector started by a test.
type running struct {
	cancel context.CancelFunc
	done   chan error
	up     chan struct{}
	attrs  chan []string
}

func (r *rig) connect(name string, key ed25519.PrivateKey, dir *fakeDir) *running {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	run := &running{cancel: cancel, done: make(chan error, 1), up: make(chan struct{}, 8), attrs: make(chan []string, 8)}
	c := &Connector{Server: r.srv.URL, Name: name, Directory: "corp", Key: key,
		TLS:  &tls.Config{RootCAs: r.roots},
		Open: func(attrs []string) (directory.Directory, error) { run.attrs <- attrs; return dir, nil },
		Log:  slog.New(slog.DiscardHandler), MinBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		Connected: func() { run.up <- struct{}{} }}
	go func() { run.done <- c.Run(ctx) }()
	r.t.Cleanup(func() { cancel(); <-run.done })
	return run
}

// connected waits until the server has exactly these connectors.
func (r *rig) connected(want ...string) {
	r.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		got := r.dir.Connected()
		slices.Sort(got)
		if slices.Equal(got, want) {
			return
		}
	}
	r.t.Fatalf("connected: %v, want %v", r.dir.Connected(), want)
}

func TestCallsThroughConnector(t *testing.T) {
	r := newRig(t, "dc1")
	fd := &fakeDir{password: "old-password", who: "dc1"}
	run := r.connect("dc1", r.keys["dc1"], fd)
	r.connected("dc1")
	if got := <-run.attrs; !slices.Equal(got, []string{"employeeID"}) {
		t.Fatalf("welcome attributes %v", got)
	}
	ctx := context.Background()
	u, err := r.dir.FindUser(ctx, "alice")
	if err != nil || u.DN != "cn=alice,dc=example,dc=test" || u.Email != "alice@example.test" || u.Directory != "corp" {
		t.Fatalf("find: %+v %v", u, err)
	}
	// Binary attributes (sync maps people by objectGUID) arrive intact.
	if got := u.Attributes["objectGUID"]; len(got) != 1 || got[0] != binaryGUID {
		t.Fatalf("objectGUID %q, want %q", got, binaryGUID)
	}
	if _, err := r.dir.FindUser(ctx, "bob"); directory.KindOf(err) != directory.KindNotFound {
		t.Fatalf("unknown user: %v", err)
	}
	// A refusal keeps its kind, reasons and minimum length.
	err = r.dir.ResetPassword(ctx, u, "short")
	var de *directory.Error
	if !errors.As(err, &de) || de.Kind != directory.KindPolicyViolation || de.MinLength != 8 ||
		!slices.Equal(de.Reasons, []directory.Reason{directory.ReasonTooShort, directory.ReasonHistory}) {
		t.Fatalf("refused reset: %#v", err)
	}
	if err := r.dir.ResetPassword(ctx, u, "new-password-1"); err != nil {
		t.Fatal(err)
	}
	if err := r.dir.VerifyPassword(ctx, u, "new-password-1"); err != nil {
		t.Fatalf("bind with the new password: %v", err)
	}
	if err := r.dir.VerifyPassword(ctx, u, "old-password"); directory.KindOf(err) != directory.KindInvalidCredentials {
		t.Fatalf("bind with the old password: %v", err)
	}
	// What the far directory cannot do is unsupported, not a crash.
	if err := r.dir.Unlock(ctx, u); directory.KindOf(err) != directory.KindUnsupported {
		t.Fatalf("unlock: %v", err)
	}
	if rep := r.dir.Check(ctx); rep.OK() {
		t.Fatalf("check of a directory without a health check: %+v", rep)
	}
}

func TestNoConnectorIsDirectoryDown(t *testing.T) {
	r := newRig(t, "dc1")
	_, err := r.dir.FindUser(context.Background(), "alice")
	if directory.KindOf(err) != directory.KindUnavailable {
		t.Fatalf("no connector: %v, want unavailable", err)
	}
}

func TestFailoverToSecondConnector(t *testing.T) {
	r := newRig(t, "dc1", "dc2")
	fd1 := &fakeDir{password: "p", who: "dc1"}
	fd2 := &fakeDir{password: "p", who: "dc2"}
	run1 := r.connect("dc1", r.keys["dc1"], fd1)
	r.connect("dc2", r.keys["dc2"], fd2)
	r.connected("dc1", "dc2")
	ctx := context.Background()
	u, err := r.dir.FindUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	run1.cancel()
	<-run1.done
	run1.done <- nil // for the cleanup
	// Reads fail over at once, whether or not the server has noticed yet.
	for range 4 {
		if _, err := r.dir.FindUser(ctx, "alice"); err != nil {
			t.Fatalf("find after dc1 went away: %v", err)
		}
	}
	r.connected("dc2")
	if err := r.dir.ResetPassword(ctx, u, "after-failover"); err != nil {
		t.Fatal(err)
	}
	fd1.mu.Lock()
	defer fd1.mu.Unlock()
	fd2.mu.Lock()
	defer fd2.mu.Unlock()
	if len(fd1.resets) != 0 || !slices.Equal(fd2.resets, []string{"dc2"}) {
		t.Fatalf("resets dc1 %v dc2 %v", fd1.resets, fd2.resets)
	}
}

// A connector that dies after the write but before answering: the write
// is settled through the other connector (it happened) and not repeated.
func TestLostWriteSettledThroughAnotherConnector(t *testing.T) {
	for _, tc := range []struct {
		name        string
		beforeWrite bool
		noSecond    bool
		noLastSet   bool // a directory that keeps no password-last-set time
		wantErr     directory.Kind
		wantUnknown bool
	}{
		{"write happened", false, false, false, directory.KindUnknown, false},
		// An unchanged time proves nothing (the write may still be running
		// on the connector that went away): the flow keeps its intent and
		// the resolver settles it later.
		{"write did not happen", true, false, false, directory.KindUnavailable, true},
		{"no password-last-set time to compare", false, false, true, directory.KindUnavailable, true},
		// Nobody can tell: the same.
		{"no connector left to ask", false, true, false, directory.KindUnavailable, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, "dc1", "dc2")
			shared := &fakeDir{password: "p", who: "dc1"}
			if !tc.noLastSet {
				shared.lastSet = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			}
			run1 := r.connect("dc1", r.keys["dc1"], shared)
			r.connected("dc1")
			// dc2 serves the same directory (as two connectors next to one
			// AD do), but through its own fakeDir value sharing state.
			ctx := context.Background()
			u, err := r.dir.FindUser(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			shared.mu.Lock()
			shared.beforeWrite = tc.beforeWrite
			shared.onReset = func() {
				shared.mu.Lock()
				shared.who = "dc2"
				shared.mu.Unlock()
				if !tc.noSecond {
					r.connect("dc2", r.keys["dc2"], shared)
					for !slices.Contains(r.dir.Connected(), "dc2") {
						time.Sleep(time.Millisecond)
					}
				}
				run1.cancel() // dc1 dies before it answers ...
				// ... and the server has seen it die before any answer
				// could have left.
				for slices.Contains(r.dir.Connected(), "dc1") {
					time.Sleep(time.Millisecond)
				}
			}
			shared.mu.Unlock()
			err = r.dir.ResetPassword(ctx, u, "the-new-password")
			if directory.KindOf(err) != tc.wantErr || (tc.wantErr == directory.KindUnknown && err != nil) {
				t.Fatalf("reset: %v, want %v", err, tc.wantErr)
			}
			if directory.OutcomeUnknown(err) != tc.wantUnknown {
				t.Fatalf("reset: %v; outcome unknown %v, want %v", err, directory.OutcomeUnknown(err), tc.wantUnknown)
			}
			wantResets := []string{"dc1"}
			if tc.beforeWrite {
				wantResets = nil
			}
			shared.mu.Lock()
			defer shared.mu.Unlock()
			if !slices.Equal(shared.resets, wantResets) {
				t.Fatalf("resets %v, want %v (never repeated)", shared.resets, wantResets)
			}
		})
	}
}

func TestRefusedConnectors(t *testing.T) {
	r := newRig(t, "dc1", "revoked", "other-dir")
	r.creds.revoke("revoked")
	e := r.creds.enrolled["other-dir"]
	e.Directory = "elsewhere"
	r.creds.enrolled["other-dir"] = e
	_, wrongKey, _ := ed25519.GenerateKey(nil)
	for _, tc := range []struct {
		name   string
		key    ed25519.PrivateKey
		reason string
	}{
		{"dc1", wrongKey, "dc1:bad_signature"},
		// A name nobody enrolled is refused but only logged: the endpoint
		// faces the internet, and scanners must not fill the audit log.
		{"stranger", r.keys["dc1"], ""},
		{"revoked", r.keys["revoked"], "revoked:revoked"},
		{"other-dir", r.keys["other-dir"], "other-dir:wrong_directory"},
	} {
		run := r.connect(tc.name, tc.key, &fakeDir{})
		if err := <-run.done; !errors.Is(err, ErrRefused) {
			t.Fatalf("%s: %v, want refused", tc.name, err)
		}
		run.done <- nil
		r.creds.mu.Lock()
		refused := slices.Clone(r.creds.refused)
		r.creds.mu.Unlock()
		if tc.reason == "" {
			for _, x := range refused {
				if strings.HasPrefix(x, tc.name+":") {
					t.Fatalf("%s: audited %v, want no audit record", tc.name, refused)
				}
			}
		} else if !slices.Contains(refused, tc.reason) {
			t.Fatalf("%s: audited %v, want %q", tc.name, refused, tc.reason)
		}
	}
	if got := r.dir.Connected(); len(got) != 0 {
		t.Fatalf("connected: %v", got)
	}
}

func TestRevokedConnectorIsDropped(t *testing.T) {
	r := newRig(t, "dc1")
	r.hub.Recheck = 20 * time.Millisecond
	run := r.connect("dc1", r.keys["dc1"], &fakeDir{})
	r.connected("dc1")
	r.creds.revoke("dc1")
	// Dropped, and refused when it dials again.
	if err := <-run.done; !errors.Is(err, ErrRefused) {
		t.Fatalf("revoked connector: %v, want refused", err)
	}
	run.done <- nil
	r.connected()
	r.creds.mu.Lock()
	defer r.creds.mu.Unlock()
	if !slices.Equal(r.creds.dropped, []string{"dc1:revoked"}) || !slices.Contains(r.creds.refused, "dc1:revoked") {
		t.Fatalf("dropped %v refused %v", r.creds.dropped, r.creds.refused)
	}
}

func TestPinnedTLS(t *testing.T) {
	r := newRig(t, "dc1")
	good := Pin(r.srv.Certificate())
	cfg, err := PinnedTLS(good, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	up := make(chan struct{}, 1)
	c := &Connector{Server: r.srv.URL, Name: "dc1", Directory: "corp", Key: r.keys["dc1"], TLS: cfg,
		Open: func([]string) (directory.Directory, error) { return &fakeDir{}, nil }, Log: slog.New(slog.DiscardHandler),
		Connected: func() { up <- struct{}{}; cancel() }}
	if err := c.Run(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-up:
	default:
		t.Fatal("a pinned server was not accepted")
	}
	bad, _ := PinnedTLS("sha256/"+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", nil)
	c.TLS, c.Connected = bad, func() { t.Error("connected to a server that does not match the pin") }
	if _, err := c.serveOnce(context.Background()); err == nil {
		t.Fatal("a server that does not match the pin was accepted")
	}
	if err := ParsePin("sha1/abc"); err == nil {
		t.Fatal("a malformed pin was accepted")
	}
}

func TestEndpointNeedsHTTPS(t *testing.T) {
	if _, err := endpoint("http://sspr.example.test"); err == nil {
		t.Fatal("plain http accepted")
	}
	got, err := endpoint("https://sspr.example.test/base/")
	if err != nil || got != "wss://sspr.example.test/base/connector/v1" {
		t.Fatalf("%q %v", got, err)
	}
}

// A process without a hub (a CLI command) does not wait for connectors
// that can never reach it.
func TestDirectoryWithoutHub(t *testing.T) {
	d := New(Config{Name: "corp", Wait: time.Hour, Log: slog.New(slog.DiscardHandler)})
	if _, err := d.FindUser(context.Background(), "alice"); directory.KindOf(err) != directory.KindUnavailable {
		t.Fatalf("find: %v", err)
	}
	rep := d.Check(context.Background())
	if len(rep.Findings) != 1 || rep.Findings[0].ID != "connector.elsewhere" {
		t.Fatalf("check: %+v", rep)
	}
}

// A store that does not answer is the server's problem: the connector is
// not refused, it dials again and gets in once the store is back.
func TestStoreFailureIsNotARefusal(t *testing.T) {
	r := newRig(t, "dc1")
	r.creds.mu.Lock()
	r.creds.fail = errors.New("database is locked")
	r.creds.mu.Unlock()
	run := r.connect("dc1", r.keys["dc1"], &fakeDir{})
	// Let it fail a few dials (backoff 20-50ms) before the store is back.
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-run.done:
		t.Fatalf("the connector gave up: %v", err)
	default:
	}
	r.creds.mu.Lock()
	r.creds.fail = nil
	refused := len(r.creds.refused)
	r.creds.mu.Unlock()
	if refused != 0 {
		t.Fatalf("a store failure was audited as a refusal")
	}
	r.connected("dc1")
}

// A stranger cannot hold more than a few unauthenticated connections from
// one address, nor send large messages before proving who it is.
func TestHandshakesAreBounded(t *testing.T) {
	h := &Hub{}
	for i := range maxHandshakesPerAddress {
		if !h.beginHandshake("192.0.2.1") {
			t.Fatalf("handshake %d from one address refused", i+1)
		}
	}
	if h.beginHandshake("192.0.2.1") {
		t.Fatalf("handshake %d from one address accepted", maxHandshakesPerAddress+1)
	}
	if !h.beginHandshake("192.0.2.2") {
		t.Fatal("another address was refused")
	}
	h.endHandshake("192.0.2.1")
	if !h.beginHandshake("192.0.2.1") {
		t.Fatal("a slot given back was not reusable")
	}
	for i := 0; h.beginHandshake(fmt.Sprintf("198.51.100.%d", i)); i++ {
		if i > maxHandshakes {
			t.Fatal("no bound on handshakes in all")
		}
	}
}
