package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/directory/demo"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/mailsink"
	"github.com/sspr/sspr/internal/store/storetest"
)

// instance is one running sspr.
type instance struct {
	URL  string
	App  *app.App
	Sink *mailsink.Sink
	// sinkAddr stays fixed so a test can stop and restart the SMTP server.
	sinkAddr string
	// stop shuts the instance down (also done at the end of the test).
	stop func()
	// clock is the instance's clock: real time, which a test may move
	// forward (Advance) instead of waiting out a window.
	clock *offsetClock
}

// offsetClock is the real time plus an offset a test can add to.
type offsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *offsetClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// directoryYAML renders a connector configuration as a config file entry.
func directoryYAML(kind string, c ldapdir.Config, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %q\n    type: %s\n    urls: [%s]\n", c.Name, kind, quoteAll(c.URLs))
	fmt.Fprintf(&b, "    start_tls: %v\n    bind_dn: %q\n    bind_password: %q\n    base_dn: %q\n", c.StartTLS, c.BindDN, c.BindPassword, c.BaseDN)
	if c.CAFile != "" {
		fmt.Fprintf(&b, "    ca_file: %q\n", c.CAFile)
	}
	if c.AllowInsecurePasswordWrites {
		b.WriteString("    allow_insecure_password_writes: true\n")
	}
	b.WriteString(extra)
	return b.String()
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// start runs sspr with the given directories (YAML list entries) through the
// real configuration loader, a real listener and a real SMTP server.
func start(t *testing.T, directoriesYAML string, extraYAML string) *instance {
	t.Helper()
	return startWithDB(t, filepath.Join(t.TempDir(), "sspr.db"), directoriesYAML, extraYAML)
}

// startWithDB is start with a given database file, so a test can stop an
// instance and start another on the same data (a restart).
func startWithDB(t *testing.T, dbPath, directoriesYAML string, extraYAML string) *instance {
	t.Helper()
	return startTuned(t, dbPath, directoriesYAML, extraYAML, nil)
}

// startTuned is startWithDB with tune run on the app before it serves, for
// settings no configuration key reaches.
func startTuned(t *testing.T, dbPath, directoriesYAML string, extraYAML string, tune func(*app.App)) *instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// localhost, not 127.0.0.1: browsers allow passkeys over plain http
	// only on localhost.
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return startOn(t, ln, "http://localhost:"+port, "", dbPath, directoriesYAML, extraYAML, tune)
}

// startServing is startTuned with more keys of the server section
// (serverYAML: lines indented by two spaces).
func startServing(t *testing.T, dbPath, serverYAML, directoriesYAML string, extraYAML string, tune func(*app.App)) *instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return startOn(t, ln, "http://localhost:"+port, serverYAML, dbPath, directoriesYAML, extraYAML, tune)
}

// startOn is startTuned on a listener the caller made (so its URL is
// known before sspr starts), with base URL baseURL and serverYAML added
// to the server section (e.g. tls_cert_file, trusted_proxies).
func startOn(t *testing.T, ln net.Listener, baseURL, serverYAML, dbPath, directoriesYAML string, extraYAML string, tune func(*app.App)) *instance {
	t.Helper()
	sink, err := mailsink.Start("127.0.0.1:0", mailsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	inst := &instance{Sink: sink, sinkAddr: sink.Addr(), clock: &offsetClock{}}
	t.Cleanup(func() { inst.Sink.Close() })
	_, smtpPort, _ := net.SplitHostPort(sink.Addr())
	inst.URL = baseURL
	yaml := fmt.Sprintf(`
server:
  listen: %q
  base_url: %q
%s
storage:
  %s
secrets:
  hmac_key: "`+e2eHMACKey+`"
directories:
%s
mail:
  from: "Password reset <noreply@example.test>"
  smtp:
    host: 127.0.0.1
    port: %s
    security: none
    timeout: 5s
  outbox:
    poll_interval: 200ms
    initial_backoff: 200ms
    max_backoff: 1s
reset:
  identify_min_duration: 150ms
portal:
  title: "Example Corp"
  help_desk:
    email: helpdesk@example.test
log:
  level: warn
%s`, ln.Addr().String(), inst.URL, serverYAML, storageYAML(t, dbPath), directoriesYAML, smtpPort, extraYAML)
	cfg, err := config.Parse([]byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, log, app.Options{Now: inst.clock.Now})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if tune != nil {
		tune(a)
	}
	inst.App = a
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, ln) }()
	stopped := false
	inst.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
		a.Close()
	}
	t.Cleanup(inst.stop)
	return inst
}

