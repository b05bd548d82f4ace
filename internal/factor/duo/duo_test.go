package duo_test

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/duo"
	"github.com/sspr/sspr/internal/factor/duo/duotest"
)

func setup(t *testing.T, mod func(*duo.Config)) (*duo.Factor, *duotest.Server) {
	t.Helper()
	srv := duotest.NewServer()
	t.Cleanup(srv.Close)
	cfg := duo.Config{Host: srv.Host(), IntegrationKey: srv.IntegrationKey, SecretKey: srv.SecretKey,
		HTTPClient: srv.Client(), PollInterval: time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	f, err := duo.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f, srv
}

func verify(t *testing.T, f *duo.Factor, login string, resp map[string]string) error {
	t.Helper()
	s, e := factor.Subject{Login: login}, factor.Enrollment{Kind: duo.Kind}
	ch, err := f.Challenge(context.Background(), s, e)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Verify(context.Background(), s, e, ch.State, factor.Response{Values: resp})
	return err
}

func TestPushApproveDenyTimeout(t *testing.T) {
	f, srv := setup(t, nil)
	for name, c := range map[string]struct {
		outcome string
		want    error
	}{
		"approve":     {duotest.Approve, nil},
		"deny":        {duotest.Deny, duo.ErrPushDenied},
		"duo timeout": {duotest.Timeout, duo.ErrPushTimeout},
	} {
		t.Run(name, func(t *testing.T) {
			srv.SetUser("alice", &duotest.User{Push: c.outcome})
			before := srv.Pushes()
			err := verify(t, f, "alice", map[string]string{"method": "push"})
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("push %s: %v, want %v", c.outcome, err, c.want)
			}
			if c.want != nil && !errors.Is(err, factor.ErrWrongResponse) {
				t.Fatalf("push %s: %v is not a wrong response", c.outcome, err)
			}
			if srv.Pushes() != before+1 {
				t.Fatal("no push sent")
			}
		})
	}
}

// A push nobody answers ends at Config.PushTimeout.
func TestPushUnansweredTimesOut(t *testing.T) {
	f, srv := setup(t, func(c *duo.Config) { c.PushTimeout = 200 * time.Millisecond; c.PollInterval = 20 * time.Millisecond })
	srv.SetUser("alice", &duotest.User{Push: duotest.Never})
	err := verify(t, f, "alice", map[string]string{"method": "push"})
	if !errors.Is(err, duo.ErrPushTimeout) || !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("unanswered push: %v, want ErrPushTimeout and ErrWrongResponse", err)
	}
}

func TestPasscode(t *testing.T) {
	f, srv := setup(t, nil)
	srv.SetUser("alice", &duotest.User{Passcodes: map[string]bool{"123456": true}})
	if err := verify(t, f, "alice", map[string]string{"method": "passcode", "passcode": "654321"}); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("wrong passcode: %v", err)
	}
	if err := verify(t, f, "alice", map[string]string{"passcode": "123456"}); err != nil {
		t.Fatalf("right passcode: %v", err)
	}
	if err := verify(t, f, "alice", map[string]string{"passcode": "123456"}); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("replayed passcode: %v, want ErrWrongResponse", err)
	}
	if srv.Pushes() != 0 {
		t.Fatal("a passcode sent a push")
	}
}

func TestMethodsLimited(t *testing.T) {
	f, srv := setup(t, func(c *duo.Config) { c.Methods = []string{duo.MethodPasscode} })
	srv.SetUser("alice", &duotest.User{Push: duotest.Approve})
	if err := verify(t, f, "alice", map[string]string{"method": "push"}); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("push when only passcodes are offered: %v", err)
	}
	if srv.Pushes() != 0 {
		t.Fatal("a push went out")
	}
}

// A Duo bypass ("allow" at preauth) proves nothing.
func TestBypassDoesNotCount(t *testing.T) {
	f, srv := setup(t, nil)
	srv.SetUser("alice", &duotest.User{Bypass: true, Push: duotest.Approve})
	if err := verify(t, f, "alice", map[string]string{"method": "push"}); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("bypass user: %v, want ErrWrongResponse", err)
	}
}

