package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/mailsink"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// The outbound-only connector, as it is deployed: sspr runs "in the cloud"
// (here: the host), the connector runs in its own network namespace ("the
// office") whose firewall drops every new inbound connection and which
// listens on nothing, next to the Samba AD. The connector dials out to the
// server over TLS; resets go through it; killed, a second connector takes
// over; a wrong key and a revoked connector are refused.
//
//	host (sspr server, test)                 netns sspr-cN (connector)
//	127.0.0.1:636 Samba AD                   iptables INPUT: NEW -> DROP
//	10.86.X.1 veth  <--------------------->  10.86.X.2 veth
//	  :P  sspr (TLS, /connector/v1)          dc1.example.test = 10.86.X.1
//	  :R  TCP relay -> 127.0.0.1:636          (/etc/netns/sspr-cN/hosts)
//
// The shared Samba listens on loopback only and must not be restarted, so
// the test relays its LDAPS port to the veth address (a plain TCP relay in
// the test process: TLS stays end to end between the connector and Samba,
// whose certificate names dc1.example.test).
func TestConnectorInNetworkNamespace(t *testing.T) {
	cfgAD := dirtest.ADConfig(t)
	problem := ""
	switch {
	case os.Getuid() != 0:
		problem = "the connector test needs root (network namespaces)"
	default:
		for _, tool := range []string{"ip", "iptables", "ss"} {
			if _, err := exec.LookPath(tool); err != nil {
				problem = tool + " is missing (iproute2, iptables)"
			}
		}
	}
	if problem != "" {
		if os.Getenv(dirtest.RequireEnv) == "1" {
			t.Fatal(problem)
		}
		t.Skip(problem)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "sspr")
	build := exec.Command("go", "build", "-o", bin, "./cmd/sspr")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building sspr: %v\n%s", err, out)
	}

	lab := newConnectorLab(t)
	relay := lab.relay(t, "127.0.0.1:636")

	// The server: plain http on loopback for the test's API calls, TLS on
	// the veth address for connectors.
	srv := startConnectorServer(t, dir, lab.hostIP)
	cli := func(args ...string) (string, error) {
		out, err := exec.Command(bin, append(args, "--config", srv.configPath)...).CombinedOutput()
		return string(out), err
	}
	for _, name := range []string{"dc1", "dc2", "spare", "gone"} {
		if out, err := cli("connectors", "add", name, "--directory", "corp", "--key-out", filepath.Join(dir, name+".key")); err != nil {
			t.Fatalf("connectors add %s: %v\n%s", name, err, out)
		}
	}
	if out, err := cli("connectors", "revoke", "gone"); err != nil {
		t.Fatalf("connectors revoke gone: %v\n%s", err, out)
	}
	pin, err := cli("connectors", "pin", srv.certPath)
	if err != nil {
		t.Fatalf("connectors pin: %v\n%s", err, pin)
	}

	// connector writes a connector's file: dc1 pins the server's key,
	// the others trust its certificate as a CA.
	connectorFile := func(file, name, key string, pinned bool) string {
		trust := "server_ca_file: " + srv.certPath
		if pinned {
			trust = "server_pin: " + strings.TrimSpace(pin)
		}
		path := filepath.Join(dir, file+".yaml")
		yaml := fmt.Sprintf(`server: %s
name: %s
key_file: %s
%s
directory:
  name: corp
  type: ad
  urls: ["ldaps://dc1.example.test:%d"]
  ca_file: %q
  bind_dn: %q
  bind_password: %q
  base_dn: %q
log:
  level: info
`, srv.connectorURL, name, filepath.Join(dir, key+".key"), trust, relay, cfgAD.CAFile, cfgAD.BindDN, cfgAD.BindPassword, cfgAD.BaseDN)
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	dc1 := lab.start(t, bin, connectorFile("dc1", "dc1", "dc1", true), filepath.Join(dir, "dc1.log"))
	srv.waitConnected(t, "dc1")

	t.Run("the connector's network takes no inbound connection", func(t *testing.T) {
		if out, err := lab.ns("ss", "-Hltnu"); err != nil || strings.TrimSpace(string(out)) != "" {
			t.Fatalf("something listens in the connector's namespace: %v\n%s", err, out)
		}
		// A connection attempt into the namespace is dropped, not refused:
		// the firewall, not the absence of a listener, answers it.
		d := net.Dialer{Timeout: 2 * time.Second}
		_, err := d.Dial("tcp", net.JoinHostPort(lab.nsIP, "22"))
		var ne net.Error
		if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("dialling into the namespace: %v, want a time-out (dropped)", err)
		}
	})

	refused := map[string]string{"Ab1": "at least 7 characters"}
	t.Run("a reset through the connector", func(t *testing.T) {
		u := dirtest.CreateADUser(t, "Initial-Pass-1")
		apiReset(t, srv.instance, u.Login, u.Mail, refused, "Through-Conn-Pass-2")
		proveReset(t, cfgAD, u.Login, u.Password, "Through-Conn-Pass-2")
	})

	dc2 := lab.start(t, bin, connectorFile("dc2", "dc2", "dc2", false), filepath.Join(dir, "dc2.log"))
	srv.waitConnected(t, "dc1", "dc2")

	t.Run("connector 1 killed, connector 2 takes over", func(t *testing.T) {
		dc1.kill(t)
		srv.waitConnected(t, "dc2")
		u := dirtest.CreateADUser(t, "Initial-Pass-1")
		apiReset(t, srv.instance, u.Login, u.Mail, nil, "After-Failover-Pass-3")
		proveReset(t, cfgAD, u.Login, u.Password, "After-Failover-Pass-3")
	})

	t.Run("a wrong key and a revoked connector are refused", func(t *testing.T) {
		// spare's key under dc1's name: the signature does not verify.
		wrong := lab.start(t, bin, connectorFile("wrong", "dc1", "spare", false), filepath.Join(dir, "wrong.log"))
		revoked := lab.start(t, bin, connectorFile("gone", "gone", "gone", false), filepath.Join(dir, "gone.log"))
		for _, c := range []*nsProcess{wrong, revoked} {
			if err := c.wait(t, time.Minute); err == nil || !strings.Contains(c.output(), "refused") {
				t.Fatalf("%s: exit %v, want refused:\n%s", c.name, err, c.output())
			}
		}
		out, err := cli("audit", "export")
		if err != nil {
			t.Fatalf("audit export: %v\n%s", err, out)
		}
		for _, want := range []string{`"actor":"dc1"`, `"actor":"gone"`} {
			found := false
			for _, line := range strings.Split(out, "\n") {
				found = found || (strings.Contains(line, `"event":"connector.connected"`) && strings.Contains(line, `"outcome":"denied"`) && strings.Contains(line, want))
			}
			if !found {
				t.Errorf("no audited refusal with %s:\n%s", want, out)
			}
		}
		if got := srv.app.ConnectorsConnected("corp"); !slices.Equal(got, []string{"dc2"}) {
			t.Fatalf("connected: %v, want only dc2", got)
		}
	})

	t.Run("revoking a live connector drops it", func(t *testing.T) {
		if out, err := cli("connectors", "revoke", "dc2"); err != nil {
			t.Fatalf("connectors revoke dc2: %v\n%s", err, out)
		}
		if err := dc2.wait(t, time.Minute); err == nil || !strings.Contains(dc2.output(), "refused") {
			t.Fatalf("dc2 after revocation: exit %v\n%s", err, dc2.output())
		}
		srv.waitConnected(t)
	})
}

