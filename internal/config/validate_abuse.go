package config

import "time"

// validateAbuse checks the stored limits and the proof of work.
func (c *Config) validateAbuse(p *Problems) {
	a := c.Abuse
	for _, l := range []struct {
		key string
		l   Limit
	}{{"abuse.user_failures", a.UserFailures}, {"abuse.ip_failures", a.IPFailures},
		{"abuse.sends_per_destination", a.SendsPerDestination}, {"abuse.sends_per_ip", a.SendsPerIP},
		{"abuse.resets_per_user", a.ResetsPerUser}, {"abuse.identify_per_ip", a.IdentifyPerIP}} {
		if l.l.Limit < 1 {
			p.add(l.key+".limit", "must be at least 1")
		}
		positive(p, l.key+".window", l.l.Window)
		if l.l.Block < 0 {
			p.add(l.key+".block", "must not be negative")
		}
	}
	if a.ProofOfWorkBits < 0 || a.ProofOfWorkBits > 24 {
		p.addf("abuse.proof_of_work_bits", "%d is outside 0..24 (0 is off; 16 costs a browser well under a second)", a.ProofOfWorkBits)
	}
	// A puzzle must live long enough for a slow phone to solve it, and not
	// so long that solved puzzles can be stockpiled for a flood.
	if a.ProofOfWorkTTL < 30*time.Second || a.ProofOfWorkTTL > time.Hour {
		p.addf("abuse.proof_of_work_ttl", "%s is outside 30s..1h", a.ProofOfWorkTTL)
	}
}
