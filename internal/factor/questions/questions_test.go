package questions

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/testclock"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/secrets"
)

var ctx = context.Background()

var carol = factor.Subject{Login: "carol"}

var cheap = secrets.Argon2idParams{Memory: 64, Time: 1, Threads: 1}

var adminQuestions = []Question{
	{ID: "pet", Text: "What was the name of your first pet?"},
	{ID: "street", Text: "On which street did you grow up?"},
	{ID: "teacher", Text: "What was your favourite teacher's name?"},
	{ID: "city", Text: "In which city did your parents meet?"},
}

func newFactor(t testing.TB, cfg Config, c *testclock.Clock) *Factor {
	t.Helper()
	if cfg.Questions == nil {
		cfg.Questions = adminQuestions
	}
	cfg.Clock = c.Now
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.params = cheap
	return f
}

func values(kv ...string) factor.Response {
	v := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		v[kv[i]] = kv[i+1]
	}
	return factor.Response{Values: v}
}

var goodAnswers = map[string]string{"pet": "Fluffy", "street": "Elm Street", "teacher": "Mrs. O'Brien"}

func enroll(t testing.TB, f *Factor, resp factor.Response) (factor.Enrollment, error) {
	t.Helper()
	ch, err := f.BeginEnroll(ctx, carol, factor.Response{})
	if err != nil {
		t.Fatal(err)
	}
	return f.FinishEnroll(ctx, carol, ch.State, resp)
}

