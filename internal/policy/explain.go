package policy

import (
	"fmt"
	"io"
	"strings"

	"github.com/sspr/sspr/internal/factor"
)

// Explain writes, for people, which policy applies and why: every rule
// checked, whether it held, and what the chosen policy then asks.
func (d *Decision) Explain(w io.Writer) error {
	var b strings.Builder
	last := ""
	for _, c := range d.Checks {
		if c.Policy != last {
			fmt.Fprintf(&b, "policy %q\n", c.Policy)
			last = c.Policy
		}
		mark := "no "
		if c.Matched {
			mark = "yes"
		}
		fmt.Fprintf(&b, "  %-9s %s  %s\n", c.Rule, mark, c.Detail)
	}
	p := d.Policy
	kind := "configured"
	if p.Default {
		kind = "default"
	}
	fmt.Fprintf(&b, "applies: %s (%s)\n", p.Name, kind)
	var acts []string
	for _, a := range Actions {
		state := "on"
		if !p.Allows(a) {
			state = "off"
		}
		acts = append(acts, string(a)+" "+state)
	}
	fmt.Fprintf(&b, "  actions:   %s\n", strings.Join(acts, ", "))
	fmt.Fprintf(&b, "  factors:   %s (reset needs %d, unlock needs %d)\n", kinds(p.Factors), p.Needs(Reset), p.Needs(Unlock))
	if len(p.Mandatory) > 0 {
		fmt.Fprintf(&b, "  mandatory: %s\n", kinds(p.Mandatory))
	}
	if p.PasswordPreset != "" {
		fmt.Fprintf(&b, "  password:  preset %s\n", p.PasswordPreset)
	}
	if len(p.EnrollRequired) > 0 || p.EnrollMinimum > 0 {
		fmt.Fprintf(&b, "  enroll:    %s, at least %d kind(s)\n", kinds(p.EnrollRequired), p.EnrollMinimum)
	}
	for _, n := range p.Notices {
		fmt.Fprintf(&b, "  notice:    %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func kinds(ks []factor.Kind) string {
	if len(ks) == 0 {
		return "none"
	}
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}
