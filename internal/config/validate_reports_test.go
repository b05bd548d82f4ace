package config

import (
	"strings"
	"testing"
)

func TestValidateReports(t *testing.T) {
	tests := []struct {
		name     string
		amount   string
		currency string
		want     string // a key expected in the problems; "" for none
	}{
		{"none", "", "", ""},
		{"amount and currency", "22.50", "EUR", ""},
		{"whole amount", "30", "USD", ""},
		{"currency alone", "", "CHF", ""},
		{"amount without currency", "22.50", "", "admin.cost_per_call.currency"},
		{"lower-case currency", "22.50", "eur", "admin.cost_per_call.currency"},
		{"symbol", "22.50", "€", "admin.cost_per_call.currency"},
		{"comma", "22,50", "EUR", "admin.cost_per_call.amount"},
		{"negative", "-5", "EUR", "admin.cost_per_call.amount"},
		{"too much", "10000.01", "EUR", "admin.cost_per_call.amount"},
		{"words", "twenty", "EUR", "admin.cost_per_call.amount"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			c.Admin.CostPerCall = CostPerCall{Amount: tc.amount, Currency: tc.currency}
			p := &Problems{}
			c.validateReports(p)
			got := p.Error()
			if tc.want == "" && len(p.List) > 0 {
				t.Fatalf("unexpected problems: %s", got)
			}
			if tc.want != "" && !strings.Contains(got, tc.want) {
				t.Fatalf("problems %q do not name %s", got, tc.want)
			}
		})
	}
	if v, ok := (CostPerCall{Amount: "22.50"}).Value(); !ok || v != 22.5 {
		t.Fatalf("22.50 = %v, %v", v, ok)
	}
}
