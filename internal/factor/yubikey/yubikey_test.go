package yubikey_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/testclock"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/yubikey"
	"github.com/sspr/sspr/internal/factor/yubikey/yubikeytest"
)

func setup(t *testing.T) (*yubikey.Factor, *yubikeytest.Server, *yubikeytest.Token, *testclock.Clock) {
	t.Helper()
	srv := yubikeytest.NewServer()
	t.Cleanup(srv.Close)
	tok := yubikeytest.NewToken()
	srv.Add(tok)
	c := testclock.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	f, err := yubikey.New(yubikey.Config{Servers: []string{srv.URL()}, ClientID: srv.ClientID, APIKey: srv.APIKey,
		HTTPClient: srv.Client(), Clock: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return f, srv, tok, c
}

func otp(s string) factor.Response { return factor.Response{Values: map[string]string{"otp": s}} }

func enroll(t *testing.T, f *yubikey.Factor, tok *yubikeytest.Token) factor.Enrollment {
	t.Helper()
	s := factor.Subject{Login: "alice"}
	ch, err := f.BeginEnroll(context.Background(), s, factor.Response{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.FinishEnroll(context.Background(), s, ch.State, otp(tok.OTP()))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEnrollmentBindsPublicID(t *testing.T) {
	f, srv, tok, _ := setup(t)
	e := enroll(t, f, tok)
	var r struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(e.Secret, &r); err != nil {
		t.Fatal(err)
	}
	if first := tok.OTP()[:12]; r.ID != first || r.ID != tok.PublicID {
		t.Fatalf("enrolled public ID %q, want the OTP's first 12 characters %q", r.ID, first)
	}
	// Another key, valid at the server, does not verify for this person.
	other := yubikeytest.NewToken()
	srv.Add(other)
	before := srv.RequestCount()
	ch, _ := f.Challenge(context.Background(), factor.Subject{}, e)
	if _, err := f.Verify(context.Background(), factor.Subject{}, e, ch.State, otp(other.OTP())); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("another key's OTP: %v, want ErrWrongResponse", err)
	}
	if srv.RequestCount() != before {
		t.Fatal("another key's OTP was sent to the server (and spent there)")
	}
}

func TestEnrollRefusesBadOTP(t *testing.T) {
	f, _, tok, _ := setup(t)
	ch, _ := f.BeginEnroll(context.Background(), factor.Subject{}, factor.Response{})
	if _, err := f.FinishEnroll(context.Background(), factor.Subject{}, ch.State, otp("123456")); !errors.Is(err, factor.ErrBadInput) {
		t.Fatalf("not an OTP: %v", err)
	}
	// Right public ID, token not made with the key's AES key.
	forged := tok.PublicID + "cccccccccccccccccccccccccccccccc"
	if _, err := f.FinishEnroll(context.Background(), factor.Subject{}, ch.State, otp(forged)); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("forged OTP: %v, want ErrWrongResponse", err)
	}
}

func TestValidAndReplayed(t *testing.T) {
	f, _, tok, _ := setup(t)
	e := enroll(t, f, tok)
	ch, err := f.Challenge(context.Background(), factor.Subject{}, e)
	if err != nil {
		t.Fatal(err)
	}
	code := tok.OTP()
	if _, err := f.Verify(context.Background(), factor.Subject{}, e, ch.State, otp(code)); err != nil {
		t.Fatalf("valid OTP: %v", err)
	}
	if _, err := f.Verify(context.Background(), factor.Subject{}, e, ch.State, otp(code)); !errors.Is(err, factor.ErrReplayed) {
		t.Fatalf("replayed OTP: %v, want ErrReplayed", err)
	}
	// Upper case (Caps Lock) is the same OTP.
	next := tok.OTP()
	upper := []byte(next)
	for i := range upper {
		upper[i] -= 'a' - 'A'
	}
	if _, err := f.Verify(context.Background(), factor.Subject{}, e, ch.State, otp(string(upper))); err != nil {
		t.Fatalf("upper-case OTP: %v", err)
	}
}

func TestBadSignatureRefused(t *testing.T) {
	f, srv, tok, _ := setup(t)
	e := enroll(t, f, tok)
	srv.SignResponsesWith([]byte("a forger's key, not the API key"))
	ch, _ := f.Challenge(context.Background(), factor.Subject{}, e)
	if _, err := f.Verify(context.Background(), factor.Subject{}, e, ch.State, otp(tok.OTP())); !errors.Is(err, yubikey.ErrBadSignature) {
		t.Fatalf("forged OK: %v, want ErrBadSignature", err)
	}
	srv.SignResponsesWith(nil)
	// A client with the wrong key: the server says BAD_SIGNATURE, signed
	// with the real key, which the client cannot check either.
	wrong, err := yubikey.New(yubikey.Config{Servers: []string{srv.URL()}, ClientID: srv.ClientID, APIKey: []byte("not-the-api-key-at-all"), HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ch, _ = wrong.Challenge(context.Background(), factor.Subject{}, e)
	if _, err := wrong.Verify(context.Background(), factor.Subject{}, e, ch.State, otp(tok.OTP())); !errors.Is(err, yubikey.ErrBadSignature) {
		t.Fatalf("wrong API key: %v, want ErrBadSignature", err)
	}
}

func TestDecoyLooksTheSameAndNeverAsks(t *testing.T) {
	f, srv, tok, _ := setup(t)
	e := enroll(t, f, tok)
	before := srv.RequestCount()
	real, err := f.Challenge(context.Background(), factor.Subject{Login: "alice"}, e)
	if err != nil {
		t.Fatal(err)
	}
	d := f.DecoyEnrollment(factor.Subject{Login: "nobody"})
	decoy, err := f.Challenge(context.Background(), factor.Subject{Login: "nobody"}, d)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(real, decoy) {
		t.Fatalf("decoy challenge %+v differs from real %+v", decoy, real)
	}
	if _, err := f.Verify(context.Background(), factor.Subject{}, d, decoy.State, otp(tok.OTP())); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("decoy verified: %v", err)
	}
	if srv.RequestCount() != before {
		t.Fatal("a decoy reached the validation server")
	}
	if _, err := f.Challenge(context.Background(), factor.Subject{}, factor.Enrollment{Kind: yubikey.Kind}); !errors.Is(err, factor.ErrNotAvailable) {
		t.Fatalf("no enrollment: %v", err)
	}
}

func TestExpired(t *testing.T) {
	f, _, tok, c := setup(t)
	e := enroll(t, f, tok)
	ch, _ := f.Challenge(context.Background(), factor.Subject{}, e)
	c.Advance(yubikey.DefaultTTL)
	if _, err := f.Verify(context.Background(), factor.Subject{}, e, ch.State, otp(tok.OTP())); !errors.Is(err, factor.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	key := make([]byte, 20)
	for name, cfg := range map[string]yubikey.Config{
		"http":      {Servers: []string{"http://val.example/wsapi/2.0/verify"}, ClientID: "1", APIKey: key},
		"no client": {APIKey: key},
		"short key": {ClientID: "1", APIKey: []byte("short")},
	} {
		if _, err := yubikey.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
