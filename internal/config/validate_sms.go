package config

import (
	"net/url"
	"strings"
)

// validateSMS checks the configured SMS provider only: the settings of the
// others may stay in the file (as in the example) and their secret files
// need not exist.
func (c *Config) validateSMS(p *Problems) {
	s := c.SMS
	switch s.Provider {
	case "none":
	case "twilio":
		if s.Twilio.AccountSID == "" {
			p.add("sms.twilio.account_sid", "is required")
		}
		if s.Twilio.AuthToken.Value == "" && s.Twilio.AuthToken.File == "" {
			p.add("sms.twilio.auth_token", "is required (or auth_token_file)")
		}
		if s.Twilio.From == "" && s.Twilio.MessagingServiceSID == "" {
			p.add("sms.twilio.from", "from or messaging_service_sid is required")
		}
	case "webhook":
		if u, err := url.Parse(s.Webhook.URL); err != nil || u.Scheme == "" || u.Host == "" {
			p.addf("sms.webhook.url", "%q is not an absolute URL", s.Webhook.URL)
		}
		if s.Webhook.Body == "" {
			p.add("sms.webhook.body", "is required (a template using .To and .Body)")
		}
	case "email_gateway":
		if !strings.Contains(s.EmailGateway.AddressTemplate, "{{") {
			p.add("sms.email_gateway.address_template", "is required, e.g. {{.Number}}@sms.example.net")
		}
	default:
		p.addf("sms.provider", "%q is not one of none, twilio, webhook, email_gateway", s.Provider)
	}
	if s.Provider != "none" && s.DefaultCountryCode != "" && !strings.HasPrefix(s.DefaultCountryCode, "+") {
		p.addf("sms.default_country_code", "%q must start with +, e.g. +1", s.DefaultCountryCode)
	}
}
