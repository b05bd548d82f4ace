package rsyslogtest

import (
	"bufio"
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
	"syscall"
	"testing"
	"time"
)

// Format is what the output file holds per message, fields separated by
// "|": what rsyslog parsed (protocol version, MSGID, APP-NAME, HOSTNAME,
// PRI, structured data) and the message as received.
const Format = "%protocol-version%|%msgid%|%app-name%|%hostname%|%pri%|%structured-data%|%rawmsg%\\n"

// Rsyslog is one rsyslogd of a test.
type Rsyslog struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
	// Out is the file rsyslog writes to; CAFile the CA its certificate
	// (for 127.0.0.1) is signed by.
	Out, CAFile string
	pool        *x509.CertPool
}

// New prepares an rsyslogd (not started) with a fresh CA and certificate,
// on a free loopback port.
func New(t testing.TB) *Rsyslog {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/rsyslogd"); serr != nil {
			msg := "rsyslogd not installed (run scripts/testenv/rsyslog.sh)"
			if os.Getenv("SSPR_TEST_REQUIRE_INTEGRATION") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		bin = "/usr/sbin/rsyslogd"
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	r := &Rsyslog{t: t, bin: bin, dir: dir, port: port, Out: filepath.Join(dir, "received.log"), CAFile: filepath.Join(dir, "ca.pem")}
	r.pool = writeCerts(t, dir)
	conf := `global(workDirectory="` + dir + `"
  defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCAFile="` + dir + `/ca.pem"
  defaultNetstreamDriverCertFile="` + dir + `/cert.pem"
  defaultNetstreamDriverKeyFile="` + dir + `/key.pem")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
template(name="parsed" type="string" string="` + Format + `")
input(type="imtcp" address="127.0.0.1" port="` + strconv.Itoa(port) + `")
*.* action(type="omfile" file="` + r.Out + `" template="parsed")
`
	if err := os.WriteFile(filepath.Join(dir, "rsyslog.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// Addr is where it listens (once started).
func (r *Rsyslog) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// ClientTLS trusts its certificate.
func (r *Rsyslog) ClientTLS() *tls.Config {
	return &tls.Config{RootCAs: r.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// Start runs rsyslogd in the foreground (its own PID file) and waits,
// bounded, until it listens.
func (r *Rsyslog) Start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "-n", "-f", filepath.Join(r.dir, "rsyslog.conf"), "-i", filepath.Join(r.dir, "rsyslogd.pid"))
	r.cmd.Stdout, r.cmd.Stderr = os.Stderr, os.Stderr
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", r.Addr(), time.Second)
		if err == nil {
			// A TLS handshake, so rsyslog does not log a broken one.
			tc := tls.Client(c, r.ClientTLS())
			_ = tc.Handshake()
			_ = tc.Close()
			return
		}
		if i == 300 {
			r.t.Fatalf("rsyslogd does not listen on %s: %v", r.Addr(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop ends the rsyslogd this test started, by its PID, and waits for it.
func (r *Rsyslog) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	_ = r.cmd.Wait()
	r.cmd = nil
}

// Lines reads the output file.
func (r *Rsyslog) Lines() []string {
	r.t.Helper()
	fh, err := os.Open(r.Out)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		r.t.Fatal(err)
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

// WaitLines waits (bounded: rsyslog writes in its own time) until the
// output has at least n lines, and returns them all.
func (r *Rsyslog) WaitLines(n int) []string {
	r.t.Helper()
	var lines []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if lines = r.Lines(); len(lines) >= n {
			break
		}
	}
	return lines
}

// writeCerts writes a CA and a server certificate for 127.0.0.1 to dir.
func writeCerts(t testing.TB, dir string) *x509.CertPool {
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
	return pool
}