// e2eHMACKey is every instance's secrets.hmac_key.
const e2eHMACKey = "c3Nwci1lMmUtdGVzdC1rZXktdGhhdC1pcy1sb25nLWVub3VnaA=="

// pgForPath maps a test's SQLite path to the PostgreSQL database that
// stands in for it when SSPR_TEST_E2E_STORE=postgres, so a test that
// restarts sspr on the same path finds its data again.
var pgForPath sync.Map

// storageYAML is the storage section's keys for db: a PostgreSQL
// connection URL (from storetest.NewDatabase) or a SQLite file path. With
// SSPR_TEST_E2E_STORE=postgres every SQLite path becomes a PostgreSQL
// database of its own, so the whole suite runs on PostgreSQL.
func storageYAML(t *testing.T, db string) string {
	if os.Getenv("SSPR_TEST_E2E_STORE") == "postgres" && !strings.HasPrefix(db, "postgres://") {
		dsn, ok := pgForPath.Load(db)
		if !ok {
			dsn, _ = pgForPath.LoadOrStore(db, storetest.NewDatabase(t))
		}
		db = dsn.(string)
	}
	if strings.HasPrefix(db, "postgres://") {
		return fmt.Sprintf("driver: postgres\n  dsn: %q", db)
	}
	return fmt.Sprintf("path: %q", db)
}

// startDemoDirectory starts the embedded directory and returns its YAML entry.
func startDemoDirectory(t *testing.T) string {
	t.Helper()
	srv, err := demo.Start(context.Background(), demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c := ldapdir.Config{Name: "demo", URLs: []string{srv.URL()}, BindDN: srv.ServiceDN(), BindPassword: srv.ServicePassword(),
		BaseDN: srv.BaseDN(), AllowInsecurePasswordWrites: true}
	return directoryYAML("openldap", c, "    password_write: modify\n    password_policy_dn: "+demo.PolicyDN+"\n")
}

var codeRE = regexp.MustCompile(`(?m)^\s+(\d{6,10})\s*$`)

// waitCode waits for a code mail to rcpt that arrived after `after` mails
// and returns the code.
func (in *instance) waitCode(t *testing.T, rcpt string, after int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	seen := 0
	m, err := in.Sink.WaitFor(ctx, func(m mailsink.Message) bool {
		if !strings.EqualFold(strings.Join(m.To, ","), rcpt) || !codeRE.MatchString(m.TextBody) {
			return false
		}
		seen++
		return seen > after
	})
	if err != nil {
		t.Fatalf("no code mail to %s: %v (have %d messages)", rcpt, err, len(in.Sink.Messages()))
	}
	return codeRE.FindStringSubmatch(m.TextBody)[1]
}

// mailsTo counts the messages delivered to rcpt.
func (in *instance) mailsTo(rcpt string) int { return in.countMails(rcpt, false) }

// codeMailsTo counts the code mails delivered to rcpt.
func (in *instance) codeMailsTo(rcpt string) int { return in.countMails(rcpt, true) }

func (in *instance) countMails(rcpt string, codesOnly bool) int {
	n := 0
	for _, m := range in.Sink.Messages() {
		if strings.EqualFold(strings.Join(m.To, ","), rcpt) && (!codesOnly || codeRE.MatchString(m.TextBody)) {
			n++
		}
	}
	return n
}

// apiCall posts JSON and decodes the answer.
func apiCall(t *testing.T, base, path string, body any, lang string) (int, map[string]any, http.Header, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out, resp.Header, raw
}

// browser is a cookie-keeping HTTP client that does not follow redirects,
// so each step's own answer can be inspected.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	Status   int
	Header   http.Header
	Body     string
	Location string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	req.Header.Set("Accept-Language", "en")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{Status: resp.StatusCode, Header: resp.Header, Body: string(raw), Location: resp.Header.Get("Location")}
}

func (b *browser) get(path string) page {
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

// post submits a form the way a browser on the portal's own origin would.
func (b *browser) post(path string, form url.Values) page {
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}
