package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Outcome is how a conversation ended, for the PAM module.
type Outcome string

// The outcomes.
const (
	// OutcomeOK: reset or unlocked; Password (when set) goes on to the next
	// PAM module.
	OutcomeOK Outcome = "ok"
	// OutcomeFail: the person stopped, or the server refused for good.
	OutcomeFail Outcome = "fail"
	// OutcomeIgnore: sspr could not help (unreachable); the login goes on
	// as if the agent were not there.
	OutcomeIgnore Outcome = "ignore"
)

// Result is the end of a recovery conversation.
type Result struct {
	Outcome Outcome
	// Password is the new password (after a reset) or the password typed
	// after an unlock, to hand on; empty otherwise.
	Password string
}

// Recovery runs the reset and unlock conversation.
type Recovery struct {
	Client *Client
	Conv   Conversation
	Texts  Texts
	// HelpDesk is shown when the person cannot go on (a phone number, a
	// URL, or both in words).
	HelpDesk string
	// MaxRounds bounds the conversation (every prompt is a round), so a
	// misbehaving server cannot keep a login prompt forever.
	MaxRounds int
}

// textFactors are the factor kinds a text conversation can complete.
var textFactors = []string{"email", "sms", "totp", "backup_codes", "questions", "attributes", "radius", "duo", "yubikey"}

// errStop ends the conversation; the reason was already shown.
var errStop = errors.New("stopped")

// Run asks whether to reset or unlock (action "" asks; "reset" or "unlock"
// skips the question) and runs the flow for login.
func (r *Recovery) Run(ctx context.Context, login, action string) Result {
	if r.MaxRounds == 0 {
		r.MaxRounds = 60
	}
	res, err := r.run(ctx, login, action)
	switch {
	case err == nil:
		return res
	case errors.Is(err, ErrUnreachable):
		r.say(true, r.Texts.T("server_unreachable"))
		r.say(false, r.Texts.T("try_later"))
		r.helpDesk()
		return Result{Outcome: OutcomeIgnore}
	case errors.Is(err, ErrCancelled):
		r.say(false, r.Texts.T("cancelled"))
		return Result{Outcome: OutcomeFail}
	default:
		var ae *APIError
		if errors.As(err, &ae) {
			r.say(true, ae.Message)
			r.helpDesk()
		}
		return Result{Outcome: OutcomeFail}
	}
}

func (r *Recovery) say(warn bool, text string) {
	if text == "" {
		return
	}
	if warn {
		_ = r.Conv.Warn(text)
	} else {
		_ = r.Conv.Say(text)
	}
}

func (r *Recovery) helpDesk() {
	if r.HelpDesk != "" {
		r.say(false, r.Texts.T("help_desk", r.HelpDesk))
	}
}

func (r *Recovery) ask(secret bool, prompt string) (string, error) {
	if r.MaxRounds--; r.MaxRounds < 0 {
		return "", ErrCancelled
	}
	a, err := r.Conv.Ask(secret, prompt)
	return strings.TrimSpace(a), err
}

func (r *Recovery) run(ctx context.Context, login, action string) (Result, error) {
	for action == "" {
		a, err := r.ask(false, r.Texts.T("choose_action"))
		if err != nil {
			return Result{}, err
		}
		switch a {
		case "1":
			action = "reset"
		case "2":
			action = "unlock"
		default:
			r.say(true, r.Texts.T("choose_action_invalid"))
		}
	}
	st, err := r.Client.Start(ctx, action, login)
	if err != nil {
		return Result{}, err
	}
	for st.State != "verified" {
		switch st.State {
		case "challenged":
			st, err = r.answer(ctx, st)
		case "choose":
			st, err = r.choose(ctx, st)
		default:
			return Result{}, fmt.Errorf("agent: the flow is %q", st.State)
		}
		if err != nil {
			return Result{}, err
		}
	}
	if action == "unlock" {
		if _, err := r.Client.Unlock(ctx, st.FlowID); err != nil {
			return Result{}, err
		}
		r.say(false, r.Texts.T("unlocked"))
		pw, err := r.ask(true, r.Texts.T("password_after_unlock"))
		if err != nil {
			return Result{Outcome: OutcomeOK}, nil
		}
		return Result{Outcome: OutcomeOK, Password: pw}, nil
	}
	return r.newPassword(ctx, st.FlowID)
}

// choose lists the kinds a text conversation can do and challenges the one
// the person picks.
func (r *Recovery) choose(ctx context.Context, st Status) (Status, error) {
	var usable []string
	passkey := false
	for _, k := range st.Choices {
		if slices.Contains(textFactors, k) {
			usable = append(usable, k)
		} else if k == "passkey" {
			passkey = true
		}
	}
	if passkey {
		r.say(false, r.Texts.T("passkey_needs_browser"))
	}
	if len(usable) == 0 {
		r.say(true, r.Texts.T("nothing_usable"))
		r.helpDesk()
		return st, errStop
	}
	r.say(false, r.Texts.T("choose_factor"))
	for i, k := range usable {
		r.say(false, fmt.Sprintf("  %d. %s", i+1, r.Texts.T("factor."+k)))
	}
	for {
		a, err := r.ask(false, r.Texts.T("choose_factor_prompt"))
		if err != nil {
			return st, err
		}
		n, convErr := strconv.Atoi(a)
		if convErr != nil || n < 1 || n > len(usable) {
			continue
		}
		return r.Client.Choose(ctx, st.FlowID, usable[n-1])
	}
}

