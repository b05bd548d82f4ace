package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/app"
)

// welch is Welch's t-test for two samples: the two-sided p-value of "the
// means are equal", with the t statistic and its degrees of freedom.
func welch(a, b []float64) (p, t, df float64) {
	mean := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	variance := func(xs []float64, m float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += (x - m) * (x - m)
		}
		return s / float64(len(xs)-1)
	}
	ma, mb := mean(a), mean(b)
	va, vb := variance(a, ma)/float64(len(a)), variance(b, mb)/float64(len(b))
	if va+vb == 0 {
		if ma == mb {
			return 1, 0, math.Inf(1)
		}
		return 0, math.Inf(1), math.Inf(1)
	}
	t = (ma - mb) / math.Sqrt(va+vb)
	df = (va + vb) * (va + vb) / (va*va/float64(len(a)-1) + vb*vb/float64(len(b)-1))
	// Two-sided p of Student's t: I_{df/(df+t²)}(df/2, 1/2).
	return incompleteBeta(df/2, 0.5, df/(df+t*t)), t, df
}

// incompleteBeta is the regularised incomplete beta function I_x(a, b)
// (Numerical Recipes' continued fraction).
func incompleteBeta(a, b, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	la, _ := math.Lgamma(a + b)
	lb, _ := math.Lgamma(a)
	lc, _ := math.Lgamma(b)
	front := math.Exp(la - lb - lc + a*math.Log(x) + b*math.Log(1-x))
	if x < (a+1)/(a+b+2) {
		return front * betaFraction(a, b, x) / a
	}
	return 1 - front*betaFraction(b, a, 1-x)/b
}

func betaFraction(a, b, x float64) float64 {
	const tiny = 1e-300
	c, d := 1.0, 1-(a+b)*x/(a+1)
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= 300; m++ {
		fm := float64(m)
		for _, aa := range []float64{fm * (b - fm) * x / ((a + 2*fm - 1) * (a + 2*fm)), -(a + fm) * (a + b + fm) * x / ((a + 2*fm) * (a + 2*fm + 1))} {
			d = 1 + aa*d
			if math.Abs(d) < tiny {
				d = tiny
			}
			c = 1 + aa/c
			if math.Abs(c) < tiny {
				c = tiny
			}
			d = 1 / d
			h *= d * c
		}
		if math.Abs(d*c-1) < 1e-12 {
			break
		}
	}
	return h
}

func TestWelchKnownValues(t *testing.T) {
	// Identical samples: p = 1. Far apart: p ≈ 0. And the incomplete
	// beta against a closed form: I_x(1, 1) = x, I_x(a, 1) = x^a.
	if p, _, _ := welch([]float64{1, 2, 3, 4}, []float64{1, 2, 3, 4}); math.Abs(p-1) > 1e-9 {
		t.Errorf("identical samples: p = %v", p)
	}
	if p, _, _ := welch([]float64{1, 2, 3, 4}, []float64{101, 102, 103, 104}); p > 1e-6 {
		t.Errorf("distant samples: p = %v", p)
	}
	if got := incompleteBeta(1, 1, 0.3); math.Abs(got-0.3) > 1e-9 {
		t.Errorf("I_0.3(1,1) = %v", got)
	}
	if got := incompleteBeta(3, 1, 0.5); math.Abs(got-0.125) > 1e-9 {
		t.Errorf("I_0.5(3,1) = %v", got)
	}
	// t = 2.0 with 10 degrees of freedom: two-sided p = 0.0734 (tables).
	if got := incompleteBeta(5, 0.5, 10/(10+4.0)); math.Abs(got-0.0734) > 0.0005 {
		t.Errorf("p(t=2, df=10) = %v", got)
	}
}

