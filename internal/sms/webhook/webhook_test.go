package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/sms"
	"github.com/sspr/sspr/internal/sms/smstest"
	"github.com/sspr/sspr/internal/sms/webhook"
)

func TestJSONBodyEscaping(t *testing.T) {
	wh := smstest.NewWebhook(t)
	s, err := webhook.New(webhook.Config{
		URL:     wh.URL() + "/send",
		Headers: map[string]string{"Authorization": "Bearer s3cret"},
		Body:    `{"to": {{json .To}}, "text": {{json .Body}}, "cc": {{json .CountryCode}}}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	body := "Code \"42\"\nline2 \\ </script> ünï"
	if err := s.Send(context.Background(), "+14155550142", body); err != nil {
		t.Fatal(err)
	}
	r := wh.Requests()[0]
	if r.Method != "POST" || r.Path != "/send" || r.Header.Get("Authorization") != "Bearer s3cret" || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("request %+v", r)
	}
	var got struct{ To, Text, CC string }
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	if got.To != "+14155550142" || got.Text != body || got.CC != "1" {
		t.Fatalf("decoded %+v", got)
	}
}

func TestFormAndQueryTemplates(t *testing.T) {
	wh := smstest.NewWebhook(t)
	s, err := webhook.New(webhook.Config{
		URL:         wh.URL() + "/api/{{path .Digits}}?dest={{query .To}}&sig=k&y",
		Body:        "to={{query .To}}&text={{query .Body}}",
		ContentType: "application/x-www-form-urlencoded",
		Method:      "put",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), "+442079460018", "a&b=c d+é"); err != nil {
		t.Fatal(err)
	}
	r := wh.Requests()[0]
	if r.Method != "PUT" || r.Path != "/api/442079460018" || r.Query.Get("dest") != "+442079460018" {
		t.Fatalf("request %+v", r)
	}
	vals, err := parseForm(string(r.Body))
	if err != nil || vals["to"] != "+442079460018" || vals["text"] != "a&b=c d+é" {
		t.Fatalf("form %q: %v %v", r.Body, vals, err)
	}
}

func parseForm(s string) (map[string]string, error) {
	out := map[string]string{}
	for kv := range strings.SplitSeq(s, "&") {
		k, v, _ := strings.Cut(kv, "=")
		dv, err := queryUnescape(v)
		if err != nil {
			return nil, err
		}
		out[k] = dv
	}
	return out, nil
}

func TestGETWithoutBody(t *testing.T) {
	wh := smstest.NewWebhook(t)
	s, err := webhook.New(webhook.Config{Method: "GET", URL: wh.URL() + "/?n={{.Digits}}&m={{query .Body}}"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), "+14155550142", "hi there"); err != nil {
		t.Fatal(err)
	}
	r := wh.Requests()[0]
	if r.Method != "GET" || r.Query.Get("n") != "14155550142" || r.Query.Get("m") != "hi there" || len(r.Body) != 0 || r.Header.Get("Content-Type") != "" {
		t.Fatalf("request %+v", r)
	}
}

func TestSuccessRule(t *testing.T) {
	wh := smstest.NewWebhook(t)
	newSender := func(cfg webhook.Config) *webhook.Sender {
		cfg.URL = wh.URL()
		cfg.Body = `{"to":{{json .To}}}`
		s, err := webhook.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name      string
		cfg       webhook.Config
		status    int
		answer    string
		ok, perm  bool
		unauthErr bool
	}{
		{"default 2xx", webhook.Config{}, 202, "", true, false, false},
		{"default 500", webhook.Config{}, 500, "oops", false, false, false},
		{"status set", webhook.Config{SuccessStatus: []int{201}}, 200, "", false, false, false},
		{"field true", webhook.Config{SuccessField: "ok"}, 200, `{"ok":true}`, true, false, false},
		{"field false", webhook.Config{SuccessField: "ok"}, 200, `{"ok":false}`, false, false, false},
		{"nested match", webhook.Config{SuccessField: "result.state", SuccessMatch: "^(queued|sent)$"}, 200, `{"result":{"state":"queued"}}`, true, false, false},
		{"nested mismatch", webhook.Config{SuccessField: "result.state", SuccessMatch: "^(queued|sent)$"}, 200, `{"result":{"state":"failed"}}`, false, false, false},
		{"missing field", webhook.Config{SuccessField: "id"}, 200, `{}`, false, false, false},
		{"not json", webhook.Config{SuccessField: "id"}, 200, `<html>`, false, false, false},
		{"body regex", webhook.Config{SuccessMatch: `^OK`}, 200, "OK: 1 sent", true, false, false},
		{"permanent status", webhook.Config{PermanentStatus: []int{400, 422}}, 422, `{"error":"bad number"}`, false, true, false},
		{"permanent match", webhook.Config{SuccessField: "ok", PermanentMatch: "invalid (number|destination)"}, 200, `{"ok":false,"error":"invalid number"}`, false, true, false},
		{"unauthorised", webhook.Config{}, 401, "", false, false, true},
	}
	for _, tt := range tests {
		wh.Respond(tt.status, tt.answer)
		err := newSender(tt.cfg).Send(context.Background(), "+14155550142", "x")
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case !tt.ok && err == nil:
			t.Errorf("%s: accepted", tt.name)
		case !tt.ok && sms.IsPermanent(err) != tt.perm:
			t.Errorf("%s: permanent=%v: %v", tt.name, sms.IsPermanent(err), err)
		case !tt.ok && errors.Is(err, sms.ErrUnauthorized) != tt.unauthErr:
			t.Errorf("%s: unauthorized=%v: %v", tt.name, !tt.unauthErr, err)
		}
	}
}

func TestRetryThenSuccess(t *testing.T) {
	wh := smstest.NewWebhook(t)
	s, err := webhook.New(webhook.Config{URL: wh.URL(), Body: `{{json .Body}}`})
	if err != nil {
		t.Fatal(err)
	}
	wh.FailNext(1, http.StatusBadGateway)
	err = s.Send(context.Background(), "+14155550142", "x")
	var se *webhook.StatusError
	if !errors.As(err, &se) || se.Status != 502 || sms.IsPermanent(err) {
		t.Fatalf("first: %v", err)
	}
	if err := s.Send(context.Background(), "+14155550142", "x"); err != nil {
		t.Fatalf("second: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := wh.WaitFor(ctx, func(r smstest.Request) bool { return string(r.Body) == `"x"` }); err != nil {
		t.Fatal(err)
	}
}

func TestErrorsHideSecrets(t *testing.T) {
	s, err := webhook.New(webhook.Config{
		URL:     "http://127.0.0.1:1/send?key=topsecret&to={{query .To}}",
		Headers: map[string]string{"X-Api-Key": "hunter2"},
		Timeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), "+14155550142", "code 123456")
	if err == nil || sms.IsPermanent(err) {
		t.Fatalf("unreachable gateway: %v", err)
	}
	for _, secret := range []string{"topsecret", "hunter2", "4155550142", "123456"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q shows %q", err, secret)
		}
	}
}

func TestNewChecksConfig(t *testing.T) {
	tests := []webhook.Config{
		{},
		{URL: "{{.Nope"},
		{URL: "{{.Unknown}}"},
		{URL: "ftp://x/"},
		{URL: "http://x/", Body: "{{"},
		{URL: "http://x/", Method: "DELETE"},
		{URL: "http://x/", SuccessMatch: "("},
		{URL: "http://x/", PermanentMatch: "("},
		{URL: "http://x/", SuccessStatus: []int{42}},
		{URL: "http://x/", Headers: map[string]string{"X-A": "a\r\nX-B: b"}},
	}
	for i, cfg := range tests {
		if _, err := webhook.New(cfg); err == nil {
			t.Errorf("config %d (%+v) accepted", i, cfg)
		}
	}
}

func TestRender(t *testing.T) {
	s, err := webhook.New(webhook.Config{URL: "https://gw.example/{{.National}}", Body: `{"m":{{json .Body}}}`})
	if err != nil {
		t.Fatal(err)
	}
	u, b, err := s.Render("+33612345678", `a"b`)
	if err != nil || u != "https://gw.example/612345678" || b != `{"m":"a\"b"}` {
		t.Fatalf("Render = %q, %q, %v", u, b, err)
	}
	if _, _, err := s.Render("0612345678", "x"); !sms.IsPermanent(err) {
		t.Fatalf("a non-E.164 number: %v", err)
	}
}

func queryUnescape(s string) (string, error) { return url.QueryUnescape(s) }
