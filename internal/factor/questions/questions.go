package questions

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/secrets"
)

// Defaults and bounds.
const (
	DefaultRequired        = 3
	DefaultAsk             = 2
	DefaultMinAnswerLength = 3
	DefaultTTL             = 10 * time.Minute
	DefaultLabel           = "Security questions"
	// MaxAnswers bounds how many answers one enrollment stores (and
	// hashes).
	MaxAnswers = 10
	// MaxQuestionLength and MaxAnswerLength bound input, in characters.
	MaxQuestionLength = 200
	MaxAnswerLength   = 200
	// MinQuestionLength is the shortest user-defined question.
	MinQuestionLength = 5
)

// Question is an administrator-defined question.
type Question struct {
	// ID is stable: enrollments refer to it, so the text may be reworded
	// without losing them. ASCII letters, digits, "_" and "-" (no ".", so
	// it never collides with a user-defined "custom.N").
	ID string
	// Text is the question as shown.
	Text string
}

// Config configures the factor; zero fields take their defaults.
type Config struct {
	// Questions are the administrator's questions to choose from.
	Questions []Question
	// AllowUserDefined lets people write their own questions as well.
	// Turning it off later makes existing user-defined questions unusable
	// (they are no longer asked).
	AllowUserDefined bool
	// Required is how many answers an enrollment needs (3).
	Required int
	// Ask is how many a challenge asks (2, at most Required).
	Ask int
	// MinAnswerLength is the shortest answer accepted, in characters after
	// normalisation, spaces not counted (3).
	MinAnswerLength int
	// Argon2id is the hashing cost; secrets.OWASPArgon2id by default,
	// never less.
	Argon2id secrets.Argon2idParams
	// TTL bounds how long an enrollment or challenge may be answered (10
	// minutes).
	TTL time.Duration
	// Label is the enrollment's label ("Security questions").
	Label string
	// Clock returns the current time (time.Now by default).
	Clock func() time.Time
}

// Factor is the security-question factor; stateless and safe for
// concurrent use.
type Factor struct {
	cfg    Config
	params secrets.Argon2idParams
	byID   map[string]Question
}

var _ factor.Factor = (*Factor)(nil)

// New checks cfg and returns the factor; every problem is reported.
func New(cfg Config) (*Factor, error) {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if cfg.Required == 0 {
		cfg.Required = DefaultRequired
	}
	if cfg.Ask == 0 {
		cfg.Ask = DefaultAsk
	}
	if cfg.MinAnswerLength == 0 {
		cfg.MinAnswerLength = DefaultMinAnswerLength
	}
	if cfg.Required < 1 || cfg.Required > MaxAnswers {
		bad("required is %d, want 1 to %d", cfg.Required, MaxAnswers)
	}
	if cfg.Ask < 1 || cfg.Ask > cfg.Required {
		bad("ask is %d, want 1 to required (%d)", cfg.Ask, cfg.Required)
	}
	if cfg.MinAnswerLength < 1 || cfg.MinAnswerLength > MaxAnswerLength {
		bad("minimum answer length is %d, want 1 to %d", cfg.MinAnswerLength, MaxAnswerLength)
	}
	byID := make(map[string]Question, len(cfg.Questions))
	for i, q := range cfg.Questions {
		switch {
		case !validID(q.ID):
			bad("questions[%d]: id %q must be letters, digits, _ or - (at most 64)", i, q.ID)
		case byID[q.ID] != (Question{}):
			bad("questions[%d]: id %q is used twice", i, q.ID)
		}
		if strings.TrimSpace(q.Text) == "" {
			bad("questions[%d] (%s): text is empty", i, q.ID)
		}
		byID[q.ID] = q
	}
	if !cfg.AllowUserDefined && len(cfg.Questions) < cfg.Required {
		bad("%d questions defined but %d answers required (define more or allow user-defined questions)", len(cfg.Questions), cfg.Required)
	}
	if cfg.Argon2id == (secrets.Argon2idParams{}) {
		cfg.Argon2id = secrets.OWASPArgon2id
	}
	if err := cfg.Argon2id.CheckMinimum(); err != nil {
		bad("%v", err)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.TTL < 0 {
		bad("TTL is negative")
	}
	if cfg.Label == "" {
		cfg.Label = DefaultLabel
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("questions: %s", strings.Join(problems, "; "))
	}
	return &Factor{cfg: cfg, params: cfg.Argon2id, byID: byID}, nil
}

const customPrefix = "custom."

func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-')) {
			return false
		}
	}
	return true
}

