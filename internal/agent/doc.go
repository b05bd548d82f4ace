// Package agent is the login-screen face of sspr: the conversation a person
// has at a PAM prompt (console login, sshd, a graphical greeter) or in a
// terminal when they forgot their password or locked themselves out.
//
// Like the portal, it only drives sspr's JSON API: the server applies every
// rule (factors, limits, the same answers for every login until a factor is
// verified), so nothing here can leak more than the portal does. The agent
// relays the server's own texts and adds only its framing, in the person's
// language. What a text conversation cannot do (passkeys need a browser) is
// not offered, and the person is told so.
//
// The PAM module (pam/pam_sspr.c) keeps Go out of the login process: it runs
// `sspr-agent pam-helper` and relays the line protocol of LineConversation.
package agent
