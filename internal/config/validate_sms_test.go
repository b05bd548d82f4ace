package config_test

import (
	"testing"

	"github.com/sspr/sspr/internal/config"
)

// TestSMSRules: only the configured provider's settings are checked.
func TestSMSRules(t *testing.T) {
	t.Parallel()
	checkRules(t, []rule{
		{"none ignores the others' settings", func(c *config.Config) { c.SMS.Twilio.AccountSID = "" }, nil},
		{"unknown provider", func(c *config.Config) { c.SMS.Provider = "carrier-pigeon" }, []string{"sms.provider"}},
		{"twilio without settings", func(c *config.Config) { c.SMS.Provider = "twilio" },
			[]string{"sms.twilio.account_sid", "sms.twilio.auth_token", "sms.twilio.from"}},
		{"webhook without url and body", func(c *config.Config) { c.SMS.Provider = "webhook" }, []string{"sms.webhook.body", "sms.webhook.url"}},
		{"email gateway without template", func(c *config.Config) { c.SMS.Provider = "email_gateway" }, []string{"sms.email_gateway.address_template"}},
		{"country code without +", func(c *config.Config) {
			c.SMS.Provider, c.SMS.EmailGateway.AddressTemplate, c.SMS.DefaultCountryCode = "email_gateway", "{{.Number}}@sms.example.net", "49"
		}, []string{"sms.default_country_code"}},
		{"sms offered without a provider", func(c *config.Config) { c.Verification.Factors = []string{"email", "sms"} }, []string{"verification.factors"}},
	})
}
