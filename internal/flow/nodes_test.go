package flow_test

import (
	"context"
	"sync"
	"testing"

	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// pgNodes wires a harness to a new PostgreSQL database and returns it
// with three reset flows on three stores of that database: three nodes
// sharing the work, each with its own writer.
func pgNodes(t *testing.T) (*harness, []*flow.Reset) {
	t.Helper()
	dsn := storetest.NewDatabase(t)
	var stores []*store.Store
	for range 3 {
		st, err := store.OpenPostgres(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores = append(stores, st)
	}
	h := newHarnessOn(t, stores[0])
	nodes := []*flow.Reset{h.reset}
	for _, st := range stores[1:] {
		kit := *h.reset.Kit
		kit.Store = st
		r := *h.reset
		r.Kit = &kit
		nodes = append(nodes, &r)
	}
	return h, nodes
}

// TestCodeUsedOnceAcrossNodesOnPostgres: the right code, submitted at once
// to three nodes twelve times, verifies the flow once; the password then
// submitted at once to the three nodes is set once; the audit chain the
// three nodes appended to verifies.
func TestCodeUsedOnceAcrossNodesOnPostgres(t *testing.T) {
	h, nodes := pgNodes(t)
	ctx := context.Background()
	token, _, err := nodes[0].Start(ctx, flow.StartInput{Login: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	code := h.lastCode(t)
	errs := make([]error, 12)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { _, errs[i] = nodes[i%len(nodes)].VerifyCode(ctx, token, code, "") })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d uses of one code verified, want exactly 1 (%v)", ok, len(errs), errs)
	}
	perrs := make([]error, 6)
	for i := range perrs {
		wg.Go(func() {
			_, perrs[i] = nodes[i%len(nodes)].SetPassword(ctx, token, "Nodes-Pass-1", "Nodes-Pass-1", "")
		})
	}
	wg.Wait()
	ok = 0
	for _, err := range perrs {
		switch {
		case err == nil:
			ok++
		case flowCode(err) != flow.CodeWrongState:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d password submissions succeeded, want exactly 1 (%v)", ok, perrs)
	}
	if n, err := h.reset.Audit.Verify(ctx, h.store); err != nil || n == 0 {
		t.Fatalf("audit chain: %d records, %v", n, err)
	}
}

// TestCodeAttemptsCappedAcrossNodesOnPostgres: wrong codes submitted at once
// to three nodes count exactly MaxCodeAttempts attempts: exactly four answers
// say the code was wrong with attempts left, the fifth ends the flow, and
// the right code is refused afterwards.
func TestCodeAttemptsCappedAcrossNodesOnPostgres(t *testing.T) {
	h, nodes := pgNodes(t)
	ctx := context.Background()
	token, _, err := nodes[0].Start(ctx, flow.StartInput{Login: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	right := h.lastCode(t)
	var mu sync.Mutex
	counts := map[flow.Code]int{}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			// Until the flow ends: a submission that lost a race to
			// another (wrong_state, nothing counted) tries again.
			for range 12 {
				_, err := nodes[w%len(nodes)].VerifyCode(ctx, token, wrongCode(right), "")
				c := flowCode(err)
				mu.Lock()
				counts[c]++
				mu.Unlock()
				if c != flow.CodeCodeInvalid && c != flow.CodeWrongState {
					return
				}
			}
		})
	}
	wg.Wait()
	max := h.reset.Settings.MaxCodeAttempts
	if counts[flow.CodeCodeInvalid] != max-1 || counts[flow.CodeTooManyAttempts] == 0 {
		t.Fatalf("answers %v: want exactly %d %s and at least one %s", counts, max-1, flow.CodeCodeInvalid, flow.CodeTooManyAttempts)
	}
	for c := range counts {
		if c != flow.CodeCodeInvalid && c != flow.CodeWrongState && c != flow.CodeTooManyAttempts {
			t.Errorf("unexpected answer %s (%d times)", c, counts[c])
		}
	}
	if _, err := nodes[1].VerifyCode(ctx, token, right, ""); err == nil {
		t.Fatal("the right code verified after the attempts ran out")
	}
	if n, err := h.reset.Audit.Verify(ctx, h.store); err != nil || n == 0 {
		t.Fatalf("audit chain: %d records, %v", n, err)
	}
}
