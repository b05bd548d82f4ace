package twilio_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/sms"
	"github.com/sspr/sspr/internal/sms/smstest"
	"github.com/sspr/sspr/internal/sms/twilio"
)

func newSender(t *testing.T, fake *smstest.Twilio, mod func(*twilio.Config)) *twilio.Sender {
	t.Helper()
	cfg := twilio.Config{
		BaseURL: fake.URL(), AccountSID: fake.AccountSID, AuthToken: fake.AuthToken,
		From: "+15005550006", Timeout: 5 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := twilio.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSendSuccess(t *testing.T) {
	fake := smstest.NewTwilio(t)
	s := newSender(t, fake, nil)
	m, err := s.SendMessage(context.Background(), "+14155550142", "Your sspr code is 123456 & <b>")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.SID, "SM") || m.Status != "queued" || m.To != "+14155550142" {
		t.Fatalf("message %+v", m)
	}
	if _, err := time.Parse(time.RFC1123Z, m.DateCreated); err != nil {
		t.Errorf("date_created %q is not RFC 2822: %v", m.DateCreated, err)
	}
	got := fake.Messages()
	if len(got) != 1 || got[0].Body != "Your sspr code is 123456 & <b>" || got[0].From != "+15005550006" || got[0].AuthUser != fake.AccountSID {
		t.Fatalf("fake received %+v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := fake.WaitFor(ctx, func(m smstest.Message) bool { return m.To == "+14155550142" }); err != nil {
		t.Fatal(err)
	}
}

func TestSendWithAPIKeyAndMessagingService(t *testing.T) {
	fake := smstest.NewTwilio(t)
	s := newSender(t, fake, func(c *twilio.Config) {
		c.AuthToken, c.APIKeySID, c.APIKeySecret = "", fake.APIKeySID, fake.APIKeySecret
		c.From, c.MessagingServiceSID = "", "MG0123456789abcdef0123456789abcdef"
	})
	if err := s.Send(context.Background(), "+442079460018", "hello"); err != nil {
		t.Fatal(err)
	}
	m := fake.Messages()[0]
	if m.AuthUser != fake.APIKeySID || m.MessagingServiceSID != "MG0123456789abcdef0123456789abcdef" || m.From != "" {
		t.Fatalf("fake received %+v", m)
	}
}

func TestSendPermanent(t *testing.T) {
	fake := smstest.NewTwilio(t)
	s := newSender(t, fake, nil)
	tests := []struct {
		to     string
		code   int
		reason string
	}{
		{smstest.NumberInvalid, 21211, sms.ReasonInvalidNumber},
		{"+1415", 21211, sms.ReasonInvalidNumber},
		{smstest.NumberNotMobile, 21614, sms.ReasonNotMobile},
		{smstest.NumberBlocked, 21610, sms.ReasonUnsubscribed},
		{smstest.NumberUnroutable, 21612, sms.ReasonUnreachable},
		{smstest.NumberNoPermission, 21408, sms.ReasonUnreachable},
	}
	for _, tt := range tests {
		err := s.Send(context.Background(), tt.to, "code")
		var perm *sms.PermanentError
		var api *twilio.APIError
		if !errors.As(err, &perm) || perm.Reason != tt.reason || !errors.As(err, &api) || api.Code != tt.code || api.Status != 400 {
			t.Errorf("%s: error %v (%#v), want permanent %s with code %d", tt.to, err, err, tt.reason, tt.code)
		}
		if api != nil && api.MoreInfo == "" {
			t.Errorf("%s: no more_info", tt.to)
		}
	}
	if n := len(fake.Messages()); n != 0 {
		t.Fatalf("%d messages accepted", n)
	}
}

func TestSendRetryable(t *testing.T) {
	fake := smstest.NewTwilio(t)
	s := newSender(t, fake, nil)
	fake.FailNext(2)
	for i := range 2 {
		err := s.Send(context.Background(), "+14155550142", "code")
		var api *twilio.APIError
		if err == nil || sms.IsPermanent(err) || !errors.As(err, &api) || api.Status != 503 {
			t.Fatalf("attempt %d: %v, want a retryable 503", i, err)
		}
	}
	if err := s.Send(context.Background(), "+14155550142", "code"); err != nil {
		t.Fatalf("third attempt: %v", err)
	}
	fake.FailNextWith(1, http.StatusTooManyRequests)
	err := s.Send(context.Background(), "+14155550142", "code")
	var ra *twilio.RetryAfterError
	if sms.IsPermanent(err) || !errors.As(err, &ra) || ra.After != time.Second {
		t.Fatalf("429: %v", err)
	}
	if got := fake.Requests(); got != 4 {
		t.Fatalf("%d requests", got)
	}
}

func TestSendTimeout(t *testing.T) {
	slow := make(chan struct{})
	fake := smstest.NewTwilio(t)
	s := newSender(t, fake, func(c *twilio.Config) {
		c.Timeout = 50 * time.Millisecond
		c.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			select {
			case <-slow:
			case <-r.Context().Done():
			}
			return nil, r.Context().Err()
		})}
	})
	err := s.Send(context.Background(), "+14155550142", "code")
	if err == nil || sms.IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout: %v", err)
	}
	if strings.Contains(err.Error(), "4155550142") {
		t.Errorf("the error shows the number: %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestSendAuthFailure(t *testing.T) {
	fake := smstest.NewTwilio(t)
	s := newSender(t, fake, func(c *twilio.Config) { c.AuthToken = "wrong" })
	err := s.Send(context.Background(), "+14155550142", "code")
	var api *twilio.APIError
	if !errors.Is(err, sms.ErrUnauthorized) || sms.IsPermanent(err) || !errors.As(err, &api) || api.Code != 20003 {
		t.Fatalf("bad token: %v", err)
	}
	// A valid API key, another account's path: Twilio answers 404/20404.
	s = newSender(t, fake, func(c *twilio.Config) {
		c.AccountSID, c.APIKeySID, c.APIKeySecret = "ACother", fake.APIKeySID, fake.APIKeySecret
	})
	err = s.Send(context.Background(), "+14155550142", "code")
	if !errors.As(err, &api) || api.Code != 20404 || sms.IsPermanent(err) {
		t.Fatalf("other account: %v", err)
	}
}

func TestNewChecksConfig(t *testing.T) {
	_, err := twilio.New(twilio.Config{BaseURL: "ftp://x"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"base URL", "account SID", "auth token", "From"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
