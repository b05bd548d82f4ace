package flow_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/demo"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/attributes"
	"github.com/sspr/sspr/internal/factor/backupcodes"
	"github.com/sspr/sspr/internal/factor/email"
	"github.com/sspr/sspr/internal/factor/passkey"
	"github.com/sspr/sspr/internal/factor/questions"
	"github.com/sspr/sspr/internal/factor/totp"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/store"
)

var aliceDN = demo.User{UID: "alice"}.DN()

// offer adds a factor to the harness's flow.
func (h *harness) offer(fa factor.Factor) {
	h.reset.Factors[fa.Kind()] = fa
	h.reset.Offered = append(h.reset.Offered, fa.Kind())
}

// enrollAlice stores an enrollment for alice as the enrollment pages would.
func (h *harness) enrollAlice(t *testing.T, e factor.Enrollment, lastUsed time.Time) string {
	t.Helper()
	id := fmt.Sprintf("%s-%d", e.Kind, time.Now().UnixNano())
	sealed, err := h.reset.Sealer.Seal(e.Secret, []byte("enrollment:"+id))
	if err != nil {
		t.Fatal(err)
	}
	err = h.store.InTx(context.Background(), func(tx *store.Tx) error {
		return tx.InsertEnrollment(&store.Enrollment{ID: id, Directory: "demo", SubjectDN: aliceDN, Kind: string(e.Kind), Label: e.Label,
			Secret: sealed, Source: "user", CreatedAt: h.clock.Now(), LastUsedAt: lastUsed})
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// totpCode is RFC 6238 (SHA-1) for a base32 seed at the harness's time.
func totpCode(t *testing.T, seedB32 string, digits int, at time.Time) string {
	t.Helper()
	seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(seedB32, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha1.New, seed)
	_ = binary.Write(m, binary.BigEndian, uint64(at.Unix()/30))
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0xf
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, v%mod)
}

// enrollTOTP enrolls an authenticator app for alice with fa and returns its
// seed.
func (h *harness) enrollTOTP(t *testing.T, fa *totp.Factor, lastUsed time.Time) string {
	t.Helper()
	ctx := context.Background()
	alice := factor.Subject{Directory: "demo", DN: aliceDN, Login: "alice"}
	ch, err := fa.BeginEnroll(ctx, alice, factor.Response{})
	if err != nil {
		t.Fatal(err)
	}
	seed := ch.Prompt["secret_base32"].(string)
	digits := ch.Prompt["digits"].(int)
	// A step earlier than the flow's, so the flow's code is not a replay.
	e, err := fa.FinishEnroll(ctx, alice, ch.State, factor.Response{Values: map[string]string{
		"code": totpCode(t, seed, digits, h.clock.Now().Add(-30*time.Second))}})
	if err != nil {
		t.Fatal(err)
	}
	h.enrollAlice(t, e, lastUsed)
	return seed
}

func newTOTP(t *testing.T, h *harness, digits int) *totp.Factor {
	t.Helper()
	f, err := totp.New(totp.Config{Issuer: "Test", Digits: digits, Clock: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestACodeFromAnyAuthenticatorAppVerifies: a person with two apps is
// challenged for both; before, only the most recently used one counted, so
// the other app could never be used.
func TestACodeFromAnyAuthenticatorAppVerifies(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	fa := newTOTP(t, h, 6)
	h.offer(fa)
	h.reset.Settings.FirstFactor = ""
	recent := h.enrollTOTP(t, fa, h.clock.Now().Add(-time.Hour))
	never := h.enrollTOTP(t, fa, time.Time{})
	for name, seed := range map[string]string{"never used app": never, "recently used app": recent} {
		token, _, err := h.reset.Start(ctx, flow.StartInput{Login: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.reset.Choose(ctx, token, factor.TOTP, ""); err != nil {
			t.Fatal(err)
		}
		st, err := h.reset.VerifyCode(ctx, token, totpCode(t, seed, 6, h.clock.Now()), "")
		if err != nil || st.State != flow.StateVerified {
			t.Fatalf("%s: %v (%s)", name, err, st.State)
		}
	}
}

// TestTheCodeGoesToEveryEnrolledAddress: each enrolled address gets its own
// code and any of them verifies.
func TestTheCodeGoesToEveryEnrolledAddress(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	mailer := h.reset.Factors[factor.Email].(*email.Factor)
	for i, addr := range []string{"alice.home@example.test", "alice.work@example.test"} {
		e, err := mailer.FromDirectory(addr)
		if err != nil {
			t.Fatal(err)
		}
		h.enrollAlice(t, e, h.clock.Now().Add(-time.Duration(i)*time.Hour))
	}
	for _, use := range []string{"alice.home@example.test", "alice.work@example.test"} {
		before := len(h.messages(t))
		token, _, err := h.reset.Start(ctx, flow.StartInput{Login: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		ms := h.messages(t)[before:]
		codes := map[string]string{}
		for _, m := range ms {
			codes[m.Recipient] = codeRE.FindStringSubmatch(m.TextBody)[1]
		}
		if len(ms) != 2 || codes["alice.home@example.test"] == "" || codes["alice.work@example.test"] == "" {
			t.Fatalf("messages to %v, want one to each enrolled address", codes)
		}
		st, err := h.reset.VerifyCode(ctx, token, codes[use], "")
		if err != nil || st.State != flow.StateVerified {
			t.Fatalf("the code sent to %s: %v (%s)", use, err, st.State)
		}
	}
}

// TestKindsWithoutEnrollmentsAfterAFirstFactor: a verified person choosing
// security questions they never answered, or attribute questions their
// entry holds no values for, gets a challenge that never verifies (a
// decoy), not an internal error.
func TestKindsWithoutEnrollmentsAfterAFirstFactor(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	q, err := questions.New(questions.Config{Questions: []questions.Question{
		{ID: "school", Text: "First school?"}, {ID: "street", Text: "First street?"}, {ID: "concert", Text: "First concert?"}}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := attributes.New(attributes.Config{Attributes: []attributes.Attribute{
		{Attribute: "roomNumber", Label: map[string]string{"en": "Room"}, Normaliser: "exact"}}})
	if err != nil {
		t.Fatal(err)
	}
	h.offer(q)
	h.offer(a)
	h.reset.Settings.NotFirst = map[factor.Kind]bool{factor.Questions: true, factor.Attributes: true}
	h.reset.Settings.Required = map[flow.Action]int{flow.ActionReset: 2, flow.ActionUnlock: 2}
	token, _, err := h.reset.Start(ctx, flow.StartInput{Login: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), ""); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []factor.Kind{factor.Questions, factor.Attributes} {
		st, err := h.reset.Choose(ctx, token, kind, "")
		if err != nil || st.State != flow.StateChallenged || st.Prompt["questions"] == nil {
			t.Fatalf("choosing %s: %v, %+v", kind, err, st)
		}
		_, err = h.reset.Verify(ctx, token, factor.Response{Values: map[string]string{
			"answer.school": "x", "answer.street": "x", "answer.concert": "x", "answer.roomNumber": "x"}}, "")
		if flowCode(err) != flow.CodeCodeInvalid {
			t.Fatalf("answering %s: %v", kind, err)
		}
	}
}

// TestDecoyPromptsFollowTheConfiguration: an authenticator app enrolled
// with 6 digits and backup codes printed at the default length, then the
// configuration changes to 8 digits and 16 characters: the real challenges
// present exactly like an unknown login's.
func TestDecoyPromptsFollowTheConfiguration(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.enrollTOTP(t, newTOTP(t, h, 6), time.Time{})
	old, err := backupcodes.New(backupcodes.Config{Clock: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	alice := factor.Subject{Directory: "demo", DN: aliceDN, Login: "alice"}
	ch, err := old.BeginEnroll(ctx, alice, factor.Response{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := old.FinishEnroll(ctx, alice, ch.State, factor.Response{Values: map[string]string{
		"code": ch.Prompt["codes"].([]string)[ch.Prompt["confirm_position"].(int)-1]}})
	if err != nil {
		t.Fatal(err)
	}
	h.enrollAlice(t, e, time.Time{})
	h.offer(newTOTP(t, h, 8))
	codes, err := backupcodes.New(backupcodes.Config{Length: 16, Clock: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h.offer(codes)
	run := func(login string) []flow.Status {
		token, st, err := h.reset.Start(ctx, flow.StartInput{Login: login})
		if err != nil {
			t.Fatal(err)
		}
		out := []flow.Status{st}
		for _, k := range []factor.Kind{factor.TOTP, factor.BackupCodes} {
			st, err := h.reset.Choose(ctx, token, k, "")
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, st)
		}
		return out
	}
	known, unknown := run("alice"), run("nobody-here")
	if !reflect.DeepEqual(known, unknown) {
		t.Fatalf("prompts differ:\nknown   %+v\nunknown %+v", known, unknown)
	}
	if fmt.Sprint(known[1].Prompt["code_length"]) != "8" || fmt.Sprint(known[2].Prompt["code_length"]) != "16" {
		t.Fatalf("prompts %v %v", known[1].Prompt, known[2].Prompt)
	}
}

var challengeRE = regexp.MustCompile(`"challenge":"[^"]+"`)

// TestPasskeyOptionsBeforeTheFirstFactor: before a factor is verified the
// passkey options name no credential, for a person with passkeys and for an
// unknown login alike; after one, they list every passkey of the person.
func TestPasskeyOptionsBeforeTheFirstFactor(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	pk, err := passkey.New(passkey.Config{RPID: "sspr.example.test", RPDisplayName: "Test", RPOrigins: []string{"https://sspr.example.test"},
		UserHandleKey: bytes.Repeat([]byte{7}, 32), Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h.offer(pk)
	h.reset.Settings.Required = map[flow.Action]int{flow.ActionReset: 2, flow.ActionUnlock: 2}
	h.reset.Settings.MaxCodesSent = 10
	alice := factor.Subject{Directory: "demo", DN: aliceDN, Login: "alice"}
	// Two credentials of alice's (made as decoys are: valid credentials
	// nobody holds the keys of).
	for i := range 2 {
		h.enrollAlice(t, pk.DecoyEnrollment(alice), h.clock.Now().Add(-time.Duration(i)*time.Hour))
	}
	options := func(st flow.Status) string {
		raw, _ := json.Marshal(st.Prompt["options"])
		return challengeRE.ReplaceAllString(string(raw), `"challenge":"C"`)
	}
	var got []string
	var aliceToken string
	for _, login := range []string{"alice", "nobody-here", "alice"} {
		token, _, err := h.reset.Start(ctx, flow.StartInput{Login: login})
		if err != nil {
			t.Fatal(err)
		}
		st, err := h.reset.Choose(ctx, token, factor.Passkey, "")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, options(st))
		aliceToken = token
	}
	if got[0] != got[1] || got[1] != got[2] || strings.Contains(got[0], "allowCredentials") {
		t.Fatalf("options before a first factor differ or name credentials:\n%s\n%s\n%s", got[0], got[1], got[2])
	}
	if _, err := h.reset.Choose(ctx, aliceToken, factor.Email, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.reset.VerifyCode(ctx, aliceToken, h.lastCode(t), ""); err != nil {
		t.Fatal(err)
	}
	st, err := h.reset.Choose(ctx, aliceToken, factor.Passkey, "")
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		AllowCredentials []any `json:"allowCredentials"`
	}
	if err := json.Unmarshal([]byte(options(st)), &o); err != nil || len(o.AllowCredentials) != 2 {
		t.Fatalf("after a first factor the options list %d credentials, want both: %s", len(o.AllowCredentials), options(st))
	}
}

// demoDirectory starts another embedded directory, named name, with nobody
// in it.
func demoDirectory(t *testing.T, name string) *openldap.Directory {
	t.Helper()
	srv, err := demo.Start(context.Background(), demo.Options{Users: []demo.User{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	cfg := openldap.Preset()
	cfg.Name = name
	cfg.URLs = []string{srv.URL()}
	cfg.BindDN, cfg.BindPassword, cfg.BaseDN = srv.ServiceDN(), srv.ServicePassword(), srv.BaseDN()
	cfg.AllowInsecurePasswordWrites = true
	cfg.Timeout = 5 * time.Second
	d, err := openldap.New(cfg, openldap.Options{PasswordWrite: "modify"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// monotonic is a test clock for padding that only directory calls advance.
type monotonic struct {
	mu sync.Mutex
	t  time.Time
}

func (m *monotonic) Now() time.Time          { m.mu.Lock(); defer m.mu.Unlock(); return m.t }
func (m *monotonic) Advance(d time.Duration) { m.mu.Lock(); m.t = m.t.Add(d); m.mu.Unlock() }

// slowSet is a directory set whose every round trip takes `each` on the
// padding clock, as a loaded directory would.
type slowSet struct {
	*directory.Set
	clock *monotonic
	each  time.Duration
}

// FindUser asks every directory.
func (s slowSet) FindUser(ctx context.Context, login string) (*directory.User, error) {
	s.clock.Advance(time.Duration(len(s.All())) * s.each)
	return s.Set.FindUser(ctx, login)
}

func (s slowSet) FindUserIn(ctx context.Context, dir, login string) (*directory.User, error) {
	s.clock.Advance(s.each)
	return s.Set.FindUserIn(ctx, dir, login)
}

func (s slowSet) Directory(name string) (directory.Directory, bool) {
	d, ok := s.Set.Directory(name)
	if !ok {
		return nil, false
	}
	return slowDirectory{Directory: d.(*openldap.Directory), clock: s.clock, each: s.each}, true
}

type slowDirectory struct {
	*openldap.Directory
	clock *monotonic
	each  time.Duration
}

func (d slowDirectory) AccountStatus(ctx context.Context, u *directory.User) (*directory.AccountStatus, error) {
	d.clock.Advance(d.each)
	return d.Directory.AccountStatus(ctx, u)
}

// TestStepsTakeAlikeWithASlowDirectory: with every directory round trip
// taking longer than the padding, a known and an unknown login still end
// each step (identify, choose, resend, a wrong answer) at the same time:
// both do the same round trips, and an overrun is padded up to the next
// multiple of the padding instead of returning at once. The steps after
// identify read the entry their challenge carries, known and decoy alike,
// so the slow directory does not reach them.
func TestStepsTakeAlikeWithASlowDirectory(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	mono := &monotonic{t: time.Unix(0, 0)}
	h.reset.Monotonic = mono.Now
	// Two directories: a login looked up everywhere costs two round trips,
	// one looked up again in its own directory one.
	h.reset.Directories = slowSet{Set: directory.NewSet(h.dir, demoDirectory(t, "other")), clock: mono, each: 250 * time.Millisecond}
	h.reset.Settings.IdentifyMinDuration = 300 * time.Millisecond
	h.reset.Settings.StepMinDuration = 200 * time.Millisecond
	// took runs step and returns how long it took on the padding clock,
	// padding included.
	took := func(step func()) time.Duration {
		h.mu.Lock()
		h.sleeps = nil
		h.mu.Unlock()
		began := mono.Now()
		step()
		h.mu.Lock()
		defer h.mu.Unlock()
		d := mono.Now().Sub(began)
		for _, s := range h.sleeps {
			d += s
		}
		return d
	}
	run := func(login string) []time.Duration {
		var token string
		out := []time.Duration{took(func() {
			var err error
			if token, _, err = h.reset.Start(ctx, flow.StartInput{Login: login}); err != nil {
				t.Fatal(err)
			}
		})}
		out = append(out, took(func() {
			if _, err := h.reset.Choose(ctx, token, factor.Email, ""); err != nil {
				t.Fatal(err)
			}
		}))
		out = append(out, took(func() {
			if _, err := h.reset.Resend(ctx, token, ""); err != nil && flowCode(err) != flow.CodeTooManyCodes {
				t.Fatal(err)
			}
		}))
		out = append(out, took(func() {
			if _, err := h.reset.VerifyCode(ctx, token, "00000000", ""); flowCode(err) != flow.CodeCodeInvalid {
				t.Fatal(err)
			}
		}))
		return out
	}
	mails := len(h.messages(t))
	known := run("alice")
	if len(h.messages(t)) == mails {
		t.Fatal("alice got no code: the known login walked the decoy path")
	}
	unknown := run("nobody-here")
	steps := []string{"identify", "choose", "resend", "wrong code"}
	pads := []time.Duration{300 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond}
	for i, name := range steps {
		if known[i] != unknown[i] {
			t.Errorf("%s: %v for a known login, %v for an unknown one", name, known[i], unknown[i])
		}
		if i == 0 {
			if known[i]%pads[i] != 0 || known[i] <= pads[i] {
				t.Errorf("%s took %v, want an overrun padded to a multiple of %v", name, known[i], pads[i])
			}
			continue
		}
		// The steps after identify read the entry the challenge carries
		// (known and decoy alike), not the slow directory: one padding.
		if known[i] != pads[i] {
			t.Errorf("%s took %v, want %v: no directory round trip, just the padding", name, known[i], pads[i])
		}
	}
}

// TestOneDirectoryDownAnswersAlike: with two directories and one of them
// down, a login found in the other and a login found nowhere get the same
// answer (the unknown one walks the decoy path instead of a 503); with only
// one directory, down, everybody is told plainly.
func TestOneDirectoryDownAnswersAlike(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	dead := ldapdir.Config{Name: "dead", URLs: []string{"ldap://127.0.0.1:1"}, BindDN: "cn=x", BindPassword: "x", BaseDN: "dc=x",
		AllowInsecurePasswordWrites: true, Timeout: time.Second}
	dead = dead.WithDefaults(openldap.Preset())
	d, err := openldap.New(dead, openldap.Options{PasswordWrite: "modify"})
	if err != nil {
		t.Fatal(err)
	}
	h.reset.Directories = directory.NewSet(d, h.dir)
	_, known, err := h.reset.Start(ctx, flow.StartInput{Login: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	token, unknown, err := h.reset.Start(ctx, flow.StartInput{Login: "nobody-here"})
	if err != nil {
		t.Fatalf("an unknown login with one directory down: %v", err)
	}
	if !reflect.DeepEqual(known, unknown) {
		t.Fatalf("status differs:\nknown   %+v\nunknown %+v", known, unknown)
	}
	if _, err := h.reset.Resend(ctx, token, ""); err != nil {
		t.Fatalf("resend for the unknown login: %v", err)
	}
	if _, err := h.reset.VerifyCode(ctx, token, "00000000", ""); flowCode(err) != flow.CodeCodeInvalid {
		t.Fatalf("a code for the unknown login: %v", err)
	}
	// The password steps a stranger reaches answer alike too: a wrong
	// password for alice and any password for a login found nowhere.
	e := h.enroll()
	admin := &flow.Admin{Enroll: e, IdleTimeout: 15 * time.Minute, SessionTTL: time.Hour}
	change := h.change()
	for _, login := range []string{"alice", "nobody-here"} {
		if _, _, err := e.SignIn(ctx, login, "Not-Her-Password-1", "", "en"); flowCode(err) != flow.CodeCredentialsWrong {
			t.Errorf("enroll sign-in as %s with one directory down: %v", login, err)
		}
		if _, _, err := admin.SignIn(ctx, login, "Not-Her-Password-1", ""); flowCode(err) != flow.CodeCredentialsWrong {
			t.Errorf("admin sign-in as %s with one directory down: %v", login, err)
		}
		err := change.Change(ctx, flow.ChangeInput{Login: login, OldPassword: "Not-Her-Password-1", NewPassword: "Fresh-Pass-2026", Confirm: "Fresh-Pass-2026"})
		if flowCode(err) != flow.CodeCredentialsWrong {
			t.Errorf("change as %s with one directory down: %v", login, err)
		}
	}
	h.reset.Directories = directory.NewSet(d)
	if _, _, err := h.reset.Start(ctx, flow.StartInput{Login: "nobody-here"}); flowCode(err) != flow.CodeDirectoryDown {
		t.Fatalf("the only directory down: %v", err)
	}
	if _, _, err := e.SignIn(ctx, "nobody-here", "Not-Her-Password-1", "", "en"); flowCode(err) != flow.CodeDirectoryDown {
		t.Fatalf("enroll sign-in, the only directory down: %v", err)
	}
}

// sends records the sending slots the abuse controls are asked for.
type sends struct {
	mu   sync.Mutex
	done []string
}

func (s *sends) Take(_ context.Context, a flow.LimitAction, _, _, destination string) (bool, time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a == flow.LimitSend {
		s.done = append(s.done, destination)
	}
	return true, 0, nil
}

func (s *sends) Refund(context.Context, flow.LimitAction, string, string, string) error { return nil }

// TestEverySendIsCounted: a code sent to two addresses counts against the
// sending limits of both, at identify and when chosen again.
func TestEverySendIsCounted(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	lim := &sends{}
	h.reset.Limiter = lim
	mailer := h.reset.Factors[factor.Email].(*email.Factor)
	for _, addr := range []string{"alice.home@example.test", "alice.work@example.test"} {
		e, err := mailer.FromDirectory(addr)
		if err != nil {
			t.Fatal(err)
		}
		h.enrollAlice(t, e, time.Time{})
	}
	token, _, err := h.reset.Start(ctx, flow.StartInput{Login: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.reset.Resend(ctx, token, ""); err != nil {
		t.Fatal(err)
	}
	lim.mu.Lock()
	defer lim.mu.Unlock()
	got := strings.Join(lim.done, " ")
	if strings.Count(got, "alice.home@example.test") != 2 || strings.Count(got, "alice.work@example.test") != 2 {
		t.Fatalf("sends counted: %v", lim.done)
	}
}