// Kind returns factor.Questions.
func (f *Factor) Kind() factor.Kind { return factor.Questions }

// NeedsEnrollment returns true.
func (f *Factor) NeedsEnrollment() bool { return true }

// SoleFactorAllowed returns false: security questions are never enough on
// their own (NIST SP 800-63B-4). The policy layer must enforce it.
func (f *Factor) SoleFactorAllowed() bool { return false }

// entry is one enrolled answer.
type entry struct {
	// ID is the administrator question's ID or "custom.N".
	ID string `json:"id"`
	// Text is a user-defined question's text (empty for the
	// administrator's, whose current text is shown).
	Text string `json:"text,omitempty"`
	Salt []byte `json:"salt"`
	Hash []byte `json:"hash"`
}

// record is Enrollment.Secret.
type record struct {
	Version int                    `json:"v"`
	Params  secrets.Argon2idParams `json:"argon2id"`
	Entries []entry                `json:"entries"`
}

// state is what a challenge (or enrollment) leaves for its answer.
type state struct {
	Version int       `json:"v"`
	Asked   []string  `json:"asked,omitempty"`
	Expires time.Time `json:"exp"`
}

const formatVersion = 1

// BeginEnroll returns the questions to choose from: prompt "questions" (a
// list of {"id", "text"}), "required", "min_answer_length" and
// "user_defined" (whether custom.N fields are accepted).
func (f *Factor) BeginEnroll(_ context.Context, _ factor.Subject, _ factor.Response) (factor.Challenge, error) {
	qs := make([]map[string]string, len(f.cfg.Questions))
	for i, q := range f.cfg.Questions {
		qs[i] = map[string]string{"id": q.ID, "text": q.Text}
	}
	expires := f.cfg.Clock().Add(f.cfg.TTL)
	st, err := json.Marshal(state{Version: formatVersion, Expires: expires})
	if err != nil {
		return factor.Challenge{}, err
	}
	return factor.Challenge{
		Prompt: map[string]any{
			"questions":         qs,
			"required":          f.cfg.Required,
			"min_answer_length": f.cfg.MinAnswerLength,
			"user_defined":      f.cfg.AllowUserDefined,
		},
		State:   st,
		Expires: expires,
	}, nil
}