// TestStepTimingDoesNotTellAccountsApart: over HTTP, against a real server,
// choosing a factor, resending and a wrong answer take the same time for a
// real enrolled account (backup codes: a wrong one costs an Argon2id hash)
// and for an unknown login. Each round takes every step for both, in a
// random order, so drift in the machine's load and whatever the previous
// request left behind hit both samples alike; Welch's t-test must not tell
// the samples apart (p > 0.01). (CI runs on a loaded machine twice found a
// step 0.1–0.15 ms slower for one side, twice in a row: once when each
// flow's three steps ran together, once with a fixed alternating order in
// which a round's first choose always followed the same login's verify.
// Runs here with per-step timings of the work, the timer's overshoot and
// the time after the pad showed no difference in any part.)
//
// With identical distributions a p ≤ 0.01 still happens 1 % of the time
// per step, so a step that fails is measured again once, and the test fails
// only when both samples of a step fail: a real difference fails twice, a
// fluke almost never (0.01 %).
func TestStepTimingDoesNotTellAccountsApart(t *testing.T) {
	if testing.Short() {
		t.Skip("about a minute of timed requests (several on a loaded machine)")
	}
	const (
		rounds = 300
		// 60 ms, not the shipped 250 ms, keeps the test short. At 30 ms a
		// step under the race detector on a loaded CI machine now and then
		// ran past the pad and was rounded up to the next multiple; how
		// often that happened, not the padded work, then decided the
		// means (31.6 against 31.7 ms, p = 0.003, in one run of three).
		pad = 60 * time.Millisecond
		// The first rounds (connections, caches, the first collections)
		// are not counted.
		warmUp = 10
	)
	in := startTuned(t, filepath.Join(t.TempDir(), "sspr.db"), startDemoDirectory(t), `verification:
  factors: [email, backup_codes]
  first_factor: email
  pre_enroll_mail: true
`, func(a *app.App) {
		// A small pad keeps the test short; no limits on codes, tries or
		// failures, which a long series would run into.
		a.Reset.Settings.StepMinDuration = pad
		a.Reset.Settings.IdentifyMinDuration = pad
		a.Reset.Settings.MaxCodesSent = 1 << 20
		a.Reset.Settings.MaxCodeAttempts = 1 << 20
		a.Reset.Limiter = nil
	})
	codes := enrollBackupCodes(t, in, "alice", "Winter-2026")
	// Well-formed (so it is hashed) and wrong.
	wrong := codes[1][:6] + codes[2][6:]
	client := &http.Client{Timeout: 30 * time.Second}
	post := func(path string, body map[string]string) time.Duration {
		raw, _ := json.Marshal(body)
		began := time.Now()
		resp, err := client.Post(in.URL+path, "application/json", bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took := time.Since(began)
		if resp.StatusCode >= 500 {
			t.Fatalf("%s: status %d", path, resp.StatusCode)
		}
		return took
	}
	startFlow := func(login string) string {
		status, body, _, raw := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": login}, "")
		if status != http.StatusAccepted {
			t.Fatalf("start %s: %d %s", login, status, raw)
		}
		return body["flow_id"].(string)
	}
	steps := []string{"choose", "resend", "verify (wrong)"}
	send := map[string]func(id string) time.Duration{
		"choose": func(id string) time.Duration {
			return post("/api/v1/reset/choose", map[string]string{"flow_id": id, "factor": "backup_codes"})
		},
		"resend": func(id string) time.Duration { return post("/api/v1/reset/resend", map[string]string{"flow_id": id}) },
		"verify (wrong)": func(id string) time.Duration {
			return post("/api/v1/reset/verify", map[string]string{"flow_id": id, "code": wrong})
		},
	}
	// rng orders each round's requests; seeded, so a failure can be
	// replayed.
	rng := rand.New(rand.NewPCG(1, 2))
	sample := func() map[string][2][]float64 {
		ids := [2]string{startFlow("alice"), startFlow("no-such-person")}
		out := map[string][2][]float64{}
		type request struct {
			step string
			who  int
		}
		var round []request
		for _, step := range steps {
			round = append(round, request{step, 0}, request{step, 1})
		}
		for i := range rounds + warmUp {
			// After the first round (which chooses before anything
			// else), each round's six requests run in a random order.
			// Every request of either sample then follows each kind of
			// request of either sample equally often, so whatever a
			// request leaves behind on the machine (a collection, a
			// checkpoint, a cold cache) weighs on both samples alike,
			// and so does drift in the machine's load. A fixed
			// alternating order did not: a round's first choose always
			// followed the same login's verify of the round before.
			if i > 0 {
				rng.Shuffle(len(round), func(a, b int) { round[a], round[b] = round[b], round[a] })
			}
			for _, req := range round {
				took := float64(send[req.step](ids[req.who])) / float64(time.Millisecond)
				if i < warmUp {
					continue
				}
				s := out[req.step]
				s[req.who] = append(s[req.who], took)
				out[req.step] = s
			}
		}
		return out
	}
	failing := func(s map[string][2][]float64, only map[string]bool) map[string]string {
		bad := map[string]string{}
		for _, step := range steps {
			if only != nil && !only[step] {
				continue
			}
			p, tv, df := welch(s[step][0], s[step][1])
			msg := fmt.Sprintf("p = %.4f (t = %.2f, df = %.0f), mean %.2f ms for the account, %.2f ms for the unknown login",
				p, tv, df, meanOf(s[step][0]), meanOf(s[step][1]))
			t.Logf("%s: %s", step, msg)
			if p <= 0.01 {
				bad[step] = msg
			}
		}
		return bad
	}
	first := failing(sample(), nil)
	if len(first) == 0 {
		return
	}
	again := map[string]bool{}
	for step := range first {
		again[step] = true
	}
	t.Logf("measuring %v again", again)
	for step, msg := range failing(sample(), again) {
		t.Errorf("%s tells a real account from an unknown login: first %s; again %s", step, first[step], msg)
	}
}

func meanOf(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
