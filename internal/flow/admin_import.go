package flow

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/store"
)

// Bulk pre-enrollment: an operator hands over a CSV of people's mail
// addresses and mobile numbers (from HR, say) so they can recover before
// they ever visit the portal. Every row is checked — the person exists in
// a directory, the kind is offered, the value is a valid address or
// number, no row repeats another — and either every row is imported in one
// transaction, sealed like any enrollment, or nothing is and every problem
// is listed with its line number.

// ImportKinds are the factors a CSV may pre-enroll: destinations, which
// the person proves later by receiving a code. Secrets that a person must
// hold (an app's seed, a passkey) cannot come from a file.
var ImportKinds = []factor.Kind{factor.Email, factor.SMS}

// ImportMaxProblems bounds the problems listed; the count is always exact.
const ImportMaxProblems = 1000

// ImportProblem is one line of the file that cannot be imported.
type ImportProblem struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// ImportResult says what an import did, or would do.
type ImportResult struct {
	// Rows is the number of data rows read.
	Rows int `json:"rows"`
	// Imported is how many enrollments were written (0 when there were
	// problems, or on a dry run).
	Imported int `json:"imported"`
	// Unchanged counts rows the person already has enrolled.
	Unchanged int `json:"unchanged"`
	// Problems lists the lines that are wrong (at most ImportMaxProblems);
	// ProblemCount counts them all.
	Problems     []ImportProblem `json:"problems"`
	ProblemCount int             `json:"problem_count"`
}

// preEnroller is a factor that can make an enrollment from a destination
// (the email and SMS factors' FromDirectory).
type preEnroller interface {
	FromDirectory(value string) (factor.Enrollment, error)
}

type importRow struct {
	line int
	user *directory.User
	en   factor.Enrollment
}

func (res *ImportResult) problem(line int, format string, args ...any) {
	res.ProblemCount++
	if len(res.Problems) < ImportMaxProblems {
		res.Problems = append(res.Problems, ImportProblem{Line: line, Message: fmt.Sprintf(format, args...)})
	}
}

// ImportEnrollments reads a CSV with a header naming the columns login,
// kind (email or sms), value and, optionally, directory, and pre-enrolls
// every row, all or nothing. actor names who imports (an admin's login, or
// "cli"); it is audited with the counts. dryRun checks without writing.
func (a *Admin) ImportEnrollments(ctx context.Context, in io.Reader, actor, clientIP string, dryRun bool) (*ImportResult, error) {
	r := a.Enroll
	res := &ImportResult{Problems: []ImportProblem{}}
	cr := csv.NewReader(in)
	cr.FieldsPerRecord = -1 // wrong counts are reported per line, not as one error
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		res.problem(1, "the file is empty; the first line must name the columns: login,kind,value")
		return res, nil
	}
	if err != nil {
		res.problem(1, "the first line cannot be read as CSV: %v", err)
		return res, nil
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, need := range []string{"login", "kind", "value"} {
		if _, ok := col[need]; !ok {
			res.problem(1, "the header has no %q column; it must name login,kind,value (and optionally directory)", need)
		}
	}
	if res.ProblemCount > 0 {
		return res, nil
	}
	dirCol, haveDir := col["directory"]

	// Everyone the directories hold, by login: one paged walk instead of a
	// search per row.
	users := map[string][]*directory.User{}
	for _, d := range a.Directories {
		l, ok := d.(UserLister)
		if !ok {
			continue
		}
		if err := l.ListUsers(ctx, func(u *directory.User) error {
			k := strings.ToLower(u.Login)
			users[k] = append(users[k], u)
			return nil
		}); err != nil {
			return nil, &Error{Code: CodeDirectoryDown, Err: err}
		}
	}
	var existing map[string]map[string][]string
	if err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		existing, err = tx.EnrolledKinds()
		return err
	}); err != nil {
		return nil, &Error{Code: CodeInternal, Err: err}
	}

	var rows []importRow
	seen := map[string]int{} // person|kind|value → first line
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			res.Rows++
			res.problem(line, "not valid CSV: %v", err)
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		res.Rows++
		if len(rec) != len(header) {
			res.problem(line, "has %d fields; the header has %d", len(rec), len(header))
			continue
		}
		login, kind, value := strings.TrimSpace(rec[col["login"]]), factor.Kind(strings.ToLower(strings.TrimSpace(rec[col["kind"]]))), strings.TrimSpace(rec[col["value"]])
		if login == "" {
			res.problem(line, "the login is empty")
			continue
		}
		fa, ok := r.Factors[kind].(preEnroller)
		if !slices.Contains(ImportKinds, kind) || !ok || !slices.Contains(r.Offered, kind) {
			res.problem(line, "kind %q cannot be imported here; use email or sms (and offer it in verification.factors)", kind)
			continue
		}
		en, err := fa.FromDirectory(value)
		if err != nil {
			what := "a mail address"
			if kind == factor.SMS {
				what = "a mobile number in international form (+15551234567)"
			}
			res.problem(line, "%q is not %s", value, what)
			continue
		}
		matches := users[strings.ToLower(login)]
		if haveDir {
			want := strings.TrimSpace(rec[dirCol])
			matches = slices.DeleteFunc(slices.Clone(matches), func(u *directory.User) bool { return want != "" && u.Directory != want })
		}
		switch len(matches) {
		case 0:
			res.problem(line, "nobody has the login %q", login)
			continue
		case 1:
		default:
			res.problem(line, "the login %q is in several directories; name one in the directory column", login)
			continue
		}
		u := matches[0]
		key := u.Directory + "|" + strings.ToLower(u.DN) + "|" + string(kind) + "|" + string(en.Secret)
		if first, dup := seen[key]; dup {
			res.problem(line, "repeats line %d", first)
			continue
		}
		seen[key] = line
		if slices.Contains(existing[u.Directory][strings.ToLower(u.DN)], string(kind)) {
			// Already has this kind: the import does not replace what the
			// person chose themselves.
			res.Unchanged++
			continue
		}
		rows = append(rows, importRow{line: line, user: u, en: en})
	}
	ev := audit.Event{At: r.now(), Event: "admin.import", Actor: actor, ClientIP: clientIP, Outcome: audit.Success,
		Detail: map[string]any{"rows": res.Rows, "to_import": len(rows), "unchanged": res.Unchanged, "problems": res.ProblemCount, "dry_run": dryRun}}
	if res.ProblemCount > 0 || dryRun {
		if res.ProblemCount > 0 {
			ev.Outcome, ev.Reason = audit.Failure, "problems"
		}
		r.appendAudit(ctx, ev)
		return res, nil
	}
	now := r.now()
	records := make([]*store.Enrollment, 0, len(rows))
	for _, row := range rows {
		id := newID()
		sealed, err := r.Sealer.Seal(row.en.Secret, enrollmentAD(id))
		if err != nil {
			return nil, &Error{Code: CodeInternal, Err: err}
		}
		records = append(records, &store.Enrollment{ID: id, Directory: row.user.Directory, SubjectDN: row.user.DN, Kind: string(row.en.Kind),
			Label: row.en.Label, Secret: sealed, Source: "import", CreatedAt: now})
	}
	err = r.Store.InTx(ctx, func(tx *store.Tx) error {
		for _, rec := range records {
			if err := tx.InsertEnrollment(rec); err != nil {
				return err
			}
		}
		return r.Audit.Append(tx, ev)
	})
	if err != nil {
		return nil, &Error{Code: CodeInternal, Err: err}
	}
	res.Imported = len(records)
	return res, nil
}
