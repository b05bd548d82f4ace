package flow

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/store"
)

// TestTransitionTable walks every pair of states: moveTo allows exactly the
// moves the table lists and refuses every other, leaving the flow as it was.
func TestTransitionTable(t *testing.T) {
	legal := 0
	for _, from := range States() {
		for _, to := range States() {
			f := &store.Flow{State: string(from)}
			err := moveTo(f, to)
			want := slices.Contains(transitions[from], to)
			switch {
			case want && err != nil:
				t.Errorf("%s → %s is in the table but refused: %v", from, to, err)
			case want && f.State != string(to):
				t.Errorf("%s → %s left the flow %s", from, to, f.State)
			case !want && err == nil:
				t.Errorf("%s → %s is not in the table but was allowed", from, to)
			case !want && f.State != string(from):
				t.Errorf("a refused %s → %s still changed the flow to %s", from, to, f.State)
			}
			if want {
				legal++
			}
		}
	}
	if legal != 15 {
		t.Errorf("%d legal transitions; the table changed: update doc.go, docs/architecture.md and this count", legal)
	}
	for _, terminal := range []State{StateDone, StateFailed} {
		if len(transitions[terminal]) != 0 {
			t.Errorf("%s is terminal but has moves %v", terminal, transitions[terminal])
		}
	}
	if len(transitions) != len(States()) {
		t.Errorf("the table has %d states, States() %d", len(transitions), len(States()))
	}
}

// transitionLine matches "choose → challenged, verified" in a diagram.
var transitionLine = regexp.MustCompile(`^\s*(?://\s*)?(\w+)\s+→ ([\w, ]+)$`)

// documented reads the transition listing out of a document.
func documented(t *testing.T, path string) map[State][]State {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[State][]State{}
	for _, line := range strings.Split(string(b), "\n") {
		m := transitionLine.FindStringSubmatch(line)
		if m == nil || !slices.Contains(States(), State(m[1])) {
			continue
		}
		for _, to := range strings.Split(m[2], ",") {
			out[State(m[1])] = append(out[State(m[1])], State(strings.TrimSpace(to)))
		}
	}
	return out
}

// TestDiagramsMatchTheTable: the transition listings in doc.go and in
// docs/architecture.md say exactly what the table says.
func TestDiagramsMatchTheTable(t *testing.T) {
	for _, path := range []string{"doc.go", "../../docs/architecture.md"} {
		doc := documented(t, path)
		for _, from := range States() {
			want := slices.Clone(transitions[from])
			got := doc[from]
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s lists %s → %v; the table says %v", path, from, got, want)
			}
		}
	}
}

// TestNoStateAssignedOutsideMoveTo reads the package's source: no code but
// moveTo assigns a flow's State, and a new flow starts in initialState.
func TestNoStateAssignedOutsideMoveTo(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if n.Name.Name == "moveTo" && name == "states.go" {
					return false // the one place allowed
				}
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					sel, ok := lhs.(*ast.SelectorExpr)
					if !ok || sel.Sel.Name != "State" {
						continue
					}
					// A flow's state: the record (f) or a State constant on
					// the right. (Challenge states — opaque bytes a factor
					// keeps — are not flow states.)
					base, _ := sel.X.(*ast.Ident)
					var rhs ast.Expr
					if i < len(n.Rhs) {
						rhs = n.Rhs[i]
					}
					if (base != nil && base.Name == "f") || mentionsStateConstant(rhs) {
						t.Errorf("%s: a flow's State is assigned outside moveTo", fset.Position(n.Pos()))
					}
				}
			case *ast.KeyValueExpr:
				key, ok := n.Key.(*ast.Ident)
				call, isCall := n.Value.(*ast.CallExpr)
				if ok && key.Name == "State" && isCall && len(call.Args) == 1 {
					// The one exception: a password change's record (trackChange)
					// is born done: it receipts a change already made, no step
					// may act on it, and it exists to show sync outcomes.
					if arg, ok := call.Args[0].(*ast.Ident); ok && strings.HasPrefix(arg.Name, "State") &&
						!(name == "sync_status.go" && arg.Name == "StateDone") {
						t.Errorf("%s: a flow is created in %s, not initialState", fset.Position(n.Pos()), arg.Name)
					}
				}
			}
			return true
		})
	}
	if checked < 10 {
		t.Fatalf("only %d files read", checked)
	}
}

// mentionsStateConstant reports whether e names one of the State constants
// (StateChoose, …), possibly converted: string(StateDone).
func mentionsStateConstant(e ast.Expr) bool {
	found := false
	if e == nil {
		return false
	}
	ast.Inspect(e, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && strings.HasPrefix(id.Name, "State") && len(id.Name) > len("State") {
			found = true
		}
		return !found
	})
	return found
}
