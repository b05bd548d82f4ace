package flow

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"maps"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow/record"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
)

// Action is what a verified recovery flow is for.
type Action string

// The actions a recovery flow can end in.
const (
	// ActionReset sets a new password.
	ActionReset Action = "reset"
	// ActionUnlock clears a lockout and leaves the password as it is.
	ActionUnlock Action = "unlock"
)

// State is where a flow stands.
type State string

// The states of a recovery flow (see the package documentation's diagram).
const (
	// StateChoose: the person picks how to prove who they are next.
	StateChoose State = "choose"
	// StateChallenged: a challenge (a mailed code, a passkey prompt, ...)
	// waits for its response.
	StateChallenged State = "challenged"
	StateVerified   State = "verified"
	StateResetting  State = "resetting"
	StateUnlocking  State = "unlocking"
	StateDone       State = "done"
	StateFailed     State = "failed"
)

// PrivilegedMinimum is the fewest factors a privileged account needs. No
// configuration can lower it (Entra's "two gates" for administrators).
const PrivilegedMinimum = 2

// Settings are a recovery flow's rules.
type Settings struct {
	// CodeLength is shown for code factors.
	CodeLength      int
	CodeTTL         time.Duration
	MaxCodeAttempts int
	// MaxCodesSent caps challenges per flow (codes mailed or texted).
	MaxCodesSent int
	FlowTTL      time.Duration
	// IdentifyMinDuration pads the identify step; an identify that runs
	// longer (a slow directory) is padded to the next multiple of it, so
	// known and unknown logins still end on the same step.
	IdentifyMinDuration time.Duration
	// StepMinDuration pads the steps a stranger can reach after identify
	// (choosing a factor, resending, verifying), rounding overruns up to
	// the next multiple in the same way. It should exceed the slowest
	// factor check (an Argon2id hash for backup codes) under load.
	StepMinDuration     time.Duration
	MaxPasswordAttempts int
	// ContinueURL is where a mailed code is typed in, built from the
	// configured base URL (never from a request's Host header).
	ContinueURL string
	// AllowProtected names the directories where privileged (protected)
	// accounts may use self-service; everywhere else they are refused and
	// sent to the help desk.
	AllowProtected map[string]bool
	// FirstFactor is challenged at once when a flow starts (typically
	// email); empty lets the person choose first.
	FirstFactor factor.Kind
	// Required is how many distinct factors each action needs (at least 1;
	// privileged accounts at least PrivilegedMinimum).
	Required map[Action]int
	// NotFirst are kinds that may only follow another verified factor
	// (security questions: never the only, nor the first, factor).
	NotFirst map[factor.Kind]bool
	// RedirectUnenrolled answers a known person without enough factors
	// enrolled with CodeNotEnrolled at identify (send them to enroll)
	// instead of the decoy path. It reveals which logins exist and lack
	// enrollments: off unless the organisation accepts that.
	RedirectUnenrolled bool
}

// Directories finds users across the configured directories.
type Directories interface {
	FindUser(ctx context.Context, login string) (*directory.User, error)
	Directory(name string) (directory.Directory, bool)
}

// Composer renders the messages the flow sends.
type Composer interface {
	ResetCode(lang string, d notify.CodeMail) (notify.Mail, error)
	PasswordChanged(lang string, d notify.ChangedMail) (notify.Mail, error)
	AccountUnlocked(lang string, d notify.ChangedMail) (notify.Mail, error)
	SMSCode(lang, code string, validFor time.Duration) string
	SMSNotice(lang, event, login string, at time.Time) string
	EnrollmentChanged(lang string, d notify.EnrollmentMail) (notify.Mail, error)
	// ActionNotice is a notice to a manager or admin (notices.go).
	ActionNotice(lang string, d notify.NoticeMail) (notify.Mail, error)
}

// Store runs a step's writes in one transaction.
type Store interface {
	InTx(ctx context.Context, fn func(*store.Tx) error) error
}