// FinishEnroll checks and hashes the answers in resp (see the package
// documentation for the field names). Problems with the answers are
// reported as factor.ErrBadInput with every reason.
func (f *Factor) FinishEnroll(_ context.Context, s factor.Subject, st []byte, resp factor.Response) (factor.Enrollment, error) {
	if _, err := f.decodeState(st); err != nil {
		return factor.Enrollment{}, err
	}
	type answer struct {
		entry
		norm string
	}
	var (
		answers  []answer
		problems []string
	)
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	for _, q := range f.cfg.Questions {
		if v, ok := resp.Values["answer."+q.ID]; ok && strings.TrimSpace(v) != "" {
			answers = append(answers, answer{entry: entry{ID: q.ID}, norm: Normalise(v)})
		}
	}
	for key := range resp.Values {
		if strings.HasPrefix(key, "answer.") {
			if _, ok := f.byID[strings.TrimPrefix(key, "answer.")]; !ok {
				bad("%s: no such question", key)
			}
		}
	}
	if f.cfg.AllowUserDefined {
		seenText := map[string]bool{}
		for n := 1; n <= MaxAnswers; n++ {
			id := customPrefix + strconv.Itoa(n)
			text := strings.TrimSpace(resp.Values[id+".question"])
			ans := resp.Values[id+".answer"]
			if text == "" && strings.TrimSpace(ans) == "" {
				continue
			}
			switch l := utf8.RuneCountInString(text); {
			case text == "":
				bad("%s: the question is missing", id)
				continue
			case l < MinQuestionLength || l > MaxQuestionLength:
				bad("%s: the question must be %d to %d characters", id, MinQuestionLength, MaxQuestionLength)
				continue
			}
			if seenText[Normalise(text)] {
				bad("%s: the same question is asked twice", id)
				continue
			}
			seenText[Normalise(text)] = true
			answers = append(answers, answer{entry: entry{ID: id, Text: text}, norm: Normalise(ans)})
		}
	}
	login := Normalise(s.Login)
	seen := map[string]string{}
	for _, a := range answers {
		switch l := utf8.RuneCountInString(strings.ReplaceAll(a.norm, " ", "")); {
		case l < f.cfg.MinAnswerLength:
			bad("%s: the answer is shorter than %d characters", a.ID, f.cfg.MinAnswerLength)
		case l > MaxAnswerLength:
			bad("%s: the answer is longer than %d characters", a.ID, MaxAnswerLength)
		case login != "" && a.norm == login:
			bad("%s: the answer must not be your login", a.ID)
		case seen[a.norm] != "":
			bad("%s: the answer is the same as for %s", a.ID, seen[a.norm])
		default:
			seen[a.norm] = a.ID
		}
	}
	if len(answers) < f.cfg.Required {
		bad("%d answers given, %d required", len(answers), f.cfg.Required)
	}
	if len(answers) > MaxAnswers {
		bad("%d answers given, at most %d", len(answers), MaxAnswers)
	}
	if len(problems) > 0 {
		return factor.Enrollment{}, fmt.Errorf("%w: %s", factor.ErrBadInput, strings.Join(problems, "; "))
	}

	entries := make([]entry, len(answers))
	var (
		wg      sync.WaitGroup
		saltErr error
		mu      sync.Mutex
		sem     = make(chan struct{}, runtime.GOMAXPROCS(0))
	)
	for i, a := range answers {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			salt, err := secrets.NewSalt()
			if err != nil {
				mu.Lock()
				saltErr = err
				mu.Unlock()
				return
			}
			e := a.entry
			e.Salt = salt
			e.Hash = f.params.Hash([]byte(a.norm), salt)
			entries[i] = e
		})
	}
	wg.Wait()
	if saltErr != nil {
		return factor.Enrollment{}, saltErr
	}
	secret, err := json.Marshal(record{Version: formatVersion, Params: f.params, Entries: entries})
	if err != nil {
		return factor.Enrollment{}, err
	}
	return factor.Enrollment{
		Kind:      factor.Questions,
		Label:     f.cfg.Label,
		Secret:    secret,
		CreatedAt: f.cfg.Clock(),
	}, nil
}

// usable returns the enrolled entries that may still be asked, with the
// text to show.
func (f *Factor) usable(r record) []entry {
	var out []entry
	for _, e := range r.Entries {
		if strings.HasPrefix(e.ID, customPrefix) {
			if f.cfg.AllowUserDefined && e.Text != "" {
				out = append(out, e)
			}
			continue
		}
		if q, ok := f.byID[e.ID]; ok {
			e.Text = q.Text
			out = append(out, e)
		}
	}
	return out
}

