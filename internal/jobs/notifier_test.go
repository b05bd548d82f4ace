package jobs_test

import (
	"context"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/i18n"
	"github.com/sspr/sspr/internal/jobs"
	"github.com/sspr/sspr/internal/jobs/cron"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/secrets"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
	"github.com/sspr/sspr/internal/testenv/testclock"
)

// people is a small directory: its users, their password expiry and a
// hook called on every lookup (a test's way to kill a run half-way).
type people struct {
	mu      sync.Mutex
	users   []*directory.User
	expires map[string]time.Time
	onFind  func(n int)
	finds   int
	down    bool // lookups fail as with an unreachable server
}

func (p *people) Name() string { return "corp" }
func (p *people) FindUser(_ context.Context, login string) (*directory.User, error) {
	p.mu.Lock()
	p.finds++
	n, hook := p.finds, p.onFind
	p.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		return nil, &directory.Error{Kind: directory.KindUnavailable}
	}
	for _, u := range p.users {
		if u.Login == login {
			c := *u
			return &c, nil
		}
	}
	return nil, &directory.Error{Kind: directory.KindNotFound}
}
func (p *people) VerifyPassword(context.Context, *directory.User, string) error { return nil }
func (p *people) Close() error                                                  { return nil }
func (p *people) ListUsers(_ context.Context, fn func(*directory.User) error) error {
	for _, u := range p.users {
		if err := fn(&directory.User{Directory: "corp", DN: u.DN, Login: u.Login, DisplayName: u.DisplayName}); err != nil {
			return err
		}
	}
	return nil
}
func (p *people) AccountStatus(_ context.Context, u *directory.User) (*directory.AccountStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return &directory.AccountStatus{PasswordExpires: p.expires[u.Login]}, nil
}

func newPeople(n int) *people {
	p := &people{expires: map[string]time.Time{}}
	for i := range n {
		login := string(rune('a'+i)) + "user"
		p.users = append(p.users, &directory.User{Directory: "corp", DN: "uid=" + login + ",ou=people,dc=corp", Login: login,
			DisplayName: strings.ToUpper(login), Email: login + "@corp.test", Manager: "uid=boss,ou=people,dc=corp"})
	}
	p.users = append(p.users, &directory.User{Directory: "corp", DN: "uid=boss,ou=people,dc=corp", Login: "boss", DisplayName: "Boss", Email: "boss@corp.test"})
	return p
}

// node is one sspr process: its own store handle on the shared database
// file, its own notifier and runner, the shared clock.
type node struct {
	st     *store.Store
	runner *jobs.Runner
	n      *flow.Notifier
}

const schedule = "0 9 * * *"