// Sealer encrypts what the flow keeps between steps and what people enroll
// (secrets.KeyRing). The associated data binds a ciphertext to its row.
type Sealer interface {
	Seal(plaintext, associatedData []byte) ([]byte, error)
	Open(ciphertext, associatedData []byte) ([]byte, error)
}

// Reset runs password reset and account unlock flows.
type Reset struct {
	// Kit is the shared equipment: store, directories, messages, audit,
	// limits, clock, padding.
	*Kit
	// Catalogue is what people can verify with (shared with Enroll).
	*Catalogue
	Settings Settings
	// Rules are sspr's own password rules, checked before the directory is
	// asked; nil leaves it all to the directory.
	Rules PasswordRules
	// PoW, when set, must be solved before a flow starts.
	PoW ProofOfWork
	// PresetRules are the password rules of each preset a policy names
	// (policy.go); a policy without one uses Rules.
	PresetRules map[string]PasswordRules
}

// Status is what a face may show about a flow. Before the first factor is
// verified it is identical for real and decoy flows in every field.
type Status struct {
	Action        Action    `json:"action"`
	State         State     `json:"state"`
	ExpiresAt     time.Time `json:"expires_at"`
	CodeLength    int       `json:"code_length"`
	CodeExpiresAt time.Time `json:"code_expires_at"`
	AttemptsLeft  int       `json:"attempts_left"`
	// Factor is the kind of the outstanding challenge, Prompt what it asks.
	Factor factor.Kind    `json:"factor,omitempty"`
	Prompt map[string]any `json:"prompt,omitempty"`
	// Choices are the kinds that may be chosen now.
	Choices []factor.Kind `json:"choices,omitempty"`
	// FactorsDone and FactorsRequired count progress.
	FactorsDone     int `json:"factors_done"`
	FactorsRequired int `json:"factors_required"`
	// Notices are the person's policy's words, shown once a first factor
	// is verified.
	Notices []string `json:"notices,omitempty"`
	// Sync is each sync target's outcome once the flow is done (a reset
	// with sync targets): readable with the flow's token until the flow
	// is deleted, reset.finished_retention after it ended.
	Sync []SyncOutcome `json:"sync,omitempty"`
}

// StartInput is what the identify step receives.
type StartInput struct {
	// Action defaults to ActionReset.
	Action   Action
	Login    string
	ClientIP string
	Language string
	// PoWToken and PoWSolution answer the proof-of-work puzzle, when on.
	PoWToken, PoWSolution string
	// Directory, when set, is the directory the person picked (the domain
	// picker); empty lets the login route itself (DOMAIN\user, UPN).
	Directory string
}

// directoryPicker is implemented by directory sets that can look a login up
// in one named directory.
type directoryPicker interface {
	FindUserIn(ctx context.Context, directory, login string) (*directory.User, error)
}

func (k *Kit) now() time.Time {
	if k.Now != nil {
		return k.Now().UTC()
	}
	return time.Now().UTC()
}

func (k *Kit) rand() io.Reader {
	if k.Rand != nil {
		return k.Rand
	}
	return rand.Reader
}

func (k *Kit) log() *slog.Logger {
	if k.Log != nil {
		return k.Log
	}
	return slog.Default()
}

func (r *Reset) required(a Action) int {
	if n := r.Settings.Required[a]; n > 0 {
		return n
	}
	return 1
}

