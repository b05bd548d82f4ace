package emailgateway_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/sms"
	"github.com/sspr/sspr/internal/sms/emailgateway"
)

type sent struct{ to, subject, body string }

func TestSend(t *testing.T) {
	var got []sent
	mail := func(_ context.Context, to, subject, body string) error {
		got = append(got, sent{to, subject, body})
		return nil
	}
	tests := []struct{ tmpl, number, want string }{
		{"{{.Number}}@sms.example.net", "+14155550142", "14155550142@sms.example.net"},
		{"{{.National}}@vtext.com", "+14155550142", "4155550142@vtext.com"},
		{"+{{.CountryCode}}.{{.National}}@gw.example", "+442079460018", "+44.2079460018@gw.example"},
	}
	for _, tt := range tests {
		s, err := emailgateway.New(emailgateway.Config{Address: tt.tmpl, Subject: "sspr"}, mail)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(context.Background(), tt.number, "code 123456"); err != nil {
			t.Fatal(err)
		}
		last := got[len(got)-1]
		if last.to != tt.want || last.subject != "sspr" || last.body != "code 123456" {
			t.Errorf("%s: sent %+v, want to %s", tt.tmpl, last, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	mailErr := errors.New("smtp down")
	s, err := emailgateway.New(emailgateway.Config{Address: "{{.Number}}@sms.example.net"},
		func(context.Context, string, string, string) error { return mailErr })
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), "+14155550142", "x")
	if !errors.Is(err, mailErr) || sms.IsPermanent(err) || strings.Contains(err.Error(), "4155550142") {
		t.Fatalf("mail failure: %v", err)
	}
	if err := s.Send(context.Background(), "4155550142", "x"); !sms.IsPermanent(err) {
		t.Fatalf("a non-E.164 number: %v", err)
	}
	perm := sms.Permanent(sms.ReasonRejected, errors.New("550 no such user"))
	s, _ = emailgateway.New(emailgateway.Config{Address: "{{.Number}}@sms.example.net"},
		func(context.Context, string, string, string) error { return perm })
	if err := s.Send(context.Background(), "+14155550142", "x"); !sms.IsPermanent(err) {
		t.Fatalf("permanent mail error lost: %v", err)
	}
}

func TestNewChecksConfig(t *testing.T) {
	mail := func(context.Context, string, string, string) error { return nil }
	bad := []emailgateway.Config{
		{},
		{Address: "{{.Number"},
		{Address: "{{.Phone}}@x.example"},
		{Address: "{{.Number}}"},
		{Address: "{{.Number}}@x.example, evil@y.example"},
		{Address: "Name <{{.Number}}@x.example>"},
		{Address: "{{.Number}}@x.example", Subject: "a\r\nBcc: evil@y.example"},
	}
	for _, cfg := range bad {
		if _, err := emailgateway.New(cfg, mail); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	if _, err := emailgateway.New(emailgateway.Config{Address: "{{.Number}}@x.example"}, nil); err == nil {
		t.Error("nil mail function accepted")
	}
}