func TestWrongSecretKeyRefused(t *testing.T) {
	_, srv := setup(t, nil)
	srv.SetUser("alice", &duotest.User{Push: duotest.Approve})
	f, err := duo.New(duo.Config{Host: srv.Host(), IntegrationKey: srv.IntegrationKey, SecretKey: "0123456789abcdef0123456789abcdef01234567", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	err = verify(t, f, "alice", map[string]string{"method": "push"})
	if !errors.Is(err, duo.ErrAPI) || errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("wrong secret key: %v, want an API error", err)
	}
	if srv.Calls() != 0 || srv.Pushes() != 0 {
		t.Fatal("a request with a bad signature was served")
	}
}

func TestEnrollment(t *testing.T) {
	f, srv := setup(t, func(c *duo.Config) { c.Enroll = true })
	srv.SetUser("a.smith", &duotest.User{Push: duotest.Approve})
	s := factor.Subject{Login: "alice"}
	if !f.NeedsEnrollment() {
		t.Fatal("Enroll set but NeedsEnrollment false")
	}
	if _, err := f.BeginEnroll(context.Background(), s, factor.Response{Values: map[string]string{"username": "nobody"}}); !errors.Is(err, factor.ErrBadInput) {
		t.Fatalf("user unknown to Duo: %v", err)
	}
	ch, err := f.BeginEnroll(context.Background(), s, factor.Response{Values: map[string]string{"username": "a.smith"}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.FinishEnroll(context.Background(), s, ch.State, factor.Response{Values: map[string]string{"method": "push"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Challenge(context.Background(), s, factor.Enrollment{Kind: duo.Kind}); !errors.Is(err, factor.ErrNotAvailable) {
		t.Fatalf("no enrollment: %v", err)
	}
	vc, err := f.Challenge(context.Background(), s, e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Verify(context.Background(), s, e, vc.State, factor.Response{Values: map[string]string{"method": "push"}}); err != nil {
		t.Fatalf("enrolled Duo user: %v", err)
	}
	// The decoy looks the same and never reaches Duo.
	calls := srv.Calls()
	d := f.DecoyEnrollment(factor.Subject{Login: "stranger"})
	dc, err := f.Challenge(context.Background(), factor.Subject{Login: "stranger"}, d)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dc.Prompt, vc.Prompt) {
		t.Fatalf("decoy prompt %v, real %v", dc.Prompt, vc.Prompt)
	}
	if _, err := f.Verify(context.Background(), factor.Subject{}, d, dc.State, factor.Response{Values: map[string]string{"method": "push"}}); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("decoy: %v", err)
	}
	if srv.Calls() != calls {
		t.Fatal("a decoy reached Duo")
	}
}

func TestExpired(t *testing.T) {
	now := time.Now()
	f, srv := setup(t, func(c *duo.Config) { c.Clock = func() time.Time { return now } })
	srv.SetUser("alice", &duotest.User{Push: duotest.Approve})
	s, e := factor.Subject{Login: "alice"}, factor.Enrollment{Kind: duo.Kind}
	ch, _ := f.Challenge(context.Background(), s, e)
	now = now.Add(duo.DefaultTTL)
	if _, err := f.Verify(context.Background(), s, e, ch.State, factor.Response{Values: map[string]string{"method": "push"}}); !errors.Is(err, factor.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
}

// The example from Duo's documentation of the v2 signature (its
// Authorization header decodes to this integration key and signature).
func TestSignatureKnownAnswer(t *testing.T) {
	params := url.Values{"realname": {"First Last"}, "username": {"root"}}
	got := duo.Authorization("DIWJ8X6AEYOR5OMC6TQ1", "Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep", "Tue, 21 Aug 2012 17:29:18 -0000", "POST",
		"api-xxxxxxxx.duosecurity.com", "/accounts/v1/account/list", params)
	if want := "Basic RElXSjhYNkFFWU9SNU9NQzZUUTE6MmQ5N2Q2MTY2MzE5NzgxYjVhM2EwN2FmMzlkMzY2ZjQ5MTIzNGVkYw=="; got != want {
		t.Fatalf("Authorization %q, want %q", got, want)
	}
	if c := duo.CanonParams(params); c != "realname=First%20Last&username=root" {
		t.Fatalf("canonical parameters %q", c)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]duo.Config{
		"no host":    {IntegrationKey: "DIXXXXXXXXXXXXXXXXXX", SecretKey: "0123456789abcdef0123"},
		"no skey":    {Host: "api-x.duosecurity.com", IntegrationKey: "DIXXXXXXXXXXXXXXXXXX"},
		"bad method": {Host: "api-x.duosecurity.com", IntegrationKey: "DIXXXXXXXXXXXXXXXXXX", SecretKey: "0123456789abcdef0123", Methods: []string{"sms"}},
	} {
		if _, err := duo.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// DecoyWait: a push (asked for, or the default without a passcode) may
// take the push timeout; a passcode, or push when it is not offered, not.
func TestDecoyWait(t *testing.T) {
	f, _ := setup(t, func(c *duo.Config) { c.PushTimeout = 7 * time.Second })
	for resp, want := range map[string]time.Duration{"push": 7 * time.Second, "": 7 * time.Second, "passcode": 0} {
		if got := f.DecoyWait(factor.Response{Values: map[string]string{"method": resp}}); got != want {
			t.Errorf("method %q: %v, want %v", resp, got, want)
		}
	}
	if got := f.DecoyWait(factor.Response{Values: map[string]string{"passcode": "123456"}}); got != 0 {
		t.Errorf("a passcode: %v", got)
	}
	p, _ := setup(t, func(c *duo.Config) { c.Methods = []string{duo.MethodPasscode} })
	if got := p.DecoyWait(factor.Response{Values: map[string]string{"method": "push"}}); got != 0 {
		t.Errorf("push not offered: %v", got)
	}
}
