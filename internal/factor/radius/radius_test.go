package radius

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/testclock"

	"github.com/sspr/sspr/internal/factor"
)

var testSecret = []byte("a-test-secret-of-32-octets-long!")

func newFactor(t *testing.T, cfg Config) *Factor {
	t.Helper()
	if cfg.Secret == nil {
		cfg.Secret = testSecret
	}
	if cfg.Timeout == 0 {
		// Generous for a loaded machine; only the wrong-secret tests wait
		// for it to pass.
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Retries == 0 {
		cfg.Retries = -1
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func code(c string) factor.Response { return factor.Response{Values: map[string]string{"code": c}} }

// answerUser accepts alice with "123456" and rejects everything else.
func answerUser(req *Packet, password string) *Packet {
	user, _ := req.Get(AttrUserName)
	if string(user) == "alice" && password == "123456" {
		return &Packet{Code: AccessAccept}
	}
	return &Packet{Code: AccessReject}
}

func TestAcceptAndReject(t *testing.T) {
	srv := startTestServer(t, testSecret, answerUser)
	f := newFactor(t, Config{Servers: []string{srv.addr()}})
	s := factor.Subject{Login: "alice"}
	e := factor.Enrollment{ID: "directory", Kind: Kind}
	ch, err := f.Challenge(context.Background(), s, e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Verify(context.Background(), s, e, ch.State, code("000000")); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("wrong passcode: %v, want ErrWrongResponse", err)
	}
	if _, err := f.Verify(context.Background(), s, e, ch.State, code("123456")); err != nil {
		t.Fatalf("right passcode: %v", err)
	}
}

// A reply must carry a valid Message-Authenticator even when its Response
// Authenticator is right: that is what BlastRADIUS forges.
func TestReplyWithoutMessageAuthenticatorRefused(t *testing.T) {
	for name, forge := range map[string]func(p *Packet, reqAuth [authLen]byte) []byte{
		"missing": func(p *Packet, reqAuth [authLen]byte) []byte {
			q := *p
			q.Authenticator = reqAuth
			b, _ := q.encode()
			h := md5.New()
			h.Write(b)
			h.Write(testSecret)
			copy(b[4:headerLen], h.Sum(nil))
			return b
		},
		"wrong": func(p *Packet, reqAuth [authLen]byte) []byte {
			q := *p
			q.Authenticator = reqAuth
			q.Attributes = []Attribute{{AttrMessageAuthenticator, bytes.Repeat([]byte{7}, 16)}}
			b, _ := q.encode()
			h := md5.New()
			h.Write(b)
			h.Write(testSecret)
			copy(b[4:headerLen], h.Sum(nil))
			return b
		},
		"two": func(p *Packet, reqAuth [authLen]byte) []byte {
			// One valid Message-Authenticator, then a second one.
			good, _ := encodeResponse(p, reqAuth, testSecret)
			q, _ := Decode(good)
			q.Authenticator = reqAuth
			q.Attributes = append(q.Attributes, Attribute{AttrMessageAuthenticator, make([]byte, 16)})
			b, _ := q.encode()
			h := md5.New()
			h.Write(b)
			h.Write(testSecret)
			copy(b[4:headerLen], h.Sum(nil))
			return b
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := startTestServer(t, testSecret, answerUser)
			srv.setReply(forge)
			f := newFactor(t, Config{Servers: []string{srv.addr()}, Timeout: 300 * time.Millisecond})
			s, e := factor.Subject{Login: "alice"}, factor.Enrollment{Kind: Kind}
			ch, _ := f.Challenge(context.Background(), s, e)
			_, err := f.Verify(context.Background(), s, e, ch.State, code("123456"))
			if !errors.Is(err, ErrNoAnswer) || !errors.Is(err, ErrAuthenticator) {
				t.Fatalf("forged Access-Accept: %v, want ErrNoAnswer naming ErrAuthenticator", err)
			}
		})
	}
}

// A reply made with another secret is refused.
func TestWrongSecretRefused(t *testing.T) {
	srv := startTestServer(t, testSecret, answerUser)
	other := []byte("another-secret-of-32-octets-long")
	srv.setReply(func(p *Packet, reqAuth [authLen]byte) []byte {
		b, _ := encodeResponse(p, reqAuth, other)
		return b
	})
	f := newFactor(t, Config{Servers: []string{srv.addr()}, Timeout: 300 * time.Millisecond})
	s, e := factor.Subject{Login: "alice"}, factor.Enrollment{Kind: Kind}
	ch, _ := f.Challenge(context.Background(), s, e)
	if _, err := f.Verify(context.Background(), s, e, ch.State, code("123456")); !errors.Is(err, ErrAuthenticator) {
		t.Fatalf("reply under another secret: %v, want ErrAuthenticator", err)
	}
}

// An Access-Accept captured from one exchange does not answer another:
// the Response Authenticator binds it to its request.
func TestReplayedAcceptRefused(t *testing.T) {
	srv := startTestServer(t, testSecret, answerUser)
	f := newFactor(t, Config{Servers: []string{srv.addr()}, Timeout: 2 * time.Second})
	s, e := factor.Subject{Login: "alice"}, factor.Enrollment{Kind: Kind}
	ch, _ := f.Challenge(context.Background(), s, e)
	if _, err := f.Verify(context.Background(), s, e, ch.State, code("123456")); err != nil {
		t.Fatal(err)
	}
	captured := *srv.last.Load()
	srv.setReply(func(p *Packet, reqAuth [authLen]byte) []byte {
		b := append([]byte(nil), captured...)
		b[1] = p.Identifier // even with the identifier fixed up
		return b
	})
	if _, err := f.Verify(context.Background(), s, e, ch.State, code("000000")); !errors.Is(err, ErrAuthenticator) {
		t.Fatalf("replayed Access-Accept: %v, want ErrAuthenticator", err)
	}
}

func TestFailoverToSecondServer(t *testing.T) {
	dead := startTestServer(t, testSecret, func(*Packet, string) *Packet { return nil })
	srv := startTestServer(t, testSecret, answerUser)
	f := newFactor(t, Config{Servers: []string{dead.addr(), srv.addr()}, Timeout: 2 * time.Second})
	s, e := factor.Subject{Login: "alice"}, factor.Enrollment{Kind: Kind}
	ch, _ := f.Challenge(context.Background(), s, e)
	if _, err := f.Verify(context.Background(), s, e, ch.State, code("123456")); err != nil {
		t.Fatalf("second server: %v", err)
	}
	if dead.requests.Load() == 0 {
		t.Fatal("the first server was not asked")
	}
}

func TestDecoyLooksTheSameAndNeverAsks(t *testing.T) {
	srv := startTestServer(t, testSecret, func(*Packet, string) *Packet { return &Packet{Code: AccessAccept} })
	c := testclock.New(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC))
	f := newFactor(t, Config{Servers: []string{srv.addr()}, Enroll: true, Clock: c.Now})
	real := factor.Enrollment{ID: "e1", Kind: Kind, Secret: []byte(`{"v":1,"user":"alice"}`)}
	s := factor.Subject{Login: "alice"}
	rc, err := f.Challenge(context.Background(), s, real)
	if err != nil {
		t.Fatal(err)
	}
	stranger := factor.Subject{Login: "nobody"}
	decoy := f.DecoyEnrollment(stranger)
	dc, err := f.Challenge(context.Background(), stranger, decoy)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rc.Prompt, dc.Prompt) || !rc.Expires.Equal(dc.Expires) {
		t.Fatalf("decoy prompt %v differs from real %v", dc.Prompt, rc.Prompt)
	}
	if _, err := f.Verify(context.Background(), stranger, decoy, dc.State, code("123456")); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("decoy verified: %v", err)
	}
	if n := srv.requests.Load(); n != 0 {
		t.Fatalf("a decoy asked the server %d times", n)
	}
	// Without an enrollment, an enrolling factor is not available (the
	// flow then issues a decoy).
	if _, err := f.Challenge(context.Background(), s, factor.Enrollment{Kind: Kind}); !errors.Is(err, factor.ErrNotAvailable) {
		t.Fatalf("no enrollment: %v, want ErrNotAvailable", err)
	}
}

