package config

import (
	"fmt"
	"regexp"
)

// validatePassword checks the password rules that can be checked without
// building them (package password builds and checks the rest at start-up,
// through app.Check).
func (c *Config) validatePassword(p *Problems) {
	pw := c.Password
	switch pw.Preset {
	case "nist-800-63b-4", "pci-dss-4", "ad-complexity", "custom":
	default:
		p.addf("password.preset", "%q is not one of nist-800-63b-4, pci-dss-4, ad-complexity, custom", pw.Preset)
	}
	if pw.MinScore != nil && (*pw.MinScore < 0 || *pw.MinScore > 4) {
		p.addf("password.min_score", "%d is outside 0..4", *pw.MinScore)
	}
	for i, r := range pw.Regexes {
		if _, err := regexp.Compile(r.Pattern); err != nil {
			p.addf(fmt.Sprintf("password.regexes[%d].pattern", i), "is not a valid regular expression: %v", err)
		}
		if r.Name == "" {
			p.add(fmt.Sprintf("password.regexes[%d].name", i), "is required")
		}
		if r.Message == "" {
			p.add(fmt.Sprintf("password.regexes[%d].message", i), "is required: it is what people read when the rule fails")
		}
	}
	checkFile(p, "password.banned_words_file", pw.BannedWordsFile)
	switch pw.Breach.OnError {
	case "refuse", "allow":
	default:
		p.addf("password.breach.on_error", "%q is not one of refuse, allow", pw.Breach.OnError)
	}
}