// Start is the identify step. It returns a token that addresses the new
// flow. Known and unknown logins get the same Status and take the same time;
// when a first factor is configured, its challenge is issued at once (a real
// one only for a person who has that factor).
func (r *Reset) Start(ctx context.Context, in StartInput) (token string, st Status, err error) {
	began := r.mono()
	defer func() { r.pad(ctx, began) }()

	login := strings.TrimSpace(in.Login)
	switch in.Action {
	case "":
		in.Action = ActionReset
	case ActionReset, ActionUnlock:
	default:
		return "", Status{}, refuse(CodeWrongState)
	}
	if login == "" {
		return "", Status{}, refuse(CodeLoginRequired)
	}
	if r.PoW != nil {
		if err := r.PoW.Verify(ctx, in.PoWToken, in.PoWSolution); err != nil {
			return "", Status{}, &Error{Code: CodeProofOfWork, Err: err}
		}
	}
	if len(login) > 256 || !utf8.ValidString(login) {
		login = "" // cannot exist anywhere: walk the decoy path
	}
	// Only the client address is asked about here: a refusal for the
	// account itself must stay invisible (it only turns codes into decoys).
	refundIdentify, e := r.take(ctx, LimitIdentify, "", in.ClientIP, "")
	if e != nil {
		r.recordLimited(ctx, audit.Event{Event: string(in.Action) + ".identify", Actor: r.typedActor(login), ClientIP: in.ClientIP},
			LimitIdentify, e, false)
		return "", Status{}, e
	}
	// Conditional access for everybody: a refusal here depends only on the
	// request, the same for every login (access.go).
	decided, e := r.accessAtIdentify(ctx, in, login)
	if e != nil {
		return "", Status{}, e
	}
	tokenBytes := make([]byte, 32)
	if _, err := io.ReadFull(r.rand(), tokenBytes); err != nil {
		return "", Status{}, &Error{Code: CodeInternal, Err: err}
	}
	token = base64.RawURLEncoding.EncodeToString(tokenBytes)
	tokenHash := hashToken(token)

	var user *directory.User
	outcome := "known"
	picker, canPick := r.Directories.(directoryPicker)
	switch {
	case login != "" && in.Directory != "" && canPick:
		user, err = picker.FindUserIn(ctx, in.Directory, login)
	case login != "":
		user, err = r.Directories.FindUser(ctx, login)
	default:
		err = directory.ErrNotFound
	}
	switch kind := directory.KindOf(err); {
	case err == nil:
	case kind == directory.KindNotFound:
		outcome = "unknown_login"
	case kind == directory.KindAmbiguous:
		outcome = "ambiguous_login"
	case !r.outageRefuses(in.Directory != "" && canPick):
		// A directory is down but others answered "not found": a login
		// found in one of those would go on, so this one goes on alike,
		// on the decoy path (its person, if any, gets no code; the pages
		// point to the help desk). The outage is logged and audited.
		outcome = "directory_unavailable"
		r.log().Error("looking up a user failed in a directory; going on as for an unknown login", "err", err)
	default:
		// The directory is down (or misconfigured): that says nothing about
		// the login, so it may be told plainly, and counts against no one.
		refundIdentify()
		r.log().Error("looking up a user failed", "err", err)
		_ = r.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
			return r.Audit.Append(tx, audit.Event{At: r.now(), Event: string(in.Action) + ".identify", Actor: r.typedActor(login), ClientIP: in.ClientIP,
				Outcome: audit.Failure, Reason: "directory_" + kind.String()})
		})
		return "", Status{}, &Error{Code: CodeDirectoryDown, Err: err}
	}

	now := r.now()
	f := &record.Flow{
		TokenHash: tokenHash, Kind: string(in.Action), State: string(initialState), Login: login,
		Language: in.Language, ClientIP: in.ClientIP, CreatedAt: now, UpdatedAt: now,
		ExpiresAt: now.Add(r.Settings.FlowTTL), FactorsRequired: r.required(in.Action),
	}
	var available []*enrolled
	if user != nil {
		f.Directory, f.SubjectDN, f.Login, f.DisplayName = user.Directory, user.DN, user.Login, user.DisplayName
		f.DirectoryNote = user.Note
		f.Privileged = r.privileged(ctx, user)
		if f.Privileged {
			f.FactorsRequired = max(f.FactorsRequired, PrivilegedMinimum)
		}
		available, err = r.enrollments(ctx, f, user)
		if err != nil {
			return "", Status{}, &Error{Code: CodeInternal, Err: err}
		}
		// Someone who cannot complete the flow (too few factors enrolled)
		// walks the decoy path: from outside they look like an unknown login
		// and the pages point them to the help desk.
		if distinctKinds(available) < f.FactorsRequired {
			outcome = "not_enrolled"
			if r.Settings.RedirectUnenrolled {
				return "", Status{}, r.refuseUnenrolled(ctx, f, in)
			}
		} else {
			f.Known = true
		}
	} else {
		// The same round trips as for a known login: a status read in a
		// directory and an enrollment read, for a subject that does not
		// exist, so a slow directory slows both alike.
		decoy := &directory.User{Directory: r.decoyDirectory(in.Directory), DN: decoyDN, Login: login}
		_ = r.privileged(ctx, decoy)
		if _, err := r.enrollments(ctx, f, decoy); err != nil {
			return "", Status{}, &Error{Code: CodeInternal, Err: err}
		}
	}
	var deliveries []delivery
	if r.Settings.FirstFactor != "" {
		deliveries, err = r.issue(ctx, f, user, available, r.Settings.FirstFactor, now)
		if err != nil {
			return "", Status{}, asError(err)
		}
	}
	err = r.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertFlow(f); err != nil {
			return err
		}
		if err := r.deliver(tx, f, deliveries, now); err != nil {
			return err
		}
		return r.Audit.Append(tx, audit.Event{At: now, Event: f.Kind + ".identify", Flow: flowRef(tokenHash), Actor: r.flowActor(f, in.Login),
			Subject: f.SubjectDN, Directory: f.Directory, ClientIP: in.ClientIP, Outcome: audit.Success, Reason: outcome,
			Detail: withAccess(map[string]any{"factors_required": f.FactorsRequired}, r.Access, decided)})
	})
	if err != nil {
		return "", Status{}, &Error{Code: CodeInternal, Err: err}
	}
	if len(deliveries) > 0 {
		r.enqueued()
	}
	return token, r.status(f), nil
}

