package forward

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/testenv/testclock"
)

func readLines(t *testing.T, path string) []string {
	t.Helper()
	fh, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []string
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// testCA writes a CA and a server certificate for 127.0.0.1 to dir and
// returns a client TLS config trusting the CA.
func testCA(t *testing.T, dir string) *tls.Config {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sspr test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", "CERTIFICATE", caDER)
	write("cert.pem", "CERTIFICATE", der)
	write("key.pem", "PRIVATE KEY", keyDER)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// rsyslog is Debian's rsyslogd, run by a test on loopback with its own
// config and PID file, writing what it receives over TLS to a file.
type rsyslog struct {
	t       *testing.T
	dir     string
	port    int
	out     string
	cmd     *exec.Cmd
	pidFile string
}

func newRsyslog(t *testing.T) *rsyslog {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/rsyslogd"); err != nil {
			msg := "rsyslogd not installed (run scripts/testenv/rsyslog.sh)"
			if os.Getenv("SSPR_TEST_REQUIRE_INTEGRATION") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	_ = bin
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	r := &rsyslog{t: t, dir: dir, port: port, out: filepath.Join(dir, "received.log"), pidFile: filepath.Join(dir, "rsyslogd.pid")}
	// What rsyslog parsed out of each message (protocol version, MSGID,
	// APP-NAME, structured data) and the message as received, one line
	// each: a framing error would split or glue messages.
	conf := `global(workDirectory="` + dir + `"
  defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCAFile="` + dir + `/ca.pem"
  defaultNetstreamDriverCertFile="` + dir + `/cert.pem"
  defaultNetstreamDriverKeyFile="` + dir + `/key.pem")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
template(name="parsed" type="string" string="%protocol-version%|%msgid%|%app-name%|%hostname%|%pri%|%structured-data%|%rawmsg%\n")
input(type="imtcp" address="127.0.0.1" port="` + strconv.Itoa(port) + `")
*.* action(type="omfile" file="` + r.out + `" template="parsed")
`
	if err := os.WriteFile(filepath.Join(dir, "rsyslog.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rsyslog) start() {
	r.t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		bin = "/usr/sbin/rsyslogd"
	}
	r.cmd = exec.Command(bin, "-n", "-f", filepath.Join(r.dir, "rsyslog.conf"), "-i", r.pidFile)
	r.cmd.Stdout, r.cmd.Stderr = os.Stderr, os.Stderr
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(r.stop)
	// Wait until it listens (bounded: it starts in well under a second).
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(r.port), time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		if i == 300 {
			r.t.Fatalf("rsyslogd does not listen on %d: %v", r.port, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends the rsyslogd this test started, by its PID, and waits for it
// (it flushes its output file on the way out).
func (r *rsyslog) stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	_ = r.cmd.Wait()
	r.cmd = nil
}

// TestSyslogTLSToRsyslog: audit events reach Debian's rsyslog over TLS as
// RFC 5424 messages in RFC 5425 octet-counted frames, which rsyslog parses
// as such; while the collector is down the events wait, and none is lost
// or doubled once it is up.
func TestSyslogTLSToRsyslog(t *testing.T) {
	r := newRsyslog(t)
	tlsConf := testCA(t, r.dir)
	s := openStore(t)
	clock := testclock.New(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	sink := &Syslog{ID: "siem", Address: "127.0.0.1:" + strconv.Itoa(r.port), TLS: tlsConf, Hostname: "sspr-test", Facility: Facilities["authpriv"]}
	f := &Forwarder{Store: s, Now: clock.Now, InitialBackoff: time.Minute, Routes: []Route{{Sink: sink}}}
	ctx := context.Background()
	if _, err := f.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, s, clock.Now(),
		audit.Event{Event: "reset.done", Actor: "alice", Subject: "uid=alice,ou=people,dc=example,dc=test", ClientIP: "192.0.2.7", Outcome: audit.Success},
		audit.Event{Event: "reset.verify", Actor: `mallory"] [x`, Outcome: audit.Denied, Reason: "too_many_attempts"},
	)
	// The collector is down: nothing delivered, nothing lost.
	if n, _ := f.RunOnce(ctx); n != 0 {
		t.Fatalf("delivered %d to a collector that is down", n)
	}
	r.start()
	clock.Advance(2 * time.Minute)
	if n, err := f.RunOnce(ctx); n != 2 || err != nil {
		t.Fatalf("delivered %d, %v; want 2", n, err)
	}
	appendEvents(t, s, clock.Now(), audit.Event{Event: "unlock.done", Actor: "bob", Outcome: audit.Success})
	if n, err := f.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("on the kept connection: delivered %d, %v; want 1", n, err)
	}
	_ = sink.Close()
	// rsyslog writes what it received in its own time: wait (bounded) for
	// three lines, or for more than three to show up as a failure.
	var lines []string
	for i := 0; i < 600; i++ {
		if lines = readLines(t, r.out); len(lines) >= 3 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.stop()
	lines = readLines(t, r.out)
	if len(lines) != 3 {
		t.Fatalf("rsyslog wrote %d lines, want 3:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	wantMsgID := []string{"reset.done", "reset.verify", "unlock.done"}
	wantPri := []string{"86", "85", "86"} // authpriv (10) * 8 + info (6) / notice (5)
	wantAt := []string{"09:00:00.000Z", "09:00:00.000Z", "09:02:00.000Z"}
	for i, l := range lines {
		parts := strings.SplitN(l, "|", 7)
		if len(parts) != 7 {
			t.Fatalf("line %d: %q", i, l)
		}
		if parts[0] != "1" || parts[1] != wantMsgID[i] || parts[2] != "sspr" || parts[3] != "sspr-test" || parts[4] != wantPri[i] {
			t.Errorf("line %d: rsyslog parsed version %q msgid %q app %q host %q pri %q; want an RFC 5424 message for %s",
				i, parts[0], parts[1], parts[2], parts[3], parts[4], wantMsgID[i])
		}
		if !strings.HasPrefix(parts[5], "[sspr@32473 id=") {
			t.Errorf("line %d: structured data %q", i, parts[5])
		}
		if !strings.HasPrefix(parts[6], "<"+wantPri[i]+">1 2026-12-07T"+wantAt[i]+" sspr-test sspr - "+wantMsgID[i]+" [sspr@32473 ") {
			t.Errorf("line %d: raw message %q", i, parts[6])
		}
	}
	if !strings.Contains(lines[1], `actor="mallory\"\] [x"`) {
		t.Errorf("the quote and bracket in a value were not escaped: %s", lines[1])
	}
}