// connectorLab is the connector's network namespace.
type connectorLab struct {
	name, hostIP, nsIP string
}

func newConnectorLab(t *testing.T) *connectorLab {
	t.Helper()
	pid := os.Getpid()
	x := pid%200 + 20
	l := &connectorLab{name: fmt.Sprintf("sspr-c%d", pid), hostIP: fmt.Sprintf("10.86.%d.1", x), nsIP: fmt.Sprintf("10.86.%d.2", x)}
	vh, vn := fmt.Sprintf("sspc%dh", pid), fmt.Sprintf("sspc%dn", pid)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	etc := "/etc/netns/" + l.name
	t.Cleanup(func() {
		_ = exec.Command("ip", "netns", "del", l.name).Run()
		_ = exec.Command("ip", "link", "del", vh).Run()
		_ = os.RemoveAll(etc)
		_ = os.Remove("/etc/netns") // only when empty
	})
	run("ip", "netns", "add", l.name)
	run("ip", "link", "add", vh, "type", "veth", "peer", "name", vn)
	run("ip", "link", "set", vn, "netns", l.name)
	run("ip", "addr", "add", l.hostIP+"/30", "dev", vh)
	run("ip", "link", "set", vh, "up")
	run("ip", "-n", l.name, "addr", "add", l.nsIP+"/30", "dev", vn)
	run("ip", "-n", l.name, "link", "set", vn, "up")
	run("ip", "-n", l.name, "link", "set", "lo", "up")
	// No inbound: only replies to what the namespace itself opened.
	run("ip", "netns", "exec", l.name, "iptables", "-A", "INPUT", "-i", "lo", "-j", "ACCEPT")
	run("ip", "netns", "exec", l.name, "iptables", "-A", "INPUT", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")
	run("ip", "netns", "exec", l.name, "iptables", "-P", "INPUT", "DROP")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	hosts := fmt.Sprintf("127.0.0.1 localhost\n%s dc1.example.test sspr.example.test\n", l.hostIP)
	if err := os.WriteFile(filepath.Join(etc, "hosts"), []byte(hosts), 0o644); err != nil {
		t.Fatal(err)
	}
	return l
}

// ns runs a command in the namespace.
func (l *connectorLab) ns(args ...string) ([]byte, error) {
	return exec.Command("ip", append([]string{"netns", "exec", l.name}, args...)...).CombinedOutput()
}

// relay forwards connections to the host address's port it returns to
// target (Samba's LDAPS on loopback), until the test ends.
func (l *connectorLab) relay(t *testing.T, target string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(l.hostIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				up, err := net.DialTimeout("tcp", target, 5*time.Second)
				if err != nil {
					return
				}
				defer up.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
				<-done
			})
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// nsProcess is a connector running in the namespace.
type nsProcess struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan error
}