// privileged asks the directory whether the account is protected (AD
// adminCount, configured groups). Unknown counts as privileged: the
// guards fail closed.
func (r *Reset) privileged(ctx context.Context, u *directory.User) bool {
	d, ok := r.Directories.Directory(u.Directory)
	if !ok {
		return false
	}
	sr, ok := d.(directory.StatusReader)
	if !ok {
		return false
	}
	st, err := sr.AccountStatus(ctx, u)
	if err != nil || st == nil {
		// Unknown: treat the account as privileged (two factors). Failing
		// open here would let a privileged account through with one factor
		// whenever its status could not be read at identify.
		r.log().Warn("reading the account status at identify failed; asking for the privileged minimum of factors", "directory", u.Directory, "err", err)
		return true
	}
	return st.Protected
}

// decoyDirectory is the directory a decoy's status read goes to: the one
// picked, else the first configured.
func (r *Reset) decoyDirectory(picked string) string {
	if picked != "" {
		return picked
	}
	if a, ok := r.Directories.(interface{ All() []directory.Directory }); ok {
		if all := a.All(); len(all) > 0 {
			return all[0].Name()
		}
	}
	return ""
}

func (k *Kit) mono() time.Time {
	if k.Monotonic != nil {
		return k.Monotonic()
	}
	return time.Now()
}

// pad pads the identify step (and the other steps that answer alike for
// known and unknown logins: enrollment sign-in, password change) to
// IdentifyMinDuration. began is from time.Now or r.Monotonic.
func (r *Reset) pad(ctx context.Context, began time.Time) {
	r.padTo(ctx, began, r.Settings.IdentifyMinDuration, "identify_min_duration")
}

// padStep pads a step after identify to StepMinDuration.
func (r *Reset) padStep(ctx context.Context, began time.Time) {
	r.padTo(ctx, began, r.Settings.StepMinDuration, "step_min_duration")
}

// padFor is how long to sleep after a step that took took, so that it ends
// on a multiple of step: at least step, and an overrun rounded up to the
// next multiple rather than returned at once. The two paths of a step (a
// known and an unknown login) then end at the same time unless their work
// differs by more than a whole step.
func padFor(took, step time.Duration) time.Duration {
	if step <= 0 {
		return 0
	}
	if took <= step {
		return step - took
	}
	n := (took + step - 1) / step
	return n*step - took
}