// answer asks for the outstanding challenge's response and verifies it.
func (r *Recovery) answer(ctx context.Context, st Status) (Status, error) {
	if !slices.Contains(textFactors, st.Factor) {
		if st.Factor == "passkey" {
			r.say(false, r.Texts.T("passkey_needs_browser"))
		}
		return r.moreOptions(ctx, st)
	}
	var next Status
	var err error
	if qs := questionsOf(st.Prompt, r.Texts.Lang); len(qs) > 0 {
		answers := map[string]string{}
		for _, q := range qs {
			a, err := r.ask(true, r.Texts.T("answer_question", q.label))
			if err != nil {
				return st, err
			}
			answers["answer."+q.id] = a
		}
		next, err = r.Client.VerifyAnswers(ctx, st.FlowID, answers)
	} else {
		prompt := r.Texts.T("enter_code." + st.Factor)
		if strings.HasPrefix(prompt, "enter_code.") {
			prompt = r.Texts.T("enter_code")
		}
		if msg, _ := st.Prompt["server_message"].(string); msg != "" {
			// A RADIUS server asks for one more answer (another round).
			r.say(false, r.Texts.T("server_says", msg))
		}
		code, aerr := r.ask(true, prompt)
		if aerr != nil {
			return st, aerr
		}
		if code == "" {
			return r.moreOptions(ctx, st)
		}
		if st.Factor == "duo" && strings.EqualFold(strings.TrimSpace(code), "push") {
			// The answer waits until the phone answers (or the push times out).
			r.say(false, r.Texts.T("duo_push_wait"))
			next, err = r.Client.VerifyPush(ctx, st.FlowID)
		} else {
			next, err = r.Client.VerifyCode(ctx, st.FlowID, strings.ReplaceAll(code, " ", ""))
		}
	}
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == "factor_unavailable" {
		// The factor's server did not answer: nothing counted; offer the rest.
		r.say(true, ae.Message)
		return r.moreOptions(ctx, st)
	}
	if errors.As(err, &ae) && ae.Code == "code_invalid" {
		// A wrong answer: say so (with the tries left) and ask again.
		r.say(true, ae.Message)
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if next.State == "choose" && next.FactorsDone > 0 {
		r.say(false, r.Texts.T("factor_done", next.FactorsDone, next.FactorsRequired))
	}
	return next, nil
}

// moreOptions offers a new code, another factor, or stopping.
func (r *Recovery) moreOptions(ctx context.Context, st Status) (Status, error) {
	for {
		a, err := r.ask(false, r.Texts.T("more_options"))
		if err != nil {
			return st, err
		}
		switch a {
		case "1":
			return r.Client.Resend(ctx, st.FlowID)
		case "2":
			return r.choose(ctx, st)
		case "3":
			return st, ErrCancelled
		}
	}
}

type question struct{ id, label string }

// questionsOf reads a questions prompt: [{"id", "text"}] (security
// questions) or [{"id", "label": {lang: text}}] (directory attributes).
func questionsOf(prompt map[string]any, lang string) []question {
	raw, _ := prompt["questions"].([]any)
	var out []question
	for _, item := range raw {
		m, _ := item.(map[string]any)
		id, _ := m["id"].(string)
		if id == "" {
			continue
		}
		label, _ := m["text"].(string)
		if l, ok := m["label"].(map[string]any); ok {
			label, _ = l[lang].(string)
			if label == "" {
				label, _ = l["en"].(string)
			}
		} else if l, ok := m["label"].(string); ok && label == "" {
			label = l
		}
		if label == "" {
			label = id
		}
		out = append(out, question{id: id, label: label})
	}
	return out
}

// newPassword shows the rules, asks for the new password twice, and sends
// it; a refusal shows the rules it broke and asks again.
func (r *Recovery) newPassword(ctx context.Context, flowID string) (Result, error) {
	if rules, err := r.Client.Rules(ctx, flowID); err == nil && len(rules) > 0 {
		r.say(false, r.Texts.T("rules_intro"))
		for _, rule := range rules {
			if !rule.Hidden {
				r.say(false, r.Texts.T("rule_line", rule.Message))
			}
		}
	}
	for {
		pw, err := r.ask(true, r.Texts.T("new_password"))
		if err != nil {
			return Result{}, err
		}
		again, err := r.ask(true, r.Texts.T("confirm_password"))
		if err != nil {
			return Result{}, err
		}
		if pw != again {
			r.say(true, r.Texts.T("mismatch"))
			continue
		}
		done, err := r.Client.SetPassword(ctx, flowID, pw)
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == "password_refused" {
			r.say(true, ae.Message)
			for _, rule := range ae.Rules {
				r.say(true, r.Texts.T("refused_rule", rule.Message))
			}
			continue
		}
		if err != nil {
			return Result{}, err
		}
		r.say(false, r.Texts.T("password_changed"))
		// One line per other system the password goes to (Entra ID,
		// Google, ...): a failed one is a warning that sends the person
		// to the help desk, since their old password still works there.
		for _, o := range done.Sync {
			r.say(o.State == "failed", o.Message)
		}
		return Result{Outcome: OutcomeOK, Password: pw}, nil
	}
}

// CheckNewPassword is the password stack's check (`passwd`): the rules that
// hold for everyone and the breached-password corpus, before the directory
// sees the password. It shows why a password is refused.
func CheckNewPassword(ctx context.Context, c *Client, conv Conversation, t Texts, login, password string) Outcome {
	res, err := c.CheckPassword(ctx, login, password)
	if err != nil {
		return OutcomeIgnore
	}
	if res.OK {
		return OutcomeOK
	}
	_ = conv.Warn(t.T("policy_refused"))
	for _, ch := range res.Checks {
		// Hidden rules (blocklists, the breach corpus) are shown exactly
		// when they fail; optional ones never make a password fail.
		if !ch.Passed && !ch.Optional {
			_ = conv.Warn(t.T("refused_rule", ch.Message))
		}
	}
	return OutcomeFail
}
