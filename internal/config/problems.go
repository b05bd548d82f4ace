package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with the configuration.
type Problem struct {
	// Path is the key path, such as "directories[0].urls".
	Path string
	// Message says what is wrong in plain words.
	Message string
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Problems collects every problem found; it is an error when not empty.
type Problems struct {
	List []Problem
}

func (ps *Problems) add(path, msg string) {
	ps.List = append(ps.List, Problem{Path: path, Message: msg})
}

func (ps *Problems) addf(path, format string, args ...any) {
	ps.add(path, fmt.Sprintf(format, args...))
}

// Error lists every problem, one per line, sorted by key path.
func (ps *Problems) Error() string {
	lines := make([]string, len(ps.List))
	for i, p := range ps.List {
		lines[i] = "  - " + p.String()
	}
	sort.Strings(lines)
	return fmt.Sprintf("configuration has %d problem(s):\n%s", len(ps.List), strings.Join(lines, "\n"))
}

func (ps *Problems) errOrNil() error {
	if len(ps.List) == 0 {
		return nil
	}
	return ps
}