// padTo sleeps after a step that began at began so that it takes a
// multiple of min (see padFor), so its timing does not tell known from
// unknown logins.
func (k *Kit) padTo(ctx context.Context, began time.Time, min time.Duration, setting string) {
	if min <= 0 {
		return
	}
	took := k.mono().Sub(began)
	left := padFor(took, min)
	if took > min {
		k.log().Warn("a step took longer than "+setting+"; padded to the next multiple, raise it so timing stays uniform",
			"took", took, setting, min)
	}
	if left <= 0 {
		return
	}
	if k.Sleep != nil {
		k.Sleep(ctx, left)
		return
	}
	t := time.NewTimer(left)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (k *Kit) enqueued() {
	if k.Enqueued != nil {
		k.Enqueued()
	}
}

func (k *Kit) enqueueMail(tx *store.Tx, kind, to string, m notify.Mail, now time.Time) error {
	msg, err := k.newMail(kind, to, m, now)
	if err != nil {
		return err
	}
	return k.enqueue(tx, msg)
}

func (k *Kit) enqueueSMS(tx *store.Tx, kind, to, body string, now time.Time) error {
	msg, err := k.newSMS(kind, to, body, now)
	if err != nil {
		return err
	}
	return k.enqueue(tx, msg)
}

// newMail and newSMS build an outbox message due now, with a Message-ID
// that stays the same however often it is retried.
func (k *Kit) newMail(kind, to string, m notify.Mail, now time.Time) (*store.Message, error) {
	id := make([]byte, 16)
	if _, err := io.ReadFull(k.rand(), id); err != nil {
		return nil, err
	}
	return &store.Message{CreatedAt: now, Kind: kind, Channel: "email", Recipient: to, Subject: m.Subject, TextBody: m.Text, HTMLBody: m.HTML,
		MessageID: newMessageID(k.MailFrom, id), NextAttemptAt: now, Urgent: isCode(kind)}, nil
}

func (k *Kit) newSMS(kind, to, body string, now time.Time) (*store.Message, error) {
	id := make([]byte, 16)
	if _, err := io.ReadFull(k.rand(), id); err != nil {
		return nil, err
	}
	return &store.Message{CreatedAt: now, Kind: kind, Channel: "sms", Recipient: to, TextBody: body,
		MessageID: newMessageID(k.MailFrom, id), NextAttemptAt: now, Urgent: isCode(kind)}, nil
}

// isCode tells the messages somebody is waiting for (reset_code,
// helpdesk_code, enrollment_code, ...; decoys never reach the outbox) from
// notices: the outbox delivers them first.
func isCode(kind string) bool { return strings.HasSuffix(kind, "_code") }

// enqueue seals a message (no address, number or code in clear at rest)
// and adds it to the outbox.
func (k *Kit) enqueue(tx *store.Tx, m *store.Message) error {
	if err := k.seal(m); err != nil {
		return err
	}
	return tx.EnqueueMessage(m)
}

// seal seals a message's address, number and bodies for the outbox; call
// it once per message.
func (k *Kit) seal(m *store.Message) error {
	if k.Sealer == nil {
		return nil
	}
	return notify.SealMessage(k.Sealer, m)
}

// accountSpecificPrompt are prompt keys that depend on the account, hidden
// until a factor is verified.
var accountSpecificPrompt = []string{"to", "remaining"}

// limitKey is the one identity the abuse controls count a person under,
// however they typed their login: the account once known, else the login.
func limitKey(f *record.Flow) string {
	if f.Known {
		return f.Directory + "|" + f.SubjectDN
	}
	return f.Login
}

func nameOf(f *record.Flow) string {
	if f.DisplayName != "" {
		return f.DisplayName
	}
	return f.Login
}

// Status reports where the flow stands.
func (r *Reset) Status(ctx context.Context, token string) (Status, error) {
	var st Status
	err := r.read(ctx, func(tx *store.Tx) error {
		f, err := r.loadStatus(tx, token)
		if err != nil {
			return err
		}
		st = r.status(f)
		if f.Kind == string(ActionChange) {
			st.FactorsRequired = 0 // a change's record: the old password was the proof
		}
		if st.State == StateDone {
			st.Sync, err = r.syncOutcomes(tx, f)
		}
		return err
	})
	return st, r.wrap(err)
}

// load finds a live flow by token, or refuses with CodeFlowNotFound.
func (r *Reset) load(tx *store.Tx, token string) (*record.Flow, error) {
	if len(token) != 43 {
		return nil, refuse(CodeFlowNotFound)
	}
	f, err := tx.FlowByTokenHash(hashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, refuse(CodeFlowNotFound)
	}
	if err != nil {
		return nil, err
	}
	if (f.Kind != string(ActionReset) && f.Kind != string(ActionUnlock)) || r.now().After(f.ExpiresAt) {
		return nil, refuse(CodeFlowNotFound)
	}
	// The policy the flow recorded at its first factor is gone (renamed or
	// removed from the configuration since): its mandatory kinds and
	// rules cannot be honoured, and falling back to the global ones could
	// weaken them. The person starts over.
	if f.Policy != "" && State(f.State) != StateDone && r.Policies != nil && r.Policies.ByName(f.Policy) == nil {
		r.log().Warn("a flow's recorded policy is no longer configured; the person must start over", "policy", f.Policy)
		return nil, refuse(CodeFlowNotFound)
	}
	return f, nil
}

// wrap passes flow refusals through and hides anything else behind
// CodeInternal (a store failure, say), keeping the cause for the log.
func (k *Kit) wrap(err error) error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	if errors.Is(err, store.ErrConflict) {
		return refuse(CodeWrongState)
	}
	k.log().Error("flow step failed", "err", err)
	return &Error{Code: CodeInternal, Err: err}
}

