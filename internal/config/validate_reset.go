package config

import "time"

// validateReset checks the reset flow's codes, lifetimes and caps.
func (c *Config) validateReset(p *Problems) {
	r := c.Reset
	if r.CodeLength < 6 || r.CodeLength > 10 {
		p.addf("reset.code_length", "%d is outside 6..10 (NIST SP 800-63B asks for at least 6 digits)", r.CodeLength)
	}
	if r.CodeTTL <= 0 || r.CodeTTL > 10*time.Minute {
		p.addf("reset.code_ttl", "%s is outside (0, 10m]: codes must be short-lived", r.CodeTTL)
	}
	if r.MaxCodeAttempts < 1 || r.MaxCodeAttempts > 5 {
		p.addf("reset.max_code_attempts", "%d is outside 1..5", r.MaxCodeAttempts)
	}
	if r.FlowTTL < r.CodeTTL {
		p.add("reset.flow_ttl", "must not be shorter than reset.code_ttl")
	}
	if r.FinishedRetention < 0 {
		p.add("reset.finished_retention", "must not be negative")
	}
	if r.IdentifyMinDuration < 0 || r.IdentifyMinDuration > 10*time.Second {
		p.add("reset.identify_min_duration", "must be between 0 and 10s")
	}
	if r.StepMinDuration < 0 || r.StepMinDuration > 10*time.Second {
		p.add("reset.step_min_duration", "must be between 0 and 10s")
	}
	if r.MaxPasswordAttempts < 1 {
		p.add("reset.max_password_attempts", "must be at least 1")
	}
	if r.MaxCodesSent < 0 || r.MaxCodesSent > 50 {
		p.addf("reset.max_codes_sent", "%d is outside 0..50 (0: 3 more than the factors offered)", r.MaxCodesSent)
	}
}

// MaxCodesSent is reset.max_codes_sent, or its default for the factors
// offered: a code per factor and three resends.
func (c *Config) MaxCodesSent() int {
	if c.Reset.MaxCodesSent > 0 {
		return c.Reset.MaxCodesSent
	}
	return 3 + len(c.Verification.Factors)
}

// validateEnrollment checks the enrollment session's lifetimes.
func (c *Config) validateEnrollment(p *Problems) {
	e := c.Enrollment
	if e.SessionTTL <= 0 || e.SessionTTL > 12*time.Hour {
		p.addf("enrollment.session_ttl", "%s is outside (0, 12h]", e.SessionTTL)
	}
	if e.StepUpWindow <= 0 || e.StepUpWindow > e.SessionTTL {
		p.addf("enrollment.step_up_window", "%s is outside (0, session_ttl]", e.StepUpWindow)
	}
}
