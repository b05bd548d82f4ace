package certificate

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/factor"
)

var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func setup(t *testing.T, mod func(*Config)) (*Factor, *testPKI) {
	t.Helper()
	p := newPKI(t, testNow)
	roots := x509.NewCertPool()
	roots.AddCert(p.root)
	cfg := Config{Roots: roots, Clock: func() time.Time { return testNow }}
	if mod != nil {
		mod(&cfg)
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f, p
}

var alice = factor.Subject{Login: "alice", Attributes: map[string][]string{"userPrincipalName": {"alice@example.test"}, "mail": {"alice@example.test"}}}

func present(t *testing.T, f *Factor, s factor.Subject, chain string) error {
	t.Helper()
	e := factor.Enrollment{ID: "directory", Kind: Kind}
	ch, err := f.Challenge(context.Background(), s, e)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Verify(context.Background(), s, e, ch.State, factor.Response{Values: map[string]string{"certificate": chain}})
	return err
}

func TestUPNParsed(t *testing.T) {
	_, p := setup(t, nil)
	c := p.card("alice@example.test", nil)
	if got := UPNs(c); !reflect.DeepEqual(got, []string{"alice@example.test"}) {
		t.Fatalf("UPNs %q", got)
	}
}

func TestGoodCardAccepted(t *testing.T) {
	f, p := setup(t, nil)
	card := p.card("alice@example.test", nil)
	if err := present(t, f, alice, pemOf(card, p.issuer)); err != nil {
		t.Fatalf("good card: %v", err)
	}
	// The intermediate may come from the configuration instead.
	inter := x509.NewCertPool()
	inter.AddCert(p.issuer)
	f2, _ := New(Config{Roots: f.cfg.Roots, Intermediates: inter, Clock: f.cfg.Clock})
	if err := present(t, f2, alice, pemOf(card)); err != nil {
		t.Fatalf("good card, configured intermediate: %v", err)
	}
}

func TestRevokedCardRefused(t *testing.T) {
	f, p := setup(t, nil)
	card := p.card("alice@example.test", nil)
	p.revoke(card, false)
	err := present(t, f, alice, pemOf(card, p.issuer))
	if !errors.Is(err, ErrRevoked) || !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("revoked card: %v, want ErrRevoked", err)
	}
}

// Each source is checked: revoked in the CRL while OCSP still says good.
func TestRevokedInCRLOnlyRefused(t *testing.T) {
	f, p := setup(t, nil)
	card := p.card("alice@example.test", nil)
	p.revoke(card, true)
	if err := present(t, f, alice, pemOf(card, p.issuer)); !errors.Is(err, ErrRevoked) {
		t.Fatalf("card in the CRL: %v, want ErrRevoked", err)
	}
}

// Revoked per OCSP, with the CRL unreachable.
func TestRevokedByOCSPWithCRLDown(t *testing.T) {
	f, p := setup(t, nil)
	card := p.card("alice@example.test", nil)
	p.revoke(card, false)
	p.setDown(false, true)
	if err := present(t, f, alice, pemOf(card, p.issuer)); !errors.Is(err, ErrRevoked) {
		t.Fatalf("OCSP revoked, CRL down: %v", err)
	}
}

func TestRevocationUnknownFailsClosed(t *testing.T) {
	f, p := setup(t, nil)
	card := p.card("alice@example.test", nil)
	p.setDown(true, false)
	if err := present(t, f, alice, pemOf(card, p.issuer)); err != nil {
		t.Fatalf("OCSP down, CRL good: %v", err)
	}
	p.setDown(true, true)
	f2, _ := New(Config{Roots: f.cfg.Roots, Clock: f.cfg.Clock}) // no cached CRL
	if err := present(t, f2, alice, pemOf(card, p.issuer)); !errors.Is(err, ErrRevocation) {
		t.Fatalf("nothing answers: %v, want ErrRevocation", err)
	}
	f3, _ := New(Config{Roots: f.cfg.Roots, Clock: f.cfg.Clock, RevocationOptional: true})
	if err := present(t, f3, alice, pemOf(card, p.issuer)); err != nil {
		t.Fatalf("nothing answers, revocation optional: %v", err)
	}
}