func TestUsernameAttribute(t *testing.T) {
	srv := startTestServer(t, testSecret, answerUser)
	f := newFactor(t, Config{Servers: []string{srv.addr()}, UsernameAttribute: "sAMAccountName"})
	e := factor.Enrollment{Kind: Kind}
	s := factor.Subject{Login: "alice@example.test", Attributes: map[string][]string{"samaccountname": {"alice"}}}
	ch, err := f.Challenge(context.Background(), s, e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Verify(context.Background(), s, e, ch.State, code("123456")); err != nil {
		t.Fatalf("mapped user name: %v", err)
	}
	if _, err := f.Challenge(context.Background(), factor.Subject{Login: "alice"}, e); !errors.Is(err, factor.ErrNotAvailable) {
		t.Fatalf("attribute missing: %v, want ErrNotAvailable", err)
	}
}

func TestExpiredChallenge(t *testing.T) {
	srv := startTestServer(t, testSecret, answerUser)
	c := testclock.New(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC))
	f := newFactor(t, Config{Servers: []string{srv.addr()}, Clock: c.Now})
	s, e := factor.Subject{Login: "alice"}, factor.Enrollment{Kind: Kind}
	ch, _ := f.Challenge(context.Background(), s, e)
	c.Advance(DefaultTTL)
	if _, err := f.Verify(context.Background(), s, e, ch.State, code("123456")); !errors.Is(err, factor.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	if srv.requests.Load() != 0 {
		t.Fatal("an expired challenge reached the server")
	}
}

func TestChallengeRoundsBounded(t *testing.T) {
	srv := startTestServer(t, testSecret, func(*Packet, string) *Packet {
		return &Packet{Code: AccessChallenge, Attributes: []Attribute{{AttrState, []byte("again")}, {AttrReplyMessage, []byte("Again\x00\x07 please")}}}
	})
	f := newFactor(t, Config{Servers: []string{srv.addr()}, MaxRounds: 3})
	s, e := factor.Subject{Login: "alice"}, factor.Enrollment{Kind: Kind}
	ch, _ := f.Challenge(context.Background(), s, e)
	st := ch.State
	for round := 1; ; round++ {
		_, err := f.Verify(context.Background(), s, e, st, code("1"))
		var more *ContinueError
		if errors.As(err, &more) {
			if got := more.Challenge.Prompt["message"]; got != "Again please" {
				t.Fatalf("message %q: control characters should be gone", got)
			}
			st = more.Challenge.State
			continue
		}
		if !errors.Is(err, factor.ErrWrongResponse) || round != 3 {
			t.Fatalf("round %d: %v, want ErrWrongResponse at round 3", round, err)
		}
		break
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no servers":   {Secret: testSecret},
		"short secret": {Servers: []string{"127.0.0.1:1812"}, Secret: []byte("short")},
		"no port":      {Servers: []string{"radius.example"}, Secret: testSecret},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPasswordHidingRoundTrip(t *testing.T) {
	var auth [authLen]byte
	copy(auth[:], "0123456789abcdef")
	for _, pw := range []string{"a", "sixteen-octets!!", "a password longer than sixteen octets"} {
		h, err := hidePassword([]byte(pw), testSecret, auth)
		if err != nil {
			t.Fatal(err)
		}
		if len(h)%16 != 0 || bytes.Contains(h, []byte(pw)) {
			t.Fatalf("%q hidden as %x", pw, h)
		}
		if got := string(revealPassword(h, testSecret, auth)); got != pw {
			t.Fatalf("round trip %q -> %q", pw, got)
		}
	}
}

// The tests below run against the real FreeRADIUS that
// scripts/testenv/freeradius.sh starts.

func freeRADIUS(t *testing.T) (addr string, secret []byte) {
	t.Helper()
	addr = os.Getenv("SSPR_TEST_RADIUS_ADDR")
	if addr == "" {
		t.Skip("SSPR_TEST_RADIUS_ADDR is not set: run scripts/testenv/freeradius.sh start DIR and source DIR/env.sh")
	}
	return addr, []byte(os.Getenv("SSPR_TEST_RADIUS_SECRET"))
}

func TestFreeRADIUSStaticPassword(t *testing.T) {
	addr, secret := freeRADIUS(t)
	f := newFactor(t, Config{Servers: []string{addr}, Secret: secret, NASIdentifier: "sspr-test", Timeout: 5 * time.Second})
	s := factor.Subject{Login: os.Getenv("SSPR_TEST_RADIUS_STATIC_USER")}
	e := factor.Enrollment{Kind: Kind}
	ch, err := f.Challenge(context.Background(), s, e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Verify(context.Background(), s, e, ch.State, code(os.Getenv("SSPR_TEST_RADIUS_STATIC_PASSWORD"))); err != nil {
		t.Fatalf("Access-Accept expected: %v", err)
	}
	if _, err := f.Verify(context.Background(), s, e, ch.State, code("wrong-otp")); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("wrong OTP: %v, want ErrWrongResponse", err)
	}
}

func TestFreeRADIUSAccessChallenge(t *testing.T) {
	addr, secret := freeRADIUS(t)
	f := newFactor(t, Config{Servers: []string{addr}, Secret: secret, Timeout: 5 * time.Second})
	s := factor.Subject{Login: os.Getenv("SSPR_TEST_RADIUS_CHALLENGE_USER")}
	e := factor.Enrollment{Kind: Kind}
	ch, _ := f.Challenge(context.Background(), s, e)
	_, err := f.Verify(context.Background(), s, e, ch.State, code(os.Getenv("SSPR_TEST_RADIUS_CHALLENGE_PASSWORD")))
	var more *ContinueError
	if !errors.As(err, &more) || !errors.Is(err, ErrContinue) {
		t.Fatalf("first round: %v, want an Access-Challenge", err)
	}
	if got := more.Challenge.Prompt["message"]; got != "Enter the code shown on your token" {
		t.Fatalf("Reply-Message %q", got)
	}
	if _, err := f.Verify(context.Background(), s, e, more.Challenge.State, code("135790")); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("wrong second code: %v, want ErrWrongResponse", err)
	}
	if _, err := f.Verify(context.Background(), s, e, more.Challenge.State, code(os.Getenv("SSPR_TEST_RADIUS_CHALLENGE_CODE"))); err != nil {
		t.Fatalf("second round: %v, want Access-Accept", err)
	}
}

// FreeRADIUS drops a request whose Message-Authenticator does not verify
// under its secret: no answer, never an accept.
func TestFreeRADIUSWrongSecretRefused(t *testing.T) {
	addr, _ := freeRADIUS(t)
	f := newFactor(t, Config{Servers: []string{addr}, Secret: []byte("not-the-shared-secret-at-all-xx"), Timeout: time.Second})
	s := factor.Subject{Login: os.Getenv("SSPR_TEST_RADIUS_STATIC_USER")}
	e := factor.Enrollment{Kind: Kind}
	ch, _ := f.Challenge(context.Background(), s, e)
	if _, err := f.Verify(context.Background(), s, e, ch.State, code(os.Getenv("SSPR_TEST_RADIUS_STATIC_PASSWORD"))); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("wrong secret: %v, want ErrNoAnswer", err)
	}
}

func TestFreeRADIUSEnrollment(t *testing.T) {
	addr, secret := freeRADIUS(t)
	f := newFactor(t, Config{Servers: []string{addr}, Secret: secret, Enroll: true, Timeout: 5 * time.Second})
	s := factor.Subject{Login: "someone-else"}
	user := os.Getenv("SSPR_TEST_RADIUS_STATIC_USER")
	if _, err := f.BeginEnroll(context.Background(), s, factor.Response{Values: map[string]string{"username": "bad\x00name"}}); !errors.Is(err, factor.ErrBadInput) {
		t.Fatalf("control character: %v", err)
	}
	ch, err := f.BeginEnroll(context.Background(), s, factor.Response{Values: map[string]string{"username": user}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.FinishEnroll(context.Background(), s, ch.State, code("wrong")); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("wrong passcode enrolled: %v", err)
	}
	e, err := f.FinishEnroll(context.Background(), s, ch.State, code(os.Getenv("SSPR_TEST_RADIUS_STATIC_PASSWORD")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Verify(context.Background(), s, e, ch.State, code("x")); err == nil {
		t.Fatal("an enrollment state verified")
	}
	vc, err := f.Challenge(context.Background(), s, e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Verify(context.Background(), s, e, vc.State, code(os.Getenv("SSPR_TEST_RADIUS_STATIC_PASSWORD"))); err != nil {
		t.Fatalf("enrolled user name: %v", err)
	}
}