func (r *Reset) status(f *record.Flow) Status {
	st := Status{Action: Action(f.Kind), State: State(f.State), ExpiresAt: f.ExpiresAt.Truncate(time.Second),
		CodeLength: r.Settings.CodeLength, FactorsDone: len(f.FactorsDone), FactorsRequired: f.FactorsRequired}
	if len(f.FactorsDone) == 0 {
		// Until a factor is verified, nothing may depend on the account:
		// a privileged account's higher count shows only afterwards.
		st.FactorsRequired = r.required(Action(f.Kind))
	}
	switch State(f.State) {
	case StateChallenged:
		st.Factor = factor.Kind(f.ChallengeKind)
		st.CodeExpiresAt = f.ChallengeExpiresAt.Truncate(time.Second)
		st.AttemptsLeft = r.Settings.MaxCodeAttempts - f.Attempts
		if ch, err := r.openChallenge(f); err == nil {
			st.Prompt = ch.Prompt
			if len(f.FactorsDone) == 0 {
				// Where a code went (even masked), or how many backup codes
				// are left, tells a stranger about the account; they show
				// once a factor is verified.
				st.Prompt = maps.Clone(st.Prompt)
				for _, k := range accountSpecificPrompt {
					delete(st.Prompt, k)
				}
			}
		}
		st.Choices = r.choices(f)
	case StateChoose:
		st.AttemptsLeft = r.Settings.MaxCodeAttempts - f.Attempts
		st.Choices = r.choices(f)
	}
	r.policyStatus(f, &st)
	return st
}

func (r *Reset) event(f *record.Flow, name, clientIP string, outcome audit.Outcome, reason string) audit.Event {
	return audit.Event{At: r.now(), Event: f.Kind + "." + name, Flow: flowRef(f.TokenHash), Actor: r.flowActor(f, f.Login), Subject: f.SubjectDN,
		Directory: f.Directory, ClientIP: clientIP, Outcome: outcome, Reason: reason}
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// flowRef is a short, non-secret name for a flow in logs and the audit log.
func flowRef(tokenHash []byte) string { return hex.EncodeToString(tokenHash[:6]) }

func newMessageID(from string, random []byte) string {
	domain := "sspr.invalid"
	if _, d, ok := strings.Cut(from, "@"); ok {
		domain = strings.TrimRight(d, ">")
	}
	return "<" + base64.RawURLEncoding.EncodeToString(random) + "@" + domain + ">"
}

func asError(err error) *Error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	return &Error{Code: CodeInternal, Err: err}
}

func reasonNames(rs []directory.Reason) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}
