package config

import (
	"regexp"
	"strconv"
)

var (
	currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)
	plainAmount  = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,4})?$`)
)

// validateReports checks the settings of the console's reports.
func (c *Config) validateReports(p *Problems) {
	cp := c.Admin.CostPerCall
	if cp.Amount != "" {
		if _, ok := cp.Value(); !ok {
			p.addf("admin.cost_per_call.amount", "%q is not an amount; write it like 22.50 (0 or more, at most 10000)", cp.Amount)
		}
		if cp.Currency == "" {
			p.addf("admin.cost_per_call.currency", "is required with an amount; give an ISO 4217 code such as EUR or USD")
		}
	}
	if cp.Currency != "" && !currencyCode.MatchString(cp.Currency) {
		p.addf("admin.cost_per_call.currency", "%q is not an ISO 4217 code; write three capital letters such as EUR or USD", cp.Currency)
	}
}

// Value is the amount as a number; ok is false when it is not a plain
// decimal between 0 and 10000 ("" is 0).
func (c CostPerCall) Value() (v float64, ok bool) {
	if c.Amount == "" {
		return 0, true
	}
	if !plainAmount.MatchString(c.Amount) {
		return 0, false
	}
	v, err := strconv.ParseFloat(c.Amount, 64)
	if err != nil || v > 10000 {
		return 0, false
	}
	return v, true
}