func goodEnrollment(t testing.TB, f *Factor) factor.Enrollment {
	t.Helper()
	e, err := enroll(t, f, values("answer.pet", goodAnswers["pet"], "answer.street", goodAnswers["street"], "answer.teacher", goodAnswers["teacher"]))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// answer returns the response answering the challenge's questions from
// answers (keyed by question ID).
func answer(ch factor.Challenge, answers map[string]string) factor.Response {
	v := map[string]string{}
	for _, q := range ch.Prompt["questions"].([]map[string]string) {
		v["answer."+q["id"]] = answers[q["id"]]
	}
	return factor.Response{Values: v}
}

func TestSoleFactorNeverAllowed(t *testing.T) {
	f := newFactor(t, Config{}, testclock.New(time.Now()))
	if f.SoleFactorAllowed() {
		t.Error("security questions allowed as the sole factor")
	}
	if f.Kind() != factor.Questions || !f.NeedsEnrollment() {
		t.Error("kind / NeedsEnrollment")
	}
}

func TestNormalise(t *testing.T) {
	cases := []struct{ in, want string }{
		{"  Fluffy   the\tCat! ", "fluffy the cat"},
		{"ＦＬＵＦＦＹ", "fluffy"},                   // full-width
		{"Straße", "strasse"},                  // case folding
		{"STRASSE", "strasse"},                 //
		{"New-York", "new york"},               // dashes are spaces
		{"new york", "new york"},               //
		{"O'Brien", "obrien"},                  // other punctuation removed
		{"Mrs. O’Brien", "mrs obrien"},         // typographic apostrophe
		{"ﬁsh", "fish"},                        // ligature (NFKC)
		{"Café", "café"},                       // composed
		{"Cafe\u0301", "café"},                 // decomposed: same
		{"zero\u200bwidth", "zerowidth"},       // format characters dropped
		{"...", ""},                            //
		{"", ""},                               //
		{"Ünïcödé  —  TEST", "ünïcödé test"},   // em dash between spaces
		{"ΣΊΣΥΦΟΣ", Normalise("σίσυφος")},      // Greek final sigma folds alike
		{"\u00a0leading nbsp", "leading nbsp"}, //
		{"tabs\n\nand\r\nnewlines", "tabs and newlines"},
	}
	for _, c := range cases {
		if got := Normalise(c.in); got != c.want {
			t.Errorf("Normalise(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestEnrollAndVerify(t *testing.T) {
	c := testclock.New(time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC))
	f := newFactor(t, Config{}, c)
	ch, err := f.BeginEnroll(ctx, carol, factor.Response{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Prompt["questions"].([]map[string]string)) != 4 || ch.Prompt["required"] != 3 || ch.Prompt["user_defined"] != false {
		t.Errorf("enroll prompt %v", ch.Prompt)
	}
	e := goodEnrollment(t, f)
	if e.Kind != factor.Questions || e.Label != DefaultLabel {
		t.Errorf("enrollment %+v", e)
	}
	for _, a := range goodAnswers {
		if strings.Contains(strings.ToLower(string(e.Secret)), strings.ToLower(a)) {
			t.Errorf("answer %q stored in clear", a)
		}
	}

	// Answers typed differently still match.
	variants := map[string]string{"pet": "  FLUFFY ", "street": "elm-street", "teacher": "mrs obrien"}
	for range 5 {
		ch, err := f.Challenge(ctx, carol, e)
		if err != nil {
			t.Fatal(err)
		}
		qs := ch.Prompt["questions"].([]map[string]string)
		if len(qs) != DefaultAsk || qs[0]["id"] == qs[1]["id"] {
			t.Fatalf("challenge asks %v", qs)
		}
		for _, q := range qs {
			if q["text"] == "" || goodAnswers[q["id"]] == "" {
				t.Errorf("asked %v, which was not enrolled", q)
			}
		}
		got, err := f.Verify(ctx, carol, e, ch.State, answer(ch, variants))
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if !got.LastUsedAt.Equal(c.Now()) {
			t.Errorf("LastUsedAt %v", got.LastUsedAt)
		}

		// One wrong answer fails the whole challenge.
		oneWrong := map[string]string{}
		for k, v := range goodAnswers {
			oneWrong[k] = v
		}
		oneWrong[qs[1]["id"]] = "wrong answer"
		if _, err := f.Verify(ctx, carol, e, ch.State, answer(ch, oneWrong)); !errors.Is(err, factor.ErrWrongResponse) {
			t.Errorf("one wrong answer: %v", err)
		}
		if _, err := f.Verify(ctx, carol, e, ch.State, factor.Response{}); !errors.Is(err, factor.ErrWrongResponse) {
			t.Errorf("no answers: %v", err)
		}
	}

	// The state expires.
	ch, _ = f.Challenge(ctx, carol, e)
	c.Advance(DefaultTTL)
	if _, err := f.Verify(ctx, carol, e, ch.State, answer(ch, goodAnswers)); !errors.Is(err, factor.ErrExpired) {
		t.Errorf("expired challenge: %v", err)
	}
	if _, err := f.Verify(ctx, carol, e, []byte("nope"), answer(ch, goodAnswers)); err == nil {
		t.Error("garbage state accepted")
	}
}

func TestChallengeIsRandom(t *testing.T) {
	f := newFactor(t, Config{Ask: 1}, testclock.New(time.Now()))
	e := goodEnrollment(t, f)
	seen := map[string]int{}
	for range 200 {
		ch, err := f.Challenge(ctx, carol, e)
		if err != nil {
			t.Fatal(err)
		}
		seen[ch.Prompt["questions"].([]map[string]string)[0]["id"]]++
	}
	if len(seen) != 3 {
		t.Errorf("200 challenges asked only %v", seen)
	}
}

func TestEnrollmentRules(t *testing.T) {
	c := testclock.New(time.Now())
	f := newFactor(t, Config{}, c)
	cases := []struct {
		name string
		resp factor.Response
		want string
	}{
		{"too few", values("answer.pet", "Fluffy", "answer.street", "Elm Street"), "2 answers given, 3 required"},
		{"too short", values("answer.pet", "Fl", "answer.street", "Elm Street", "answer.teacher", "Smith"), "pet: the answer is shorter than 3"},
		{"punctuation only", values("answer.pet", "!!!...", "answer.street", "Elm Street", "answer.teacher", "Smith"), "pet: the answer is shorter than 3"},
		{"same answer", values("answer.pet", "Smith", "answer.street", "Elm Street", "answer.teacher", "SMITH!"), "the same as for"},
		{"login", values("answer.pet", "Carol", "answer.street", "Elm Street", "answer.teacher", "Smith"), "must not be your login"},
		{"unknown question", values("answer.pet", "Fluffy", "answer.street", "Elm Street", "answer.teacher", "Smith", "answer.nope", "x"), "answer.nope: no such question"},
		{"custom not allowed", values("answer.pet", "Fluffy", "answer.street", "Elm Street", "custom.1.question", "Favourite band?", "custom.1.answer", "Queen"), "2 answers given"},
	}
	for _, tc := range cases {
		_, err := enroll(t, f, tc.resp)
		if !errors.Is(err, factor.ErrBadInput) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrBadInput with %q", tc.name, err, tc.want)
		}
	}
	// All problems at once.
	_, err := enroll(t, f, values("answer.pet", "ab", "answer.street", "cd"))
	if err == nil || !strings.Contains(err.Error(), "pet:") || !strings.Contains(err.Error(), "street:") || !strings.Contains(err.Error(), "required") {
		t.Errorf("not every problem reported: %v", err)
	}
	// A longer minimum.
	long := newFactor(t, Config{MinAnswerLength: 6}, c)
	if _, err := enroll(t, long, values("answer.pet", "Fluffy", "answer.street", "Elm St", "answer.teacher", "Smith")); err == nil || !strings.Contains(err.Error(), "teacher: the answer is shorter than 6") {
		t.Errorf("min length 6: %v", err)
	}
	// Expired enrollment state.
	ch, _ := f.BeginEnroll(ctx, carol, factor.Response{})
	c.Advance(time.Hour)
	if _, err := f.FinishEnroll(ctx, carol, ch.State, values("answer.pet", "Fluffy", "answer.street", "Elm Street", "answer.teacher", "Smith")); !errors.Is(err, factor.ErrExpired) {
		t.Errorf("expired enrollment: %v", err)
	}
}

func TestUserDefinedQuestions(t *testing.T) {
	f := newFactor(t, Config{Questions: adminQuestions[:1], AllowUserDefined: true, Ask: 3}, testclock.New(time.Now()))
	resp := values(
		"answer.pet", "Fluffy",
		"custom.1.question", "Name of my first bicycle?", "custom.1.answer", "Red Rocket",
		"custom.2.question", "Where did I break my arm?", "custom.2.answer", "Chamonix",
	)
	e, err := enroll(t, f, resp)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := f.Challenge(ctx, carol, e)
	if err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{}
	for _, q := range ch.Prompt["questions"].([]map[string]string) {
		texts[q["id"]] = q["text"]
	}
	if texts["custom.1"] != "Name of my first bicycle?" || texts["custom.2"] != "Where did I break my arm?" || texts["pet"] == "" {
		t.Fatalf("asked %v", texts)
	}
	answers := map[string]string{"pet": "fluffy", "custom.1": "red rocket", "custom.2": "CHAMONIX"}
	if _, err := f.Verify(ctx, carol, e, ch.State, answer(ch, answers)); err != nil {
		t.Errorf("Verify: %v", err)
	}

	// Missing question text, duplicate questions.
	bad := []struct {
		resp factor.Response
		want string
	}{
		{values("answer.pet", "Fluffy", "custom.1.answer", "Red Rocket", "custom.2.question", "Where did I break my arm?", "custom.2.answer", "Chamonix"), "custom.1: the question is missing"},
		{values("answer.pet", "Fluffy", "custom.1.question", "Why?", "custom.1.answer", "Red Rocket"), "custom.1: the question must be"},
		{values("answer.pet", "Fluffy", "custom.1.question", "Where did I break my arm?", "custom.1.answer", "Red Rocket", "custom.2.question", "where did I break my arm", "custom.2.answer", "Chamonix"), "asked twice"},
	}
	for _, b := range bad {
		if _, err := enroll(t, f, b.resp); !errors.Is(err, factor.ErrBadInput) || !strings.Contains(err.Error(), b.want) {
			t.Errorf("err = %v, want %q", err, b.want)
		}
	}

	// Turning user-defined questions off leaves too few to ask.
	off := newFactor(t, Config{Questions: adminQuestions, Ask: 2}, testclock.New(time.Now()))
	if _, err := off.Challenge(ctx, carol, e); !errors.Is(err, factor.ErrNotAvailable) {
		t.Errorf("user-defined turned off: %v", err)
	}
}

func TestRemovedQuestion(t *testing.T) {
	c := testclock.New(time.Now())
	f := newFactor(t, Config{}, c)
	e := goodEnrollment(t, f)
	// The administrator removes "teacher" and "street": one usable left.
	fewer := newFactor(t, Config{Questions: []Question{adminQuestions[0], adminQuestions[3]}, Required: 2, Ask: 2}, c)
	if _, err := fewer.Challenge(ctx, carol, e); !errors.Is(err, factor.ErrNotAvailable) {
		t.Errorf("Challenge with one usable question: %v", err)
	}
	// Rewording a question keeps the enrollment.
	reworded := append([]Question{}, adminQuestions...)
	reworded[0].Text = "Your first pet's name?"
	rf := newFactor(t, Config{Questions: reworded, Ask: 3}, c)
	ch, err := rf.Challenge(ctx, carol, e)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(toText(ch), "Your first pet's name?") {
		t.Errorf("reworded question not shown: %v", ch.Prompt)
	}
}

func toText(ch factor.Challenge) string {
	var b strings.Builder
	for _, q := range ch.Prompt["questions"].([]map[string]string) {
		b.WriteString(q["text"] + "\n")
	}
	return b.String()
}

func TestNewValidates(t *testing.T) {
	bad := []struct {
		cfg  Config
		want string
	}{
		{Config{Questions: adminQuestions[:2]}, "2 questions defined but 3 answers required"},
		{Config{Questions: adminQuestions, Ask: 4}, "ask is 4"},
		{Config{Questions: []Question{{ID: "a b", Text: "x"}}, AllowUserDefined: true}, `id "a b"`},
		{Config{Questions: []Question{{ID: "custom.1", Text: "x"}}, AllowUserDefined: true}, `id "custom.1" must be letters`},
		{Config{Questions: []Question{{ID: "a", Text: "x"}, {ID: "a", Text: "y"}}, AllowUserDefined: true}, "used twice"},
		{Config{Questions: []Question{{ID: "a"}}, AllowUserDefined: true}, "text is empty"},
		{Config{Questions: adminQuestions, Argon2id: secrets.Argon2idParams{Memory: 1024, Time: 1, Threads: 1}}, "below the minimum"},
	}
	for _, b := range bad {
		if _, err := New(b.cfg); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("New(%+v) = %v, want %q", b.cfg, err, b.want)
		}
	}
}

// TestCost runs enrollment and verification at the real Argon2id cost.
func TestCost(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: real Argon2id cost")
	}
	f, err := New(Config{Questions: adminQuestions})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e := goodEnrollment(t, f)
	enrolled := time.Since(start)
	ch, _ := f.Challenge(ctx, carol, e)
	start = time.Now()
	if _, err := f.Verify(ctx, carol, e, ch.State, answer(ch, goodAnswers)); err != nil {
		t.Fatal(err)
	}
	t.Logf("argon2id (OWASP minimum): enrollment of 3 answers %v, verification of 2 %v", enrolled, time.Since(start))
}