func newNode(t *testing.T, target string, clock *testclock.Clock, dir *people, holder string) *node {
	t.Helper()
	// target: a SQLite file or a PostgreSQL database (storetest.Target);
	// two nodes on one target share it as two sspr processes would.
	st, err := storetest.Reopen(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cat, err := i18n.Load("en")
	if err != nil {
		t.Fatal(err)
	}
	comp, err := notify.NewComposer(cat, notify.Branding{Title: "Test", PortalURL: "https://sspr.example.test/"})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := secrets.NewKeyRing(1, secrets.Key{Version: 1, Secret: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	chain := audit.NewChain([]byte("test secret"))
	n := &flow.Notifier{
		Kit:  &flow.Kit{Store: st, Directories: directory.NewSet(dir), Sealer: ring, MailFrom: "noreply@example.test", Now: clock.Now, Audit: chain},
		Jobs: comp, Directories: []directory.Directory{dir}, Language: "en", BaseURL: "https://sspr.example.test/",
		RatePerMinute: 60, ReminderInterval: 7 * 24 * time.Hour, ReconfirmAfter: 180 * 24 * time.Hour,
		ExpiryDays: []int{14, 7, 1}, ManagerDigest: true,
	}
	sched, err := cron.Parse(schedule, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &jobs.Runner{Store: st, Audit: chain, Now: clock.Now, Holder: holder, Lease: 10 * time.Minute, Jobs: []jobs.Job{
		{Name: flow.JobReminders, Schedule: sched, Run: n.Reminders},
		{Name: flow.JobReconfirm, Schedule: sched, Run: n.Reconfirm},
		{Name: flow.JobExpiry, Schedule: sched, Run: n.Expiry},
	}}
	return &node{st: st, runner: r, n: n}
}

// sent lists the outbox as "kind→recipient", sorted, opened with the key.
func sent(t *testing.T, nd *node) []string {
	t.Helper()
	var ms []*store.Message
	if err := nd.st.InTx(context.Background(), func(tx *store.Tx) (err error) { ms, err = tx.Messages(10000); return }); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if err := notify.OpenMessage(nd.n.Sealer, m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m.Kind+"→"+m.Recipient)
	}
	sort.Strings(out)
	return out
}

func onceEach(t *testing.T, got []string, kind string, recipients ...string) {
	t.Helper()
	count := map[string]int{}
	for _, g := range got {
		if k, r, _ := strings.Cut(g, "→"); k == kind {
			count[r]++
		}
	}
	if len(count) != len(recipients) {
		t.Fatalf("%s went to %v, want once each to %v", kind, count, recipients)
	}
	for _, r := range recipients {
		if count[r] != 1 {
			t.Fatalf("%s went to %s %d times, want once (all: %v)", kind, r, count[r], count)
		}
	}
}

func tickBoth(t *testing.T, a, b *node) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, nd := range []*node{a, b} {
		wg.Go(func() { errs[i] = nd.runner.Tick(context.Background()) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func enroll(t *testing.T, st *store.Store, dn string, at time.Time) {
	t.Helper()
	err := st.InTx(context.Background(), func(tx *store.Tx) error {
		return tx.InsertEnrollment(&store.Enrollment{ID: "e-" + dn, Directory: "corp", SubjectDN: dn, Kind: "totp", Secret: []byte{1}, Source: "user", CreatedAt: at})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestJobsSendOnceAcrossTwoRunners: two runners on one database file race
// the same ticks of an injected clock. Each reminder, reconfirmation,
// expiry notice and manager digest is queued exactly once; a second tick
// in the same period queues nothing; the next period sends only what is
// due then (an expiry notice crossing the next threshold, no reminder
// within the reminder interval); and every run is audited with its counts.
func TestJobsSendOnceAcrossTwoRunners(t *testing.T) {
	storetest.Each(t, testJobsSendOnceAcrossTwoRunners)
}

func testJobsSendOnceAcrossTwoRunners(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC))
	dir := newPeople(4) // auser..duser and boss
	_, target := storetest.Target(t)
	a := newNode(t, target, clock, dir, "node-a")
	b := newNode(t, target, clock, dir, "node-b")
	// auser enrolled long ago (reconfirmation due), buser recently; the
	// others and boss have not enrolled.
	enroll(t, a.st, "uid=auser,ou=people,dc=corp", clock.Now().AddDate(-1, 0, 0))
	enroll(t, a.st, "uid=buser,ou=people,dc=corp", clock.Now().AddDate(0, 0, -10))
	// cuser's password expires in 10 days (14-day notice), duser's in
	// 40 (none yet).
	dir.expires["cuser"] = time.Date(2026, 12, 17, 12, 0, 0, 0, time.UTC)
	dir.expires["duser"] = time.Date(2027, 1, 16, 12, 0, 0, 0, time.UTC)

	tickBoth(t, a, b) // 08:00: creates the job rows, nothing due before 09:00
	if got := sent(t, a); len(got) != 0 {
		t.Fatalf("before the first slot: %v", got)
	}
	clock.Advance(time.Hour + time.Minute) // 09:01
	tickBoth(t, a, b)
	got := sent(t, a)
	onceEach(t, got, "enrollment_reminder", "cuser@corp.test", "duser@corp.test", "boss@corp.test")
	onceEach(t, got, "enrollment_reconfirm", "auser@corp.test")
	onceEach(t, got, "password_expiry", "cuser@corp.test")
	onceEach(t, got, "password_expiry_digest", "boss@corp.test")
	if len(got) != 6 {
		t.Fatalf("queued %d messages, want 6: %v", len(got), got)
	}

	// The same period again, on both nodes: nothing more.
	clock.Advance(3 * time.Hour)
	tickBoth(t, a, b)
	if again := sent(t, b); len(again) != 6 {
		t.Fatalf("a second tick in the same period queued more: %v", again)
	}

	// Four days on, cuser is within 7 days: one more notice and digest;
	// no reminder (within the 7-day interval) and no second reconfirmation.
	clock.Set(time.Date(2026, 12, 11, 9, 30, 0, 0, time.UTC))
	tickBoth(t, a, b)
	got = sent(t, a)
	if len(got) != 8 {
		t.Fatalf("after four days: %v, want 2 more", got)
	}
	if c := strings.Count(strings.Join(got, " "), "password_expiry→cuser@corp.test"); c != 2 {
		t.Fatalf("cuser's notices: %d, want 2 (14 and 7 days)", c)
	}
	// A week after the first reminders they go again, once.
	clock.Set(time.Date(2026, 12, 14, 9, 30, 0, 0, time.UTC))
	tickBoth(t, a, b)
	if c := strings.Count(strings.Join(sent(t, a), " "), "enrollment_reminder→"); c != 6 {
		t.Fatalf("reminders after a week: %d, want 3 more", c)
	}

	// Every run is in the audit log once, with its counts.
	var rows []*store.AuditRecord
	if err := a.st.InTx(ctx, func(tx *store.Tx) (err error) {
		rows, err = tx.SearchAudit(store.AuditFilter{EventPrefix: "job."})
		return
	}); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 9 { // three jobs × three periods
		t.Fatalf("job.run records: %d, want 9", len(rows))
	}
	for _, r := range rows {
		if r.Event != "job.run" || r.Outcome != "success" || !strings.Contains(r.Detail, `"sent"`) {
			t.Fatalf("audit row %+v", r)
		}
	}
}

// TestRacingNotifiersWithoutLeaseSendOnce: even two runs of the same job
// for the same slot at once (as when a lease ran out under a slow run)
// queue each mail once: the send record and the outbox row share a
// transaction.
func TestRacingNotifiersWithoutLeaseSendOnce(t *testing.T) {
	storetest.Each(t, testRacingNotifiersWithoutLeaseSendOnce)
}

func testRacingNotifiersWithoutLeaseSendOnce(t *testing.T) {
	clock := testclock.New(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	dir := newPeople(12)
	_, target := storetest.Target(t)
	a := newNode(t, target, clock, dir, "node-a")
	b := newNode(t, target, clock, dir, "node-b")
	slot := clock.Now()
	var wg sync.WaitGroup
	for _, nd := range []*node{a, b} {
		wg.Go(func() {
			if _, err := nd.n.Reminders(context.Background(), slot); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var want []string
	for _, u := range dir.users {
		want = append(want, u.Email)
	}
	onceEach(t, sent(t, a), "enrollment_reminder", want...)
}

// TestKilledRunResumesWithTheRest: a run that dies half-way (its process
// gone, its lease left behind) is taken over once the lease runs out, for
// the same slot, and sends only what the first run had not; the outbox
// spaces the messages at the configured rate.
func TestKilledRunResumesWithTheRest(t *testing.T) {
	storetest.Each(t, testKilledRunResumesWithTheRest)
}

func testKilledRunResumesWithTheRest(t *testing.T) {
	clock := testclock.New(time.Date(2026, 12, 7, 8, 59, 0, 0, time.UTC))
	dir := newPeople(6)
	_, target := storetest.Target(t)
	a := newNode(t, target, clock, dir, "node-a")
	b := newNode(t, target, clock, dir, "node-b")
	a.runner.Jobs = a.runner.Jobs[:1] // reminders only
	b.runner.Jobs = b.runner.Jobs[:1]
	if err := a.runner.Tick(context.Background()); err != nil { // creates the row
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	// Node a dies at its fourth lookup: the goroutine ends there, as a
	// killed process would, without finishing the run or its lease.
	dir.onFind = func(n int) {
		if n == 4 {
			runtime.Goexit()
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.runner.Tick(context.Background())
	}()
	<-done
	dir.onFind = nil
	first := sent(t, a)
	if len(first) != 3 {
		t.Fatalf("before the crash: %v, want 3", first)
	}
	// Node b may not take the job while a's lease holds.
	if out, err := b.runner.RunJob(context.Background(), b.runner.Jobs[0], false); err != nil || out != jobs.Busy {
		t.Fatalf("while the lease holds: %s, %v", out, err)
	}
	clock.Advance(11 * time.Minute)
	if out, err := b.runner.RunJob(context.Background(), b.runner.Jobs[0], false); err != nil || out != jobs.Ran {
		t.Fatalf("after the lease ran out: %s, %v", out, err)
	}
	var want []string
	for _, u := range dir.users {
		want = append(want, u.Email)
	}
	onceEach(t, sent(t, a), "enrollment_reminder", want...)
	// The slot is done: no further run today.
	if out, _ := b.runner.RunJob(context.Background(), b.runner.Jobs[0], false); out != jobs.NotDue {
		t.Fatalf("after the resumed run: %s, want not_due", out)
	}
	// At 60 a minute, each run's messages are a second apart.
	var ms []*store.Message
	if err := a.st.InTx(context.Background(), func(tx *store.Tx) (err error) { ms, err = tx.Messages(100); return }); err != nil {
		t.Fatal(err)
	}
	due := map[time.Time]int{}
	for _, m := range ms {
		due[m.NextAttemptAt]++
	}
	for at, n := range due {
		if n != 1 {
			t.Fatalf("%d messages due at %s, want them spaced", n, at)
		}
	}
}

// TestMailReportSealedAndOnce: a scheduled report's mail carries its file
// sealed at rest (no report data in clear in the database) and goes to
// each recipient once per slot, however often the run is repeated.
func TestMailReportSealedAndOnce(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC))
	nd := newNode(t, filepath.Join(t.TempDir(), "sspr.db"), clock, newPeople(1), "node-a")
	file := store.Attachment{Name: "expiring.csv", ContentType: "text/csv", Data: []byte("directory,login\ncorp,secretperson\n")}
	for range 2 {
		if _, err := nd.n.MailReport(ctx, "report:weekly", "Passwords expiring", clock.Now(), []string{"ops@corp.test", "audit@corp.test"}, file); err != nil {
			t.Fatal(err)
		}
	}
	var ms []*store.Message
	if err := nd.st.InTx(ctx, func(tx *store.Tx) (err error) { ms, err = tx.Messages(10); return }); err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("%d mails, want one per recipient", len(ms))
	}
	for _, m := range ms {
		if !strings.HasPrefix(m.Attachments, "sealed:") || strings.Contains(m.Attachments, "secretperson") {
			t.Fatalf("attachment at rest: %.80q", m.Attachments)
		}
		if err := notify.OpenMessage(nd.n.Sealer, m); err != nil {
			t.Fatal(err)
		}
		as, err := store.DecodeAttachments(m.Attachments)
		if err != nil || len(as) != 1 || string(as[0].Data) != string(file.Data) || as[0].Name != "expiring.csv" {
			t.Fatalf("opened attachment: %+v, %v", as, err)
		}
	}
}

// TestReconfirmationRestartsAfterConfirming: a person whose enrollment is
// older than the period is asked once; after they confirm in the portal
// (the date moves) they are not asked again until a full period has
// passed since, and then once more.
func TestReconfirmationRestartsAfterConfirming(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	dir := newPeople(1)
	nd := newNode(t, filepath.Join(t.TempDir(), "sspr.db"), clock, dir, "node-a")
	dn := dir.users[0].DN
	enroll(t, nd.st, dn, clock.Now().AddDate(-1, 0, 0))
	asked := func() int {
		return strings.Count(strings.Join(sent(t, nd), " "), "enrollment_reconfirm→")
	}
	run := func() {
		t.Helper()
		if _, err := nd.n.Reconfirm(ctx, clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	run()
	run()
	if n := asked(); n != 1 {
		t.Fatalf("asked %d times, want once", n)
	}
	clock.Advance(3 * 24 * time.Hour)
	if err := nd.st.InTx(ctx, func(tx *store.Tx) error { return tx.ConfirmEnrollment("corp", dn, clock.Now()) }); err != nil {
		t.Fatal(err)
	}
	clock.Advance(179 * 24 * time.Hour)
	run()
	if n := asked(); n != 1 {
		t.Fatalf("asked again %d days after confirming", 179)
	}
	clock.Advance(2 * 24 * time.Hour)
	run()
	if n := asked(); n != 2 {
		t.Fatalf("not asked again a period after confirming (%d mails)", n)
	}
}

// TestRemindersByTextMessage: with SMS on, a person with a mobile number
// and no mail address gets a text with the enrollment link; someone with
// neither is counted as unreachable.
func TestRemindersByTextMessage(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	dir := newPeople(2)
	dir.users[0].Email, dir.users[0].Mobile = "", "+41790000001"
	dir.users[1].Email = ""
	dir.users = dir.users[:2] // no boss
	nd := newNode(t, filepath.Join(t.TempDir(), "sspr.db"), clock, dir, "node-a")
	nd.n.ReminderSMS = true
	counts, err := nd.n.Reminders(ctx, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if counts["sent"] != 1 || counts["unreachable"] != 1 {
		t.Fatalf("counts %v", counts)
	}
	var ms []*store.Message
	if err := nd.st.InTx(ctx, func(tx *store.Tx) (err error) { ms, err = tx.Messages(10); return }); err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 {
		t.Fatalf("%d messages", len(ms))
	}
	if err := notify.OpenMessage(nd.n.Sealer, ms[0]); err != nil {
		t.Fatal(err)
	}
	if ms[0].Channel != "sms" || ms[0].Recipient != "+41790000001" || !strings.Contains(ms[0].TextBody, "https://sspr.example.test/enroll") {
		t.Fatalf("text message: %+v", ms[0])
	}
}

// TestDirectoryDownFailsTheRunAndItIsRetried: when the directory stops
// answering mid-walk the run fails (audited as a failure) instead of
// passing over everyone left, its slot stays due, and the next tick, with
// the directory back, sends what is missing.
func TestDirectoryDownFailsTheRunAndItIsRetried(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 12, 7, 8, 59, 0, 0, time.UTC))
	dir := newPeople(4)
	nd := newNode(t, filepath.Join(t.TempDir(), "sspr.db"), clock, dir, "node-a")
	nd.runner.Jobs = nd.runner.Jobs[:1]
	if err := nd.runner.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	dir.onFind = func(n int) {
		if n == 3 {
			dir.mu.Lock()
			dir.down = true
			dir.mu.Unlock()
		}
	}
	if err := nd.runner.Tick(ctx); err == nil {
		t.Fatal("a run whose directory went away succeeded")
	}
	if n := len(sent(t, nd)); n != 2 {
		t.Fatalf("%d sent before the directory went away, want 2", n)
	}
	dir.onFind, dir.down = nil, false
	clock.Advance(time.Minute)
	if out, err := nd.runner.RunJob(ctx, nd.runner.Jobs[0], false); err != nil || out != jobs.Ran {
		t.Fatalf("the retry: %s, %v", out, err)
	}
	var want []string
	for _, u := range dir.users {
		want = append(want, u.Email)
	}
	onceEach(t, sent(t, nd), "enrollment_reminder", want...)
	var rows []*store.AuditRecord
	if err := nd.st.InTx(ctx, func(tx *store.Tx) (err error) {
		rows, err = tx.SearchAudit(store.AuditFilter{EventPrefix: "job."})
		return
	}); err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, r := range rows {
		outcomes = append(outcomes, r.Outcome)
	}
	if strings.Join(outcomes, " ") != "success failure" {
		t.Fatalf("audited outcomes (newest first): %v", outcomes)
	}
}

// TestKilledExpiryRunResumes: the expiry job killed half-way through its
// notices is resumed by the other node once the lease ran out: everyone
// gets their notice once, and the manager's digest (sent at the end of a
// run) goes once, listing everyone.
func TestKilledExpiryRunResumes(t *testing.T) { storetest.Each(t, testKilledExpiryRunResumes) }

func testKilledExpiryRunResumes(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 12, 7, 8, 59, 0, 0, time.UTC))
	dir := newPeople(5)
	for _, u := range dir.users {
		dir.expires[u.Login] = time.Date(2026, 12, 12, 12, 0, 0, 0, time.UTC) // within 7 days
	}
	_, target := storetest.Target(t)
	a := newNode(t, target, clock, dir, "node-a")
	b := newNode(t, target, clock, dir, "node-b")
	a.runner.Jobs = a.runner.Jobs[2:] // expiry only
	b.runner.Jobs = b.runner.Jobs[2:]
	if err := a.runner.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	dir.onFind = func(n int) {
		if n == 3 {
			runtime.Goexit()
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.runner.Tick(ctx)
	}()
	<-done
	dir.onFind = nil
	if got := sent(t, a); len(got) != 2 {
		t.Fatalf("before the crash: %v, want 2 notices", got)
	}
	clock.Advance(11 * time.Minute)
	if out, err := b.runner.RunJob(ctx, b.runner.Jobs[0], false); err != nil || out != jobs.Ran {
		t.Fatalf("after the lease ran out: %s, %v", out, err)
	}
	got := sent(t, a)
	var want []string
	for _, u := range dir.users {
		want = append(want, u.Email)
	}
	onceEach(t, got, "password_expiry", want...)
	onceEach(t, got, "password_expiry_digest", "boss@corp.test")
}