// Challenge asks Config.Ask enrolled questions chosen at random: prompt
// "questions" (a list of {"id", "text"}; answer each in "answer.ID"). With
// fewer usable questions than that (the administrator removed some) it
// returns factor.ErrNotAvailable.
func (f *Factor) Challenge(_ context.Context, _ factor.Subject, e factor.Enrollment) (factor.Challenge, error) {
	r, err := decodeRecord(e.Secret)
	if err != nil {
		return factor.Challenge{}, err
	}
	entries := f.usable(r)
	if len(entries) < f.cfg.Ask {
		return factor.Challenge{}, factor.ErrNotAvailable
	}
	// Fisher-Yates with crypto/rand, then keep the first Ask.
	for i := len(entries) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return factor.Challenge{}, fmt.Errorf("questions: %w", err)
		}
		entries[i], entries[j.Int64()] = entries[j.Int64()], entries[i]
	}
	entries = entries[:f.cfg.Ask]
	qs := make([]map[string]string, len(entries))
	asked := make([]string, len(entries))
	for i, e := range entries {
		qs[i] = map[string]string{"id": e.ID, "text": e.Text}
		asked[i] = e.ID
	}
	expires := f.cfg.Clock().Add(f.cfg.TTL)
	st, err := json.Marshal(state{Version: formatVersion, Asked: asked, Expires: expires})
	if err != nil {
		return factor.Challenge{}, err
	}
	return factor.Challenge{Prompt: map[string]any{"questions": qs}, State: st, Expires: expires}, nil
}

// Verify checks the answers to the questions the challenge asked; all must
// be right (factor.ErrWrongResponse otherwise, without saying which).
func (f *Factor) Verify(_ context.Context, _ factor.Subject, e factor.Enrollment, st []byte, resp factor.Response) (factor.Enrollment, error) {
	r, err := decodeRecord(e.Secret)
	if err != nil {
		return factor.Enrollment{}, err
	}
	s, err := f.decodeState(st)
	if err != nil {
		return factor.Enrollment{}, err
	}
	if len(s.Asked) == 0 {
		return factor.Enrollment{}, errors.New("questions: challenge state asks nothing")
	}
	entries := f.usable(r)
	right := true
	for _, id := range s.Asked {
		i := slices.IndexFunc(entries, func(e entry) bool { return e.ID == id })
		if i < 0 {
			// Removed since the challenge.
			return factor.Enrollment{}, factor.ErrNotAvailable
		}
		// Hash every answer, even after a wrong one, so timing does not
		// tell which was wrong.
		if !r.Params.Verify([]byte(Normalise(resp.Values["answer."+id])), entries[i].Salt, entries[i].Hash) {
			right = false
		}
	}
	if !right {
		return factor.Enrollment{}, factor.ErrWrongResponse
	}
	e.LastUsedAt = f.cfg.Clock()
	return e, nil
}

func (f *Factor) decodeState(st []byte) (state, error) {
	var s state
	if err := json.Unmarshal(st, &s); err != nil || s.Version != formatVersion {
		return state{}, errors.New("questions: state is malformed")
	}
	if !f.cfg.Clock().Before(s.Expires) {
		return state{}, factor.ErrExpired
	}
	return s, nil
}

func decodeRecord(secret []byte) (record, error) {
	var r record
	err := json.Unmarshal(secret, &r)
	if err == nil && r.Version == formatVersion && r.Params.Valid() {
		ok := true
		for _, e := range r.Entries {
			ok = ok && e.ID != "" && len(e.Salt) >= 8 && len(e.Hash) == secrets.Argon2idKeyLen
		}
		if ok {
			return r, nil
		}
	}
	return record{}, errors.New("questions: enrollment secret is malformed")
}

var folder = cases.Fold()

// Normalise returns the form in which answers are hashed and compared:
// NFKC, case-folded, dashes as spaces, other punctuation removed, white
// space collapsed to single spaces, trimmed.
func Normalise(s string) string {
	s = norm.NFKC.String(folder.String(norm.NFKC.String(s)))
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || unicode.Is(unicode.Pd, r):
			space = b.Len() > 0
		case unicode.IsPunct(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			// dropped
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}