func TestUntrustedOrExpiredRefused(t *testing.T) {
	f, p := setup(t, nil)
	other := newPKI(t, testNow)
	for name, chain := range map[string]string{
		"other CA": pemOf(other.card("alice@example.test", nil), other.issuer),
		"expired": pemOf(p.card("alice@example.test", func(c *x509.Certificate) {
			c.NotBefore, c.NotAfter = testNow.Add(-48*time.Hour), testNow.Add(-time.Hour)
		}), p.issuer),
		"not for client auth": pemOf(p.card("alice@example.test", func(c *x509.Certificate) {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		}), p.issuer),
		"no chain":    pemOf(p.card("alice@example.test", nil)),
		"not PEM":     "alice@example.test",
		"issuer only": pemOf(p.issuer),
	} {
		t.Run(name, func(t *testing.T) {
			if err := present(t, f, alice, chain); !errors.Is(err, factor.ErrWrongResponse) {
				t.Fatalf("%v, want ErrWrongResponse", err)
			}
		})
	}
}

func TestSomeoneElsesCardRefused(t *testing.T) {
	f, p := setup(t, nil)
	card := p.card("bob@example.test", nil)
	if err := present(t, f, alice, pemOf(card, p.issuer)); !errors.Is(err, ErrNotMapped) {
		t.Fatalf("bob's card for alice: %v, want ErrNotMapped", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ocspCalls != 0 {
		t.Fatal("a card of somebody else made revocation requests")
	}
}

func TestMapByEmailAndFingerprint(t *testing.T) {
	f, p := setup(t, func(c *Config) { c.MapBy = MapEmail })
	card := p.card("alice@example.test", nil)
	if err := present(t, f, alice, pemOf(card, p.issuer)); err != nil {
		t.Fatalf("by e-mail: %v", err)
	}
	sum := sha256.Sum256(card.Raw)
	fp, _ := New(Config{Roots: f.cfg.Roots, Clock: f.cfg.Clock, MapBy: MapSHA256, Attribute: "sspr-certificate"})
	s := factor.Subject{Login: "alice", Attributes: map[string][]string{"sspr-certificate": {"00", strings.ToUpper(hex.EncodeToString(sum[:]))}}}
	if err := present(t, fp, s, pemOf(card, p.issuer)); err != nil {
		t.Fatalf("by fingerprint: %v", err)
	}
	if err := present(t, fp, s, pemOf(p.card("alice@example.test", nil), p.issuer)); !errors.Is(err, ErrNotMapped) {
		t.Fatalf("another card of the same person, not listed: %v", err)
	}
}

func TestDecoyAndNotAvailable(t *testing.T) {
	f, p := setup(t, nil)
	card := p.card("alice@example.test", nil)
	real, err := f.Challenge(context.Background(), alice, factor.Enrollment{ID: "directory", Kind: Kind})
	if err != nil {
		t.Fatal(err)
	}
	stranger := factor.Subject{Login: "nobody"}
	d := f.DecoyEnrollment(stranger)
	decoy, err := f.Challenge(context.Background(), stranger, d)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(real.Prompt, decoy.Prompt) || !real.Expires.Equal(decoy.Expires) {
		t.Fatalf("decoy %v differs from real %v", decoy, real)
	}
	if _, err := f.Verify(context.Background(), alice, d, decoy.State, factor.Response{Values: map[string]string{"certificate": pemOf(card, p.issuer)}}); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("decoy verified: %v", err)
	}
	if _, err := f.Challenge(context.Background(), stranger, factor.Enrollment{Kind: Kind}); !errors.Is(err, factor.ErrNotAvailable) {
		t.Fatalf("no UPN in the directory: %v", err)
	}
}

func TestExpiredChallenge(t *testing.T) {
	now := testNow
	f, p := setup(t, func(c *Config) { c.Clock = func() time.Time { return now } })
	card := p.card("alice@example.test", nil)
	e := factor.Enrollment{Kind: Kind}
	ch, _ := f.Challenge(context.Background(), alice, e)
	now = now.Add(DefaultTTL)
	if _, err := f.Verify(context.Background(), alice, e, ch.State, factor.Response{Values: map[string]string{"certificate": pemOf(card, p.issuer)}}); !errors.Is(err, factor.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
}

func TestParseProxyHeader(t *testing.T) {
	_, p := setup(t, nil)
	card := p.card("alice@example.test", nil)
	raw := pemOf(card)
	for name, v := range map[string]string{
		"nginx escaped": url.QueryEscape(raw),
		"apache":        strings.ReplaceAll(strings.TrimSpace(raw), "\n", " "),
		"pem":           raw,
	} {
		certs, err := ParseProxyHeader(v)
		if err != nil || len(certs) != 1 || !certs[0].Equal(card) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
