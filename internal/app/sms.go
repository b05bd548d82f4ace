package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/sms"
	"github.com/sspr/sspr/internal/sms/emailgateway"
	"github.com/sspr/sspr/internal/sms/twilio"
	"github.com/sspr/sspr/internal/sms/webhook"
	"github.com/sspr/sspr/internal/store"
)

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

// A *sms.PermanentError passes through as it is: the outbox recognises it
// by its Permanent method.
func (o smsOutbox) Send(ctx context.Context, m *store.Message) error {
	return o.s.Send(ctx, m.Recipient, m.TextBody)
}
