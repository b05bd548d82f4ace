package app_test

import (
	"testing"

	"github.com/sspr/sspr/internal/app"
)

// TestCheckOffersRedirectFactors: oidc, saml and certificate have a path
// through the recovery flow now, so config check no longer refuses them
// as "not in the flow yet" (their sections are still checked).
func TestCheckOffersRedirectFactors(t *testing.T) {
	cfg := parse(t, baseYAML+"verification:\n  factors: [email, totp]\n")
	cfg.Verification.Factors = append(cfg.Verification.Factors, "oidc", "saml", "certificate")
	problems, _ := app.Check(cfg, nil)
	for i := 2; i < 5; i++ {
		if has(problems, "verification.factors["+string(rune('0'+i))+"]", "not offered by the recovery flow yet") {
			t.Errorf("%s still refused: %v", cfg.Verification.Factors[i], problems)
		}
	}
}
