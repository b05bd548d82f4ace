package audit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// TestAppendFromSeveralNodesOnPostgres: three stores on one PostgreSQL
// database (three nodes) append to the audit chain at once, some of their
// transactions rolled back after appending (PostgreSQL does not give those
// ids back): the chain still verifies, with exactly the committed records.
func TestAppendFromSeveralNodesOnPostgres(t *testing.T) {
	dsn := storetest.NewDatabase(t)
	var nodes []*store.Store
	for range 3 {
		s, err := store.OpenPostgres(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		nodes = append(nodes, s)
	}
	const each = 20
	errRollback := errors.New("rolled back on purpose")
	var wg sync.WaitGroup
	var mu sync.Mutex
	committed := 0
	for n, s := range nodes {
		for w := range 2 {
			wg.Go(func() {
				for i := range each {
					err := s.InTx(context.Background(), func(tx *store.Tx) error {
						e := audit.Event{At: t0.Add(time.Duration(i) * time.Second), Event: "reset.identify",
							Flow: fmt.Sprintf("n%d-w%d-%d", n, w, i), Outcome: audit.Success}
						if err := testChain.Append(tx, e); err != nil {
							return err
						}
						if i%5 == 4 {
							return errRollback
						}
						return nil
					})
					switch {
					case err == nil:
						mu.Lock()
						committed++
						mu.Unlock()
					case !errors.Is(err, errRollback):
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	got, err := testChain.Verify(context.Background(), nodes[0])
	if err != nil || got != committed || committed != 3*2*each*4/5 {
		t.Fatalf("Verify = %d, %v; %d committed", got, err, committed)
	}
}
