package i18n

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/text/language"
)

// MaxFileBytes caps an operator's language file.
const MaxFileBytes = 1 << 20

// Problem is something wrong with an operator's language file. A Fatal
// problem stops the start (LoadWith returns an error); the others are
// reported by `sspr config check` and the language still works.
type Problem struct {
	// File is the file's path; Key the message ID, if the problem is one
	// message's.
	File, Key string
	Message   string
	Fatal     bool
}

func (p Problem) String() string {
	if p.Key == "" {
		return p.File + ": " + p.Message
	}
	return fmt.Sprintf("%s: %q %s", p.File, p.Key, p.Message)
}

// Options say where messages come from.
type Options struct {
	// Default is preferred when the browser asks for nothing we have.
	Default string
	// Dir is the operator's folder of <tag>.json files (may be empty).
	Dir string
	// Extra adds messages that other packages own (lang → id → text),
	// such as the password rules' texts; an ID defined twice is an error.
	Extra []map[string]map[string]string
}

// ErrLanguageFiles is returned (wrapped, with each problem) when an
// operator's language file cannot be used.
var ErrLanguageFiles = errors.New("language files have problems")

// LoadWith reads the built-in catalogues, then the operator's folder. Each
// file there is <tag>.json (sv.json, pt-PT.json), a flat JSON object of
// message ID to text like the built-in ones. A file for a built-in
// language rewords the messages it has; a new language falls back to
// English for every message it lacks, and each missing ID is reported as a
// (non-fatal) problem, so a file written for an older sspr keeps working
// after an upgrade. Everything else is fatal, with the file and key named:
// a name that is no language tag, unreadable or non-object JSON, an ID
// English does not have (misspelt or stale), an empty text, placeholders
// that differ from English, or malformed HTML.
func LoadWith(o Options) (*Catalogue, []Problem, error) {
	msgs, err := builtin(o.Extra)
	if err != nil {
		return nil, nil, err
	}
	var problems []Problem
	if o.Dir != "" {
		problems = readDir(o.Dir, msgs)
	}
	var fatal []string
	for _, p := range problems {
		if p.Fatal {
			fatal = append(fatal, p.String())
		}
	}
	if len(fatal) > 0 {
		return nil, problems, fmt.Errorf("i18n: %w:\n  %s", ErrLanguageFiles, strings.Join(fatal, "\n  "))
	}
	c, err := build(msgs, o.Default)
	return c, problems, err
}

// readDir merges the folder's files into msgs and reports their problems.
func readDir(dir string, msgs map[string]map[string]string) []Problem {
	var problems []Problem
	entries, err := os.ReadDir(dir)
	if err != nil {
		return []Problem{{File: dir, Message: fmt.Sprintf("cannot be read: %v", err), Fatal: true}}
	}
	english := msgs[Fallback]
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		fail := func(key, format string, args ...any) {
			problems = append(problems, Problem{File: path, Key: key, Message: fmt.Sprintf(format, args...), Fatal: true})
		}
		name := strings.TrimSuffix(e.Name(), ".json")
		tag, err := language.Parse(name)
		if err != nil || tag.String() != name {
			want := ""
			if err == nil {
				want = fmt.Sprintf(" (write it %s.json)", tag)
			}
			fail("", "is not named after a BCP 47 language tag such as sv.json or pt-PT.json%s", want)
			continue
		}
		m, err := readFile(path)
		if err != nil {
			fail("", "%v", err)
			continue
		}
		bad := false
		ids := make([]string, 0, len(m))
		for id := range m {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			en, ok := english[id]
			if !ok {
				fail(id, "is not a message sspr has (English lacks it): misspelt, or removed in this version?")
				bad = true
				continue
			}
			if err := CheckMessage(en, m[id]); err != nil {
				fail(id, "%v", err)
				bad = true
			}
		}
		if bad {
			continue
		}
		_, builtIn := msgs[name]
		if !builtIn {
			var missing []string
			for id := range english {
				if _, ok := m[id]; !ok {
					missing = append(missing, id)
				}
			}
			sort.Strings(missing)
			for _, id := range missing {
				problems = append(problems, Problem{File: path, Key: id, Message: "is missing: English is shown instead"})
			}
			msgs[name] = map[string]string{}
		}
		for id, text := range m {
			msgs[name][id] = text
		}
	}
	return problems
}

func readFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot be read: %v", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("cannot be read: %v", err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("is larger than %d MiB", MaxFileBytes>>20)
	}
	m := map[string]string{}
	if err := json.Unmarshal(data, &m); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("is not valid JSON at byte %d: %v", se.Offset, se)
		case errors.As(err, &te):
			return nil, fmt.Errorf("must be one JSON object of message ID to text, and holds a %s (at byte %d)", te.Value, te.Offset)
		}
		return nil, fmt.Errorf("is not valid JSON: %v", err)
	}
	return m, nil
}
