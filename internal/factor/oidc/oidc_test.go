package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/oauth2"

	"github.com/sspr/sspr/internal/factor"
)

// The provider is zitadel/oidc's example OpenID Provider (a certified
// implementation of the protocol), run in-process on loopback. Its user
// store has test-user@localhost (sub id1) with the password verysecure.

const (
	redirectURL = "http://127.0.0.1:9/sspr/callback"
	clientID    = "sspr"
	secret      = "sspr-client-secret"
)

var registerOnce sync.Once

// startProvider runs an OP on a loopback port; its issuer is
// http://localhost:PORT/.
func startProvider(t *testing.T) string {
	t.Helper()
	issuer, _ := startProviderWith(t, nil, "localhost")
	return issuer
}

// startProviderWith runs an OP with the storage st (a new one when nil:
// its own signing key), and the issuer http://HOST:PORT/.
func startProviderWith(t *testing.T, st *storage.Storage, host string) (string, *storage.Storage) {
	t.Helper()
	registerOnce.Do(func() {
		storage.RegisterClients(storage.WebClient(clientID, secret, redirectURL), storage.WebClient("another-app", secret, redirectURL))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	issuer := "http://" + host + ":" + strconv.Itoa(port) + "/"
	if st == nil {
		st = storage.NewStorage(storage.NewUserStore(issuer))
	}
	router := exampleop.SetupServer(issuer, st, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	srv := &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return issuer, st
}

func newFactor(t *testing.T, issuer string, mod func(*Config)) *Factor {
	t.Helper()
	cfg := Config{Issuer: issuer, ClientID: clientID, ClientSecret: secret, RedirectURL: redirectURL, Claim: "sub", Attribute: "oidcSubject"}
	if mod != nil {
		mod(&cfg)
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var alice = factor.Subject{Login: "alice", Attributes: map[string][]string{"oidcSubject": {"id1"}}}

// browse plays the person's browser: opens the authorization URL, signs
// in at the provider's login form and returns the query the provider
// redirects to sspr's callback with.
func browse(t *testing.T, authURL, user, password string) url.Values {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	var callback *url.URL
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(r.URL.String(), redirectURL) {
			callback = r.URL
			return http.ErrUseLastResponse
		}
		return nil
	}}
	res, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if callback != nil {
		return callback.Query()
	}
	// The login page: its URL carries the auth request ID.
	id := res.Request.URL.Query().Get("authRequestID")
	if id == "" {
		t.Fatalf("no login page at %s", res.Request.URL)
	}
	login := *res.Request.URL
	login.RawQuery = ""
	res, err = c.PostForm(login.String(), url.Values{"id": {id}, "username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if callback == nil {
		t.Fatalf("the provider did not redirect back (status %s at %s)", res.Status, res.Request.URL)
	}
	return callback.Query()
}

func answer(q url.Values) factor.Response {
	return factor.Response{Values: map[string]string{"code": q.Get("code"), "state": q.Get("state"), "error": q.Get("error")}}
}

func TestSignInSucceeds(t *testing.T) {
	issuer := startProvider(t)
	f := newFactor(t, issuer, nil)
	e := factor.Enrollment{ID: "directory", Kind: Kind}
	ch, err := f.Challenge(context.Background(), alice, e)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(ch.Prompt["redirect"].(string))
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Fatalf("authorization URL without PKCE, nonce or state: %s", u)
	}
	back := browse(t, u.String(), "test-user@localhost", "verysecure")
	if _, err := f.Verify(context.Background(), alice, e, ch.State, answer(back)); err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	// The code is spent: the same answer again does not verify.
	if _, err := f.Verify(context.Background(), alice, e, ch.State, answer(back)); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("replayed code: %v", err)
	}
}

func TestSomebodyElseRefused(t *testing.T) {
	issuer := startProvider(t)
	f := newFactor(t, issuer, nil)
	e := factor.Enrollment{Kind: Kind}
	ch, _ := f.Challenge(context.Background(), alice, e)
	back := browse(t, ch.Prompt["redirect"].(string), "test-user2", "verysecure")
	if _, err := f.Verify(context.Background(), alice, e, ch.State, answer(back)); !errors.Is(err, ErrNotThem) {
		t.Fatalf("another user's sign-in: %v, want ErrNotThem", err)
	}
}

func TestWrongStateRefused(t *testing.T) {
	issuer := startProvider(t)
	f := newFactor(t, issuer, nil)
	e := factor.Enrollment{Kind: Kind}
	first, _ := f.Challenge(context.Background(), alice, e)
	second, _ := f.Challenge(context.Background(), alice, e)
	back := browse(t, first.Prompt["redirect"].(string), "test-user@localhost", "verysecure")
	_, err := f.Verify(context.Background(), alice, e, second.State, answer(back))
	if !errors.Is(err, ErrState) || !errors.Is(err, factor.ErrForeignAnswer) || errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("answer to another challenge: %v, want ErrState, a foreign answer and not a wrong one", err)
	}
}

// idToken signs test-user@localhost in for client and returns the raw ID
// token with the nonce it carries.
func idToken(t *testing.T, issuer, client string) (raw, nonce string) {
	t.Helper()
	f := newFactor(t, issuer, func(c *Config) { c.ClientID = client })
	ch, err := f.Challenge(context.Background(), alice, factor.Enrollment{Kind: Kind})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(ch.Prompt["redirect"].(string))
	back := browse(t, u.String(), "test-user@localhost", "verysecure")
	p, _ := f.discover(context.Background())
	var st state
	_ = json.Unmarshal(ch.State, &st)
	tok, err := f.oauth(p).Exchange(f.ctx(context.Background()), back.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("no ID token")
	}
	return raw, u.Query().Get("nonce")
}

func TestIDTokenChecks(t *testing.T) {
	issuer, st := startProviderWith(t, nil, "localhost")
	// The same provider (the same signing key) under another issuer name:
	// only the issuer check can refuse its tokens.
	other, _ := startProviderWith(t, st, "127.0.0.1")
	f := newFactor(t, issuer, nil)
	p, err := f.discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	good, nonce := idToken(t, issuer, clientID)
	if err := f.checkIDToken(context.Background(), p, good, nonce, alice); err != nil {
		t.Fatalf("good ID token: %v", err)
	}
	wrongAud, nonce2 := idToken(t, issuer, "another-app")
	wrongIss, nonce3 := idToken(t, other, clientID)
	wrongKey, nonce4 := idToken(t, startProvider(t), clientID)
	parts := strings.Split(good, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)/2] ^= 1
	badSig := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	for name, c := range map[string]struct{ raw, nonce, want string }{
		"wrong audience":  {wrongAud, nonce2, "audience"},
		"wrong issuer":    {wrongIss, nonce3, "issue"},
		"another key":     {wrongKey, nonce4, "signature"},
		"bad signature":   {badSig, nonce, "signature"},
		"wrong nonce":     {good, "another nonce", "nonce"},
		"not a token":     {"abc.def.ghi", nonce, ""},
		"payload swapped": {parts[0] + "." + strings.Split(wrongAud, ".")[1] + "." + parts[2], nonce, "signature"},
	} {
		t.Run(name, func(t *testing.T) {
			err := f.checkIDToken(context.Background(), p, c.raw, c.nonce, alice)
			if !errors.Is(err, ErrIDToken) || !errors.Is(err, factor.ErrWrongResponse) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%v, want ErrIDToken mentioning %q", err, c.want)
			}
		})
	}
	// Expired: the same good token, an hour and more later.
	late := newFactor(t, issuer, func(c *Config) { c.Clock = func() time.Time { return time.Now().Add(2 * time.Hour) } })
	lp, _ := late.discover(context.Background())
	if err := late.checkIDToken(context.Background(), lp, good, nonce, alice); !errors.Is(err, ErrIDToken) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired token: %v", err)
	}
}

