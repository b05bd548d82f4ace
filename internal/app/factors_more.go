package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/attributes"
	"github.com/sspr/sspr/internal/factor/backupcodes"
	"github.com/sspr/sspr/internal/factor/passkey"
	"github.com/sspr/sspr/internal/factor/questions"
	smsfactor "github.com/sspr/sspr/internal/factor/sms"
	"github.com/sspr/sspr/internal/factor/totp"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/secrets"
	"github.com/sspr/sspr/internal/sms"
	"github.com/sspr/sspr/internal/sms/emailgateway"
	"github.com/sspr/sspr/internal/sms/twilio"
	"github.com/sspr/sspr/internal/sms/webhook"
	"github.com/sspr/sspr/internal/store"
)

// moreFactors builds the factors beyond email.
func moreFactors(cfg *config.Config, k factor.Kind, key []byte, now func() time.Time) (factor.Factor, error) {
	v := cfg.Verification
	switch k {
	case factor.SMS:
		return smsfactor.New(smsfactor.Config{Key: secrets.Derive(key, "factor:sms"), CodeLength: cfg.Reset.CodeLength, TTL: cfg.Reset.CodeTTL,
			DefaultRegion: cfg.SMS.DefaultCountryCode, Now: now})
	case factor.TOTP:
		issuer := v.TOTP.Issuer
		if issuer == "" {
			issuer = cfg.Portal.Title
		}
		return totp.New(totp.Config{Issuer: issuer, Digits: v.TOTP.Digits, Period: v.TOTP.Period,
			Algorithm: totp.Algorithm(strings.ToUpper(v.TOTP.Algorithm)), Clock: now})
	case factor.BackupCodes:
		return backupcodes.New(backupcodes.Config{Count: v.BackupCodes.Count, Clock: now})
	case factor.Passkey:
		base, _ := url.Parse(cfg.Server.BaseURL)
		rpID, origins := v.Passkey.RPID, v.Passkey.Origins
		if rpID == "" {
			rpID = base.Hostname()
		}
		if len(origins) == 0 {
			origins = []string{base.Scheme + "://" + base.Host}
		}
		name := v.Passkey.RPName
		if name == "" {
			name = cfg.Portal.Title
		}
		return passkey.New(passkey.Config{RPID: rpID, RPDisplayName: name, RPOrigins: origins, UserVerification: v.Passkey.UserVerification,
			UserHandleKey: secrets.Derive(key, "factor:passkey:user-handle"), Now: now})
	case factor.Attributes:
		var attrs []attributes.Attribute
		for _, a := range v.Attributes {
			norm := a.Normalise
			if norm == "" {
				norm = "exact"
			}
			attrs = append(attrs, attributes.Attribute{Attribute: a.Attribute, Label: map[string]string{"en": a.Label}, Normaliser: norm})
		}
		return attributes.New(attributes.Config{Attributes: attrs, Clock: now})
	case factor.Questions:
		var qs []questions.Question
		for _, q := range v.Questions.Questions {
			qs = append(qs, questions.Question{ID: q.ID, Text: q.Text})
		}
		return questions.New(questions.Config{Questions: qs, AllowUserDefined: v.Questions.AllowCustom, Required: v.Questions.AnswersRequired,
			Ask: v.Questions.Asked, MinAnswerLength: v.Questions.MinAnswerLength, Clock: now})
	}
	if f, ok, err := enterpriseFactor(cfg, k, key, now); ok {
		return f, err
	}
	return nil, fmt.Errorf("unknown factor %q", k)
}

// smsSender builds the configured SMS provider as an outbox sender; nil when
// SMS is off. mail sends through the mail sender (email-to-SMS gateways).
func smsSender(cfg config.SMS, mail notify.Sender) (notify.Sender, error) {
	var s sms.Sender
	var err error
	switch cfg.Provider {
	case "none", "":
		return nil, nil
	case "twilio":
		s, err = twilio.New(twilio.Config{BaseURL: cfg.Twilio.BaseURL, AccountSID: cfg.Twilio.AccountSID, AuthToken: cfg.Twilio.AuthToken.Value,
			From: cfg.Twilio.From, MessagingServiceSID: cfg.Twilio.MessagingServiceSID})
	case "webhook":
		headers := map[string]string{}
		for _, h := range cfg.Webhook.Headers {
			headers[h.Name] = h.Value.Value
		}
		s, err = webhook.New(webhook.Config{URL: cfg.Webhook.URL, Method: cfg.Webhook.Method, Headers: headers, Body: cfg.Webhook.Body,
			ContentType: cfg.Webhook.ContentType, SuccessStatus: cfg.Webhook.SuccessStatus})
	case "email_gateway":
		s, err = emailgateway.New(emailgateway.Config{Address: cfg.EmailGateway.AddressTemplate}, func(ctx context.Context, to, subject, body string) error {
			id := make([]byte, 12)
			_, _ = rand.Read(id)
			return mail.Send(ctx, &store.Message{Recipient: to, Subject: subject, TextBody: body, MessageID: "<" + hex.EncodeToString(id) + "@sms-gateway.sspr.invalid>"})
		})
	default:
		return nil, fmt.Errorf("sms.provider: unknown %q", cfg.Provider)
	}
	if err != nil {
		return nil, fmt.Errorf("sms: %w", err)
	}
	return smsOutbox{s}, nil
}

// smsOutbox delivers outbox messages of the sms channel.
type smsOutbox struct{ s sms.Sender }

func (o smsOutbox) Send(ctx context.Context, m *store.Message) error {
	err := o.s.Send(ctx, m.Recipient, m.TextBody)
	if err != nil && sms.IsPermanent(err) {
		return &notify.PermanentError{Err: err}
	}
	return err
}
