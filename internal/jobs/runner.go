package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/jobs/cron"
	"github.com/sspr/sspr/internal/store"
)

// Func does one run of a job for slot, the schedule time it is due for.
// It returns what it did in counts (audited with the run). It must be
// safe to call again for the same slot after an interruption: what it
// sends it records per person and slot (store.RecordJobSend).
type Func func(ctx context.Context, slot time.Time) (counts map[string]int, err error)

// Job is one scheduled job.
type Job struct {
	Name     string
	Schedule *cron.Schedule
	Run      Func
}

// Store is the part of the store the runner needs.
type Store interface {
	InTx(ctx context.Context, fn func(*store.Tx) error) error
	// ReadTx reads beside the writer (List: a status page must not queue
	// behind every writing transaction).
	ReadTx(ctx context.Context, fn func(*store.Tx) error) error
}

// Runner runs jobs on their schedules, each once across the processes
// sharing the database.
type Runner struct {
	Store Store
	Jobs  []Job
	// Audit records each run (event job.run with its counts).
	Audit *audit.Chain
	Log   *slog.Logger
	// Now is the clock (injected in tests); Holder names this process in
	// leases (default: host, PID and a random part).
	Now    func() time.Time
	Holder string
	// Lease is how long a run holds its job before another process may
	// take it over (the run renews it while it works; default 10m).
	Lease time.Duration
	// Poll is how often Run looks at the schedules (default 30s).
	Poll time.Duration
}

// Lookback bounds how far back a due slot is searched: a job not run for
// longer runs once, for its latest slot.
const Lookback = 366 * 24 * time.Hour

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