func TestDecoyAndNotAvailable(t *testing.T) {
	issuer := startProvider(t)
	f := newFactor(t, issuer, nil)
	real, err := f.Challenge(context.Background(), alice, factor.Enrollment{Kind: Kind})
	if err != nil {
		t.Fatal(err)
	}
	stranger := factor.Subject{Login: "nobody"}
	d := f.DecoyEnrollment(stranger)
	decoy, err := f.Challenge(context.Background(), stranger, d)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(keys(real.Prompt), keys(decoy.Prompt)) || real.Prompt["message"] != decoy.Prompt["message"] {
		t.Fatalf("decoy prompt %v, real %v", decoy.Prompt, real.Prompt)
	}
	ru, _ := url.Parse(real.Prompt["redirect"].(string))
	du, _ := url.Parse(decoy.Prompt["redirect"].(string))
	if !reflect.DeepEqual(keys2(ru.Query()), keys2(du.Query())) || ru.Path != du.Path {
		t.Fatalf("decoy redirect %s, real %s", du, ru)
	}
	back := browse(t, du.String(), "test-user@localhost", "verysecure")
	if _, err := f.Verify(context.Background(), alice, d, decoy.State, answer(back)); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("decoy verified: %v", err)
	}
	// An answer for another challenge is foreign to a decoy as to a real
	// one: a stranger sees no difference.
	other := browse(t, ru.String(), "test-user@localhost", "verysecure")
	if _, err := f.Verify(context.Background(), alice, d, decoy.State, answer(other)); !errors.Is(err, factor.ErrForeignAnswer) {
		t.Fatalf("a decoy given another challenge's answer: %v, want a foreign answer", err)
	}
	if _, err := f.Challenge(context.Background(), stranger, factor.Enrollment{Kind: Kind}); !errors.Is(err, factor.ErrNotAvailable) {
		t.Fatalf("no mapped attribute: %v", err)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func keys2(v url.Values) []string {
	var out []string
	for k := range v {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"http issuer":   {Issuer: "http://idp.example.com", ClientID: "x", RedirectURL: "https://sspr.example.com/cb"},
		"no client":     {Issuer: "https://idp.example.com", RedirectURL: "https://sspr.example.com/cb"},
		"no redirect":   {Issuer: "https://idp.example.com", ClientID: "x"},
		"http redirect": {Issuer: "https://idp.example.com", ClientID: "x", RedirectURL: "http://sspr.example.com/cb"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
