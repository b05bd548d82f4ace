package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/directory/demo"
	"github.com/sspr/sspr/internal/directory/ldapdir"
)

// freeAddr is a loopback address nobody listens on (just now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricValue sums the samples of the metric named in sample (`name` or
// `name{label="value",...}`) that carry every label given; -1 when none
// does.
func metricValue(t *testing.T, exposition, sample string) float64 {
	t.Helper()
	name, labels, _ := strings.Cut(strings.TrimSpace(sample), "{")
	want := strings.Split(strings.TrimSuffix(labels, "}"), ",")
	sum, found := 0.0, false
	for line := range strings.SplitSeq(exposition, "\n") {
		if strings.HasPrefix(line, "#") || !(strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ")) {
			continue
		}
		ok := true
		for _, l := range want {
			if l != "" && !strings.Contains(line, l) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		sum, found = sum+v, true
	}
	if !found {
		return -1
	}
	return sum
}

// TestMetricsAndReadiness: /metrics (on server.metrics_listen) counts a
// complete reset — its requests by route, its audited steps by action,
// step and outcome — and the outbox; /readyz turns red (503, naming the
// directory) when the directory stops and green when it is back; every
// answer carries an X-Request-Id.
func TestMetricsAndReadiness(t *testing.T) {
	addr := freeAddr(t)
	const servicePassword = "Service-Pass-For-Readiness-1"
	srv, err := demo.Start(context.Background(), demo.Options{Addr: addr, ServicePassword: servicePassword})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			srv.Close()
		}
	})
	c := ldapdir.Config{Name: "demo", URLs: []string{srv.URL()}, BindDN: srv.ServiceDN(), BindPassword: servicePassword,
		BaseDN: srv.BaseDN(), AllowInsecurePasswordWrites: true}
	metricsAddr := freeAddr(t)
	in := startServing(t, filepath.Join(t.TempDir(), "sspr.db"), "  metrics_listen: \""+metricsAddr+"\"\n",
		directoryYAML("openldap", c, "    password_write: modify\n    password_policy_dn: "+demo.PolicyDN+"\n"), `verification:
  factors: [email]
  pre_enroll_mail: true
`, nil)
	// Wait for the metrics listener.
	metricsURL := "http://" + metricsAddr
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := (&http.Client{Timeout: time.Second}).Get(metricsURL + "/metrics"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server.metrics_listen never answered")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A complete reset.
	mail := "alice@" + demo.MailDomain
	before := in.codeMailsTo(mail)
	status, body, h, raw := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": "alice"}, "")
	if status != http.StatusAccepted {
		t.Fatalf("start: %d %s", status, raw)
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(h.Get("X-Request-Id")) {
		t.Errorf("X-Request-Id = %q", h.Get("X-Request-Id"))
	}
	flowID := body["flow_id"].(string)
	code := in.waitCode(t, mail, before)
	if status, _, _, raw := apiCall(t, in.URL, "/api/v1/reset/verify", map[string]string{"flow_id": flowID, "code": code}, ""); status != http.StatusOK {
		t.Fatalf("verify: %d %s", status, raw)
	}
	if status, _, _, raw := apiCall(t, in.URL, "/api/v1/reset/password", map[string]string{"flow_id": flowID, "password": "Metrics-Pass-2027!"}, ""); status != http.StatusOK {
		t.Fatalf("password: %d %s", status, raw)
	}

	code2, exposition := get(t, metricsURL+"/metrics")
	if code2 != http.StatusOK {
		t.Fatalf("/metrics: %d", code2)
	}
	for prefix, atLeast := range map[string]float64{
		`sspr_http_requests_total{code="202",route="POST /api/v1/reset"}`:                          1,
		`sspr_http_requests_total{code="200",route="POST /api/v1/reset/password"}`:                 1,
		`sspr_http_request_duration_seconds_count{route="POST /api/v1/reset/verify"}`:              1,
		`sspr_events_total{action="reset",outcome="success",step="password"}`:                      1,
		`sspr_events_total{action="reset",outcome="success",step="identify"}`:                      1,
		`sspr_directory_operation_duration_seconds_count{directory="demo",op="find",result="ok"}`:  1,
		`sspr_directory_operation_duration_seconds_count{directory="demo",op="reset",result="ok"}`: 1,
		`sspr_outbox_waiting_messages `:                                                            0,
		`sspr_outbox_oldest_waiting_seconds `:                                                      0,
		`sspr_agents_registered `:                                                                  0,
		`go_goroutines `:                                                                           1,
		`process_resident_memory_bytes `:                                                           1,
	} {
		if v := metricValue(t, exposition, prefix); v < atLeast {
			t.Errorf("/metrics: %s is %v, want at least %v", prefix, v, atLeast)
		}
	}
	// Nothing of a person or a flow becomes a label.
	for _, secret := range []string{flowID, "alice", code, url.QueryEscape(flowID)} {
		if strings.Contains(exposition, secret) {
			t.Errorf("/metrics shows %q", secret)
		}
	}
	// The portal's listener does not serve the metrics.
	if status, _ := get(t, in.URL+"/metrics"); status == http.StatusOK {
		t.Error("the portal serves /metrics")
	}

	// Readiness: green, red with the directory stopped, green again.
	for _, u := range []string{in.URL + "/readyz", metricsURL + "/readyz"} {
		if status, b := get(t, u); status != http.StatusOK || !strings.Contains(b, `"ready"`) {
			t.Fatalf("%s with everything up: %d %s", u, status, b)
		}
	}
	srv.Close()
	stopped = true
	// The metrics listener checks afresh on every request.
	status, b := get(t, metricsURL+"/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(b, `"directory demo"`) {
		t.Fatalf("/readyz with the directory stopped, on the metrics listener (naming it): %d %s", status, b)
	}
	// The portal's answer may be up to a second old (it is open to
	// anyone, and each check pings every directory).
	deadline = time.Now().Add(10 * time.Second)
	for {
		status, b := get(t, in.URL+"/readyz")
		if status == http.StatusServiceUnavailable {
			if strings.Contains(b, "directory") {
				t.Fatalf("/readyz on the portal's listener names the problem: %s", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz on the portal's listener stayed %d with the directory stopped: %s", status, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if status, _ := get(t, in.URL+"/healthz"); status != http.StatusOK {
		t.Errorf("/healthz (liveness) with the directory stopped: %d", status)
	}
	srv, err = demo.Start(context.Background(), demo.Options{Addr: addr, ServicePassword: servicePassword})
	if err != nil {
		t.Fatal(err)
	}
	stopped = false
	deadline = time.Now().Add(20 * time.Second)
	for {
		status, b := get(t, in.URL+"/readyz")
		if status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz stayed red after the directory came back: %d %s", status, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	_, exposition = get(t, metricsURL+"/metrics")
	if v := metricValue(t, exposition, `sspr_directory_server_failures_total{directory="demo",server="`+srv.URL()+`"}`); v < 1 {
		t.Errorf("the failed connections to the stopped directory are not counted (%v)", v)
	}
}
