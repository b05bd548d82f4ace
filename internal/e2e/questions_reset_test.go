package e2e

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/factor"
)

// TestResetWithSecurityQuestionsInPortal: security questions as the second
// factor of a reset, through the HTML forms: the asked questions are shown
// and answered; a wrong answer costs an attempt.
func TestResetWithSecurityQuestionsInPortal(t *testing.T) {
	in := start(t, startDemoDirectory(t), `verification:
  factors: [email, questions]
  first_factor: email
  required: {reset: 2, unlock: 2}
  questions:
    questions:
      - {id: school, text: "What was the name of your first school?"}
      - {id: street, text: "What street did you live on at age ten?"}
      - {id: concert, text: "What was the first concert you went to?"}
    answers_required: 3
    asked: 2
`)
	token, _, err := in.App.Enroll.SignIn(bg, "dave", "Autumn-2026", "127.0.0.1", "en")
	if err != nil {
		t.Fatal(err)
	}
	stepUpInProcess(t, in, token, "dave")
	answers := map[string]string{"answer.school": "Hillside Primary", "answer.street": "Elm Street", "answer.concert": "The Cure"}
	if _, err := in.App.Enroll.Begin(bg, token, factor.Questions, factor.Response{}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.App.Enroll.Finish(bg, token, factor.Response{Values: answers}, ""); err != nil {
		t.Fatalf("enrolling questions: %v", err)
	}

	b := newBrowser(t, in.URL)
	stepUps := in.codeMailsTo("dave@demo.sspr.test") // the enrollment's step-up code
	b.post("/reset/start", url.Values{"login": {"dave"}})
	p := b.post("/reset/code", url.Values{"code": {in.waitCode(t, "dave@demo.sspr.test", stepUps)}})
	if p.Location != "/reset/choose?more=1" {
		t.Fatalf("after the email code: %d %q", p.Status, p.Location)
	}
	if p = b.post("/reset/choose", url.Values{"factor": {"questions"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("choose questions: %d", p.Status)
	}
	p = b.get("/reset/code")
	asked := regexp.MustCompile(`name="(answer\.[a-z]+)"`).FindAllStringSubmatch(p.Body, -1)
	if len(asked) != 2 || !strings.Contains(html.UnescapeString(p.Body), "?</label>") {
		t.Fatalf("the page does not ask two labelled questions:\n%s", p.Body)
	}
	form := url.Values{}
	for _, a := range asked {
		form.Set(a[1], "wrong answer")
	}
	if p = b.post("/reset/code", form); p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("wrong answers: %d", p.Status)
	}
	for _, a := range asked {
		form.Set(a[1], strings.ToUpper(answers[a[1]])) // answers are compared normalised
	}
	if p = b.post("/reset/code", form); p.Status != http.StatusSeeOther || p.Location != "/reset/password" {
		t.Fatalf("right answers: %d %q\n%s", p.Status, p.Location, p.Body)
	}
}
