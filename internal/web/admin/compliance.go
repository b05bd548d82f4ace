package admin

import (
	"net/http"

	"github.com/sspr/sspr/internal/flow"
)

// controlRef is one framework's controls a report gives evidence for.
type controlRef struct {
	Framework, Controls string
}

// complianceRow maps one report to the controls it supports.
type complianceRow struct {
	Report, Path, Shows string
	Controls            []controlRef
}

// Frameworks are the frameworks the compliance page maps, as named there.
var Frameworks = []string{"GDPR", "HIPAA", "PCI DSS 4.0", "SOX", "NIST SP 800-53 Rev. 5", "NIST SP 800-63B", "NIS2", "CJIS", "Essential Eight"}

// complianceMap is the compliance page: which report is evidence for which
// control. Identifiers are the frameworks' own: GDPR articles, the HIPAA
// Security Rule's sections of 45 CFR 164, PCI DSS v4.0 requirements, SOX
// sections (their IT general controls), NIST SP 800-53 Rev. 5 controls,
// SP 800-63B (Rev. 3) sections, NIS2 (Directive (EU) 2022/2555) articles,
// the CJIS Security Policy's sections (v5.9) and the ACSC's Essential
// Eight strategies. A report supports a control; it does not satisfy it
// alone (docs/admin.md).
var complianceMap = []complianceRow{
	{Report: "Enrollment coverage", Path: "/admin/reports/coverage", Shows: "who can recover on their own and who cannot",
		Controls: []controlRef{{"GDPR", "Art. 32(1)(b), 32(1)(d)"}, {"HIPAA", "§164.308(a)(5)(ii)(D)"}, {"PCI DSS 4.0", "8.3.1, 8.3.5"},
			{"SOX", "§404 (ITGC: logical access)"}, {"NIST SP 800-53 Rev. 5", "IA-5, IA-5(1)"}, {"NIST SP 800-63B", "§6.1.2.3"},
			{"NIS2", "Art. 21(2)(i), 21(2)(j)"}, {"CJIS", "§5.6.2.1"}, {"Essential Eight", "Multi-factor authentication"}}},
	{Report: "Activity", Path: "/admin/reports/activity", Shows: "resets, unlocks and changes, with failures and blocks beside them",
		Controls: []controlRef{{"GDPR", "Art. 5(2), 30"}, {"HIPAA", "§164.308(a)(1)(ii)(D), §164.312(b)"}, {"PCI DSS 4.0", "10.2.1, 10.2.1.5, 10.4.1"},
			{"SOX", "§404 (ITGC: logical access)"}, {"NIST SP 800-53 Rev. 5", "AU-2, AU-6, AC-2(4)"}, {"NIST SP 800-63B", "§6.1.2.3"},
			{"NIS2", "Art. 21(2)(b), 21(2)(f)"}, {"CJIS", "§5.4.1.1"}, {"Essential Eight", "—"}}},
	{Report: "Failed verifications and blocks", Path: "/admin/reports/failures", Shows: "failed verifications and sign-ins and abuse blocks, by reason, over time",
		Controls: []controlRef{{"GDPR", "Art. 32(1)(b), 33"}, {"HIPAA", "§164.308(a)(5)(ii)(C), §164.308(a)(6)(ii)"}, {"PCI DSS 4.0", "8.3.4, 10.2.1.4"},
			{"SOX", "§404 (ITGC: logical access)"}, {"NIST SP 800-53 Rev. 5", "AC-7, AU-6, SI-4"}, {"NIST SP 800-63B", "§5.2.2"},
			{"NIS2", "Art. 21(2)(b), 23"}, {"CJIS", "§5.5.3, §5.4.1.1"}, {"Essential Eight", "—"}}},
	{Report: "Factor usage", Path: "/admin/reports/factors", Shows: "which factors people enrolled and used to recover",
		Controls: []controlRef{{"GDPR", "Art. 25, 32(1)(b)"}, {"HIPAA", "§164.312(d)"}, {"PCI DSS 4.0", "8.3.1, 8.4.2"},
			{"SOX", "§404 (ITGC: logical access)"}, {"NIST SP 800-53 Rev. 5", "IA-2, IA-5"}, {"NIST SP 800-63B", "§4.2.1, §5.1.3.3"},
			{"NIS2", "Art. 21(2)(j)"}, {"CJIS", "§5.6.2.2"}, {"Essential Eight", "Multi-factor authentication"}}},
	{Report: "Privileged accounts with weak factors", Path: "/admin/reports/privileged", Shows: "privileged accounts without an authenticator app or passkey",
		Controls: []controlRef{{"GDPR", "Art. 32(1)(b)"}, {"HIPAA", "§164.308(a)(3)(ii)(B), §164.312(d)"}, {"PCI DSS 4.0", "7.2.4, 8.4.1"},
			{"SOX", "§404 (ITGC: privileged access)"}, {"NIST SP 800-53 Rev. 5", "AC-6, IA-2(1)"}, {"NIST SP 800-63B", "§4.2.1, §4.3.1"},
			{"NIS2", "Art. 21(2)(i), 21(2)(j)"}, {"CJIS", "§5.6.2.2"}, {"Essential Eight", "Restrict administrative privileges; Multi-factor authentication"}}},
	{Report: "Passwords refused by rule", Path: "/admin/reports/refusals", Shows: "passwords refused as breached, too short, reused, ...",
		Controls: []controlRef{{"GDPR", "Art. 32(1)(b)"}, {"HIPAA", "§164.308(a)(5)(ii)(D)"}, {"PCI DSS 4.0", "8.3.6, 8.3.7"},
			{"SOX", "§404 (ITGC: logical access)"}, {"NIST SP 800-53 Rev. 5", "IA-5(1)"}, {"NIST SP 800-63B", "§5.1.1.2"},
			{"NIS2", "Art. 21(2)(g)"}, {"CJIS", "§5.6.2.1.1"}, {"Essential Eight", "—"}}},
	{Report: "Help-desk calls avoided", Path: "/admin/reports/calls-avoided", Shows: "self-service actions a month and what they saved: a business figure, evidence for no control",
		Controls: []controlRef{{"GDPR", "—"}, {"HIPAA", "—"}, {"PCI DSS 4.0", "—"}, {"SOX", "—"}, {"NIST SP 800-53 Rev. 5", "—"}, {"NIST SP 800-63B", "—"},
			{"NIS2", "—"}, {"CJIS", "—"}, {"Essential Eight", "—"}}},
	{Report: "Locked out now", Path: "/admin/reports/locked", Shows: "accounts the directory has locked",
		Controls: []controlRef{{"GDPR", "Art. 32(1)(b)"}, {"HIPAA", "§164.308(a)(5)(ii)(C)"}, {"PCI DSS 4.0", "8.3.4"},
			{"SOX", "§404 (ITGC: logical access)"}, {"NIST SP 800-53 Rev. 5", "AC-7"}, {"NIST SP 800-63B", "§5.2.2"},
			{"NIS2", "Art. 21(2)(i)"}, {"CJIS", "§5.5.3"}, {"Essential Eight", "—"}}},
	{Report: "Passwords expiring soon", Path: "/admin/reports/expiring", Shows: "passwords the directory's own policy (domain policy, PSOs, ppolicy) expires within N days",
		Controls: []controlRef{{"GDPR", "Art. 32(1)(b)"}, {"HIPAA", "§164.308(a)(5)(ii)(D)"}, {"PCI DSS 4.0", "8.3.9, 8.3.10.1"},
			{"SOX", "§404 (ITGC: logical access)"}, {"NIST SP 800-53 Rev. 5", "IA-5(1)"}, {"NIST SP 800-63B", "§5.1.1.2"},
			{"NIS2", "Art. 21(2)(i)"}, {"CJIS", "§5.6.2.1.1"}, {"Essential Eight", "—"}}},
	{Report: "Expired passwords", Path: "/admin/reports/expired", Shows: "passwords past their expiry, which their owners cannot use until changed",
		Controls: []controlRef{{"GDPR", "Art. 32(1)(b)"}, {"HIPAA", "§164.308(a)(5)(ii)(D)"}, {"PCI DSS 4.0", "8.3.9, 8.3.10.1"},
			{"SOX", "§404 (ITGC: logical access)"}, {"NIST SP 800-53 Rev. 5", "IA-5(1)"}, {"NIST SP 800-63B", "§5.1.1.2"},
			{"NIS2", "Art. 21(2)(i)"}, {"CJIS", "§5.6.2.1.1"}, {"Essential Eight", "—"}}},
	{Report: "Accounts expiring", Path: "/admin/reports/accounts-expiring", Shows: "accounts the directory will disable within N days (contractors, leavers)",
		Controls: []controlRef{{"GDPR", "Art. 5(1)(e), 32(1)(b)"}, {"HIPAA", "§164.308(a)(3)(ii)(C)"}, {"PCI DSS 4.0", "8.2.4, 8.2.6"},
			{"SOX", "§404 (ITGC: user provisioning and removal)"}, {"NIST SP 800-53 Rev. 5", "AC-2(2), AC-2(3)"}, {"NIST SP 800-63B", "—"},
			{"NIS2", "Art. 21(2)(i)"}, {"CJIS", "§5.5.1"}, {"Essential Eight", "—"}}},
	{Report: "Admin actions", Path: "/admin/reports/admin-actions", Shows: "what each console user opened and did",
		Controls: []controlRef{{"GDPR", "Art. 5(2), 24"}, {"HIPAA", "§164.312(b), §164.308(a)(1)(ii)(D)"}, {"PCI DSS 4.0", "10.2.1.2"},
			{"SOX", "§404 (ITGC: privileged access monitoring)"}, {"NIST SP 800-53 Rev. 5", "AC-6(9), AU-6"}, {"NIST SP 800-63B", "—"},
			{"NIS2", "Art. 21(2)(i)"}, {"CJIS", "§5.4.1.1"}, {"Essential Eight", "Restrict administrative privileges"}}},
	{Report: "Audit log", Path: "/admin/audit", Shows: "every event, hash-chained, its chain verified on view",
		Controls: []controlRef{{"GDPR", "Art. 5(1)(f), 5(2), 30"}, {"HIPAA", "§164.312(b), §164.312(c)(1)"}, {"PCI DSS 4.0", "10.2.1, 10.2.2, 10.3.2"},
			{"SOX", "§302, §404 (ITGC: logging)"}, {"NIST SP 800-53 Rev. 5", "AU-2, AU-3, AU-9, AU-10"}, {"NIST SP 800-63B", "—"},
			{"NIS2", "Art. 21(2)(b), 23"}, {"CJIS", "§5.4, §5.4.6"}, {"Essential Eight", "Restrict administrative privileges"}}},
	{Report: "Login-screen agents", Path: "/admin/reports/agents", Shows: "registered agents, versions, last seen, revoked",
		Controls: []controlRef{{"GDPR", "Art. 32(1)(d)"}, {"HIPAA", "§164.310(d)(1)"}, {"PCI DSS 4.0", "12.5.1"},
			{"SOX", "§404 (ITGC: change management)"}, {"NIST SP 800-53 Rev. 5", "CM-8, IA-3"}, {"NIST SP 800-63B", "—"},
			{"NIS2", "Art. 21(2)(i)"}, {"CJIS", "§5.7"}, {"Essential Eight", "Patch applications"}}},
	{Report: "Configuration and its history", Path: "/admin/config", Shows: "the running settings and policies, each change old → new",
		Controls: []controlRef{{"GDPR", "Art. 24, 25"}, {"HIPAA", "§164.316(b)(1)"}, {"PCI DSS 4.0", "2.2.1, 6.5.1, 10.2.1"},
			{"SOX", "§404 (ITGC: change management)"}, {"NIST SP 800-53 Rev. 5", "CM-2, CM-3, CM-6"}, {"NIST SP 800-63B", "—"},
			{"NIS2", "Art. 21(2)(f)"}, {"CJIS", "§5.7.1"}, {"Essential Eight", "—"}}},
}

func (c *Console) compliance(w http.ResponseWriter, r *http.Request, p *flow.Principal) {
	c.render(w, "compliance", p, map[string]any{"Title": "Compliance", "Rows": complianceMap, "Frameworks": Frameworks})
}