func (r *Runner) holder() string {
	if r.Holder == "" {
		host, _ := os.Hostname()
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		r.Holder = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	return r.Holder
}

func (r *Runner) lease() time.Duration {
	if r.Lease > 0 {
		return r.Lease
	}
	return 10 * time.Minute
}

// Job finds a job by name.
func (r *Runner) Job(name string) (Job, bool) {
	for _, j := range r.Jobs {
		if j.Name == name {
			return j, true
		}
	}
	return Job{}, false
}

// Run ticks every Poll until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	poll := r.Poll
	if poll <= 0 {
		poll = 30 * time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if err := r.Tick(ctx); err != nil && ctx.Err() == nil {
			r.log().Error("scheduled jobs", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Outcome says what one look at a job did.
type Outcome string

// The outcomes of RunJob.
const (
	// Ran: this process ran the job to the end.
	Ran Outcome = "ran"
	// NotDue: the job's next slot has not come.
	NotDue Outcome = "not_due"
	// Busy: another process holds the job's lease.
	Busy Outcome = "busy"
	// Failed: the run returned an error (the slot stays due).
	Failed Outcome = "failed"
)

// Tick runs each job that is due and free, one after the other; an error
// of one job does not stop the others.
func (r *Runner) Tick(ctx context.Context) error {
	var errs []error
	for _, j := range r.Jobs {
		if _, err := r.RunJob(ctx, j, false); err != nil {
			errs = append(errs, fmt.Errorf("job %s: %w", j.Name, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	return errors.Join(errs...)
}

// RunJob runs j if it is due (or at once with force, for `sspr jobs
// run`), unless another process holds it.
func (r *Runner) RunJob(ctx context.Context, j Job, force bool) (Outcome, error) {
	now := r.now()
	holder := r.holder()
	var slot time.Time
	var got bool
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		got = false
		if err := tx.EnsureJob(j.Name, now); err != nil {
			return err
		}
		row, err := tx.Job(j.Name)
		if err != nil {
			return err
		}
		after := row.LastSlot
		if floor := now.Add(-Lookback); after.Before(floor) {
			after = floor
		}
		slot = j.Schedule.Latest(after, now)
		// A lease this process still holds is one its previous run
		// left when it was interrupted: resume the slot it was on.
		if row.Holder == holder && row.LeaseUntil.After(now) {
			if s := j.Schedule.Latest(after, row.LastStarted); !s.IsZero() {
				slot = s
			}
		}
		if force {
			slot = now.Truncate(time.Minute)
		}
		if slot.IsZero() {
			return nil
		}
		got, err = tx.AcquireJob(j.Name, holder, now, now.Add(r.lease()))
		return err
	})
	if err != nil {
		return Failed, err
	}
	if slot.IsZero() {
		return NotDue, nil
	}
	if !got {
		return Busy, nil
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopRenew := r.renew(runCtx, cancel, j.Name, holder)
	counts, runErr := r.safeRun(runCtx, j, slot)
	stopRenew()
	ended := r.now()
	outcome, result := Ran, "ok"
	ev := audit.Event{At: ended, Event: "job.run", Actor: "sspr", Outcome: audit.Success,
		Detail: map[string]any{"job": j.Name, "slot": slot.UTC().Format(time.RFC3339), "forced": force}}
	for k, v := range counts {
		ev.Detail[k] = v
	}
	if runErr != nil {
		outcome, result = Failed, runErr.Error()
		ev.Outcome, ev.Reason = audit.Failure, "error"
	} else if b, err := json.Marshal(counts); err == nil {
		result = string(b)
	}
	// The finish and its audit record go in one transaction, even when
	// ctx ended (shutdown, reload): the lease is released at once and a
	// run cut short stays due, so the next runner resumes its slot. Only
	// a process that dies leaves its lease to run out.
	err = r.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		if err := tx.FinishJob(j.Name, holder, slot, ended, runErr == nil, result); err != nil {
			return err
		}
		return r.Audit.Append(tx, ev)
	})
	if err != nil {
		return Failed, err
	}
	if runErr != nil {
		r.log().Error("a scheduled job failed; its slot stays due", "job", j.Name, "err", runErr)
		return outcome, runErr
	}
	r.log().Info("a scheduled job ran", "job", j.Name, "slot", slot, "counts", counts)
	return outcome, nil
}

func (r *Runner) safeRun(ctx context.Context, j Job, slot time.Time) (counts map[string]int, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return j.Run(ctx, slot)
}

// renew keeps the lease while the run works, at a third of its length,
// and cancels the run when the lease was lost (another process took it
// after it ran out), so two never work on one job. It uses the real
// clock only to pace itself; the lease times come from r.Now.
func (r *Runner) renew(ctx context.Context, cancel func(), name, holder string) (stop func()) {
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		t := time.NewTicker(r.lease() / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			var kept bool
			err := r.Store.InTx(ctx, func(tx *store.Tx) (err error) {
				kept, err = tx.ExtendJob(name, holder, r.now().Add(r.lease()))
				return err
			})
			if err == nil && !kept {
				r.log().Error("a scheduled job lost its lease to another process; stopping this run", "job", name)
				cancel()
				return
			}
		}
	}()
	return func() { close(done); <-ended }
}

// Status is one job as `sspr jobs list` shows it.
type Status struct {
	Name        string    `json:"name"`
	Schedule    string    `json:"schedule"`
	Next        time.Time `json:"next"`
	Holder      string    `json:"holder,omitempty"`
	LeaseUntil  time.Time `json:"lease_until,omitzero"`
	LastSlot    time.Time `json:"last_slot,omitzero"`
	LastStarted time.Time `json:"last_started,omitzero"`
	LastEnded   time.Time `json:"last_ended,omitzero"`
	LastResult  string    `json:"last_result,omitempty"`
}

// List reports every configured job with its row's state.
func (r *Runner) List(ctx context.Context) ([]Status, error) {
	now := r.now()
	var out []Status
	err := r.Store.ReadTx(ctx, func(tx *store.Tx) error {
		out = out[:0]
		for _, j := range r.Jobs {
			s := Status{Name: j.Name, Schedule: j.Schedule.String()}
			row, err := tx.Job(j.Name)
			switch {
			case errors.Is(err, store.ErrNotFound):
				s.Next = j.Schedule.Next(now)
			case err != nil:
				return err
			default:
				s.Holder, s.LeaseUntil, s.LastSlot, s.LastStarted, s.LastEnded, s.LastResult =
					row.Holder, row.LeaseUntil, row.LastSlot, row.LastStarted, row.LastEnded, row.LastResult
				if !row.LeaseUntil.After(now) {
					s.Holder, s.LeaseUntil = "", time.Time{}
				}
				s.Next = j.Schedule.Next(row.LastSlot)
				if s.Next.Before(now) {
					s.Next = now // due: the next tick runs it
				}
				if row.LastEnded.IsZero() {
					s.LastSlot = time.Time{} // the row's creation time, not a run
				}
			}
			out = append(out, s)
		}
		return nil
	})
	sort.Slice(out, func(i, k int) bool { return out[i].Name < out[k].Name })
	return out, err
}