// start runs `sspr connector` in the namespace; ip netns exec execs it,
// so the PID is the connector's.
func (l *connectorLab) start(t *testing.T, bin, config, logPath string) *nsProcess {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", l.name, bin, "connector", "--config", config)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &nsProcess{name: filepath.Base(config), cmd: cmd, log: logPath, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); f.Close() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("%s:\n%s", p.name, p.output())
		}
	})
	return p
}

func (p *nsProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
	p.done <- errors.New("killed")
}

func (p *nsProcess) wait(t *testing.T, limit time.Duration) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(limit):
		t.Fatalf("%s still runs after %v:\n%s", p.name, limit, p.output())
	}
	return nil
}

func (p *nsProcess) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// connectorServer is an sspr instance with a directory of type connector.
type connectorServer struct {
	*instance
	app                  *app.App
	configPath, certPath string
	connectorURL         string
}

func startConnectorServer(t *testing.T, dir, hostIP string) *connectorServer {
	t.Helper()
	sink, err := mailsink.Start("127.0.0.1:0", mailsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	_, smtpPort, _ := net.SplitHostPort(sink.Addr())
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", net.JoinHostPort(hostIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	cert, certPath := selfSigned(t, dir, hostIP)
	secure := tls.NewListener(tcp, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	s := &connectorServer{instance: &instance{Sink: sink, sinkAddr: sink.Addr()}, certPath: certPath,
		configPath: filepath.Join(dir, "sspr.yaml"), connectorURL: "https://" + tcp.Addr().String()}
	_, port, _ := net.SplitHostPort(plain.Addr().String())
	s.URL = "http://localhost:" + port
	yaml := fmt.Sprintf(`
server:
  listen: %q
  base_url: %q
storage:
  path: %q
secrets:
  hmac_key: "c3Nwci1lMmUtdGVzdC1rZXktdGhhdC1pcy1sb25nLWVub3VnaA=="
directories:
  - name: corp
    type: connector
    domains: [EXAMPLE, example.test]
    connector:
      wait: 10s
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
log:
  level: warn
%s`, plain.Addr().String(), s.URL, filepath.Join(dir, "sspr.db"), smtpPort, directoryRulesOnly)
	if err := os.WriteFile(s.configPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, log, app.Options{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s.app, s.App = a, a
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, mergeListeners(plain, secure)) }()
	t.Cleanup(func() {
		cancel()
		<-done
		a.Close()
	})
	return s
}

// waitConnected waits until exactly these connectors are connected.
func (s *connectorServer) waitConnected(t *testing.T, want ...string) {
	t.Helper()
	var got []string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got = s.app.ConnectorsConnected("corp")
		slices.Sort(got)
		if slices.Equal(got, want) {
			return
		}
	}
	t.Fatalf("connected connectors: %v, want %v", got, want)
}

// selfSigned makes the server's certificate for ip.
func selfSigned(t *testing.T, dir, ip string) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sspr test server"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP(ip)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "server.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, path
}

// mergedListener accepts from several listeners.
type mergedListener struct {
	lns   []net.Listener
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func mergeListeners(lns ...net.Listener) net.Listener {
	m := &mergedListener{lns: lns, conns: make(chan net.Conn), done: make(chan struct{})}
	for _, ln := range lns {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				select {
				case m.conns <- c:
				case <-m.done:
					c.Close()
					return
				}
			}
		}()
	}
	return m
}

func (m *mergedListener) Accept() (net.Conn, error) {
	select {
	case c := <-m.conns:
		return c, nil
	case <-m.done:
		return nil, net.ErrClosed
	}
}

func (m *mergedListener) Close() error {
	m.once.Do(func() {
		close(m.done)
		for _, ln := range m.lns {
			ln.Close()
		}
	})
	return nil
}

func (m *mergedListener) Addr() net.Addr { return m.lns[0].Addr() }
