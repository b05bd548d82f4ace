package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// A sent message must give its bodies' space back at once, even while its
// row is kept for mail.outbox.sent_retention: otherwise a server that sends
// codes all day grows by the size of every mail it ever sent within the
// retention (the 30-minute soak left 183 MB of such holes). The test sends
// 3,000 mails with 2.5 KB of bodies each, keeping every sent row, and
// checks that the pages in use stay near what the rows alone need.
func TestSentMessagesGiveTheirBodiesSpaceBack(t *testing.T) {
	storetest.Each(t, testSentMessagesGiveTheirBodiesSpaceBack)
}

func testSentMessagesGiveTheirBodiesSpaceBack(t *testing.T) {
	t.Parallel()
	s, path := open(t)
	db := rawDB(t, path)
	pagesInUse := func() int64 {
		t.Helper()
		if storetest.Engine(t) == "postgres" {
			return 0
		}
		var count, free, size int64
		for q, v := range map[string]*int64{"PRAGMA page_count": &count, "PRAGMA freelist_count": &free, "PRAGMA page_size": &size} {
			if err := db.QueryRow(q).Scan(v); err != nil {
				t.Fatal(err)
			}
		}
		return (count - free) * size
	}
	body := strings.Repeat("x", 600)
	html := strings.Repeat("<p>y</p>", 240)
	const mails = 3000
	before := pagesInUse()
	for i := range mails {
		m := &store.Message{CreatedAt: t0, Kind: "reset.code", Recipient: fmt.Sprintf("p%d@example.com", i), Subject: "Your code",
			TextBody: body, HTMLBody: html, MessageID: fmt.Sprintf("<%d@sspr.invalid>", i), NextAttemptAt: t0}
		inTx(t, s, func(tx *store.Tx) error {
			if err := tx.EnqueueMessage(m); err != nil {
				return err
			}
			c, err := tx.ClaimNext(t0, t0.Add(time.Minute), "n", "i")
			if err != nil || c == nil || c.TextBody != body || c.HTMLBody != html || c.Subject != "Your code" {
				return fmt.Errorf("claim = %+v, %v", c, err)
			}
			return tx.MarkSent(c.ID, t0)
		})
	}
	grown := pagesInUse() - before
	// The rows alone: id, times, kind, channel, recipient, Message-ID —
	// well under 200 bytes each. The bodies were 2.5 KB each (7.5 MB in all).
	// (PostgreSQL gives space back at VACUUM, not at once: there only the
	// rows are checked.)
	if perMail := grown / mails; perMail > 400 {
		t.Errorf("the database grew by %d bytes per sent mail (%d in all); the bodies' space was not given back", perMail, grown)
	}
	var kept, bodies int
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL), (SELECT COUNT(*) FROM outbox_bodies)`).Scan(&kept, &bodies); err != nil {
		t.Fatal(err)
	}
	if kept != mails || bodies != 0 {
		t.Errorf("sent rows kept = %d (want %d), bodies left = %d (want 0)", kept, mails, bodies)
	}
}

// Deleting a message (a held notice discarded, a row past its retention)
// takes its bodies with it.
func TestDeletedMessagesTakeTheirBodies(t *testing.T) {
	storetest.Each(t, testDeletedMessagesTakeTheirBodies)
}

func testDeletedMessagesTakeTheirBodies(t *testing.T) {
	t.Parallel()
	s, path := open(t)
	m := newMessage("a@example.com", t0)
	inTx(t, s, func(tx *store.Tx) error { return tx.EnqueueMessage(m) })
	inTx(t, s, func(tx *store.Tx) error { return tx.DeleteMessage(m.ID) })
	var n int
	if err := rawDB(t, path).QueryRow(`SELECT COUNT(*) FROM outbox_bodies`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d bodies left after the message was deleted", n)
	}
}

// A code somebody waits for goes out before a backlog of notices, even
// notices that became due earlier.
func TestUrgentMessagesAreClaimedFirst(t *testing.T) {
	storetest.Each(t, testUrgentMessagesAreClaimedFirst)
}

func testUrgentMessagesAreClaimedFirst(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	var notices []*store.Message
	inTx(t, s, func(tx *store.Tx) error {
		for i := range 3 {
			n := newMessage(fmt.Sprintf("n%d@example.com", i), t0.Add(-time.Minute))
			n.Kind = "password_notice"
			notices = append(notices, n)
			if err := tx.EnqueueMessage(n); err != nil {
				return err
			}
		}
		return nil
	})
	code := newMessage("code@example.com", t0)
	code.Urgent = true
	inTx(t, s, func(tx *store.Tx) error { return tx.EnqueueMessage(code) })
	var order []int64
	for range 4 {
		inTx(t, s, func(tx *store.Tx) error {
			m, err := tx.ClaimNext(t0, t0.Add(time.Minute), "n", "i")
			if err != nil || m == nil {
				return fmt.Errorf("claim: %v, %v", m, err)
			}
			order = append(order, m.ID)
			return nil
		})
	}
	want := []int64{code.ID, notices[0].ID, notices[1].ID, notices[2].ID}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("claimed %v, want the code first and then the notices oldest first: %v", order, want)
	}
}

// Every field of a queued message comes back as it went in, on both
// engines (PostgreSQL writes the message and its bodies in one statement),
// and each message gets a key of its own.
func TestEnqueuedMessageRoundTrips(t *testing.T) { storetest.Each(t, testEnqueuedMessageRoundTrips) }

func testEnqueuedMessageRoundTrips(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	in := []*store.Message{
		{CreatedAt: t0, Kind: "reset.code", Channel: "sms", Recipient: "+15550100", Subject: "Ünïcode ✓", TextBody: "code 12345678",
			HTMLBody: "<p>12345678</p>", MessageID: "<a@sspr.invalid>", NextAttemptAt: t0.Add(time.Second), Urgent: true, Attachments: "att-data"},
		{CreatedAt: t0, Kind: "notice", Recipient: "jane@example.com", MessageID: "<b@sspr.invalid>", NextAttemptAt: t0},
	}
	inTx(t, s, func(tx *store.Tx) error {
		for _, m := range in {
			if err := tx.EnqueueMessage(m); err != nil {
				return err
			}
		}
		return nil
	})
	if in[0].ID == 0 || in[0].ID == in[1].ID {
		t.Fatalf("keys %d and %d", in[0].ID, in[1].ID)
	}
	var got []*store.Message
	inTx(t, s, func(tx *store.Tx) (err error) { got, err = tx.Messages(10); return err })
	if len(got) != 2 {
		t.Fatalf("%d messages, want 2", len(got))
	}
	for _, g := range got {
		w := in[0]
		if g.ID == in[1].ID {
			w = in[1]
		}
		if g.ID != w.ID || g.Kind != w.Kind || g.Channel != w.Channel || g.Recipient != w.Recipient || g.Subject != w.Subject ||
			g.TextBody != w.TextBody || g.HTMLBody != w.HTMLBody || g.MessageID != w.MessageID || !g.NextAttemptAt.Equal(w.NextAttemptAt) ||
			g.Urgent != w.Urgent || g.Attachments != w.Attachments || !g.CreatedAt.Equal(w.CreatedAt) {
			t.Errorf("got %+v\nwant %+v", g, w)
		}
	}
	if in[1].Channel != "email" {
		t.Errorf("default channel %q", in[1].Channel)
	}
}

// A claim returns the messages as claimed — the attempt counted, the
// lease and the claimant recorded, bodies included — urgent first; a
// message marked sent loses its bodies and its claim (both engines:
// PostgreSQL does each in one statement).
func TestClaimReturnsTheClaimedState(t *testing.T) {
	storetest.Each(t, testClaimReturnsTheClaimedState)
}

func testClaimReturnsTheClaimedState(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	lease := t0.Add(time.Minute)
	inTx(t, s, func(tx *store.Tx) error {
		for i, urgent := range []bool{false, true, false} {
			m := &store.Message{CreatedAt: t0, Kind: "k", Recipient: fmt.Sprintf("r%d@example.com", i), Subject: fmt.Sprintf("s%d", i),
				TextBody: "t", HTMLBody: "h", Attachments: "a", MessageID: fmt.Sprintf("<%d@x>", i), NextAttemptAt: t0, Urgent: urgent}
			if err := tx.EnqueueMessage(m); err != nil {
				return err
			}
		}
		// Not due yet: never claimed.
		return tx.EnqueueMessage(&store.Message{CreatedAt: t0, Kind: "k", Recipient: "later@example.com", NextAttemptAt: t0.Add(time.Hour)})
	})
	var got []*store.Message
	inTx(t, s, func(tx *store.Tx) (err error) { got, err = tx.ClaimDue(t0, lease, "node-a", "inst-1", 10); return err })
	if len(got) != 3 || got[0].Recipient != "r1@example.com" || got[1].Recipient != "r0@example.com" || got[2].Recipient != "r2@example.com" {
		t.Fatalf("claimed %+v", got)
	}
	for _, m := range got {
		if m.Attempts != 1 || !m.NextAttemptAt.Equal(lease) || m.ClaimNode != "node-a" || m.ClaimInstance != "inst-1" ||
			m.Subject == "" || m.TextBody != "t" || m.HTMLBody != "h" || m.Attachments != "a" {
			t.Errorf("claimed message %+v", m)
		}
	}
	inTx(t, s, func(tx *store.Tx) error {
		again, err := tx.ClaimDue(t0, lease, "node-b", "inst-2", 10)
		if err != nil || len(again) != 0 {
			return fmt.Errorf("claimed again: %+v, %v", again, err)
		}
		return tx.MarkSent(got[0].ID, t0)
	})
	var all []*store.Message
	inTx(t, s, func(tx *store.Tx) (err error) { all, err = tx.Messages(10); return err })
	for _, m := range all {
		sent := m.ID == got[0].ID
		if sent != !m.SentAt.IsZero() || (sent && (m.Subject != "" || m.TextBody != "" || m.ClaimNode != "")) ||
			(!sent && m.Recipient != "later@example.com" && m.Subject == "") {
			t.Errorf("after marking %d sent: %+v", got[0].ID, m)
		}
	}
}

// Messages held for a flow are not claimed; ReleaseHeldMessages makes
// exactly that flow's due (one statement on PostgreSQL, two on SQLite),
// forgets its holds, and reports how many it released; another flow's
// stay held until DiscardHeldMessages deletes them.
func TestHeldMessagesReleasedOrDiscardedPerFlow(t *testing.T) {
	storetest.Each(t, testHeldMessagesReleasedOrDiscardedPerFlow)
}

func testHeldMessagesReleasedOrDiscardedPerFlow(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	far := t0.Add(100 * 365 * 24 * time.Hour)
	inTx(t, s, func(tx *store.Tx) error {
		for i, flow := range []string{"f1", "f1", "f2"} {
			m := &store.Message{CreatedAt: t0, Kind: "k", Recipient: fmt.Sprintf("%s-%d@example.com", flow, i), MessageID: fmt.Sprintf("<h%d@x>", i), NextAttemptAt: far}
			if err := tx.EnqueueMessage(m); err != nil {
				return err
			}
			if err := tx.HoldMessage(m.ID, []byte(flow)); err != nil {
				return err
			}
		}
		return nil
	})
	claim := func(node string) []*store.Message {
		var got []*store.Message
		inTx(t, s, func(tx *store.Tx) (err error) {
			got, err = tx.ClaimDue(t0, t0.Add(time.Minute), node, node, 10)
			return err
		})
		return got
	}
	if got := claim("early"); len(got) != 0 {
		t.Fatalf("held messages claimed: %+v", got)
	}
	var released, again int64
	inTx(t, s, func(tx *store.Tx) (err error) {
		if released, err = tx.ReleaseHeldMessages([]byte("f1"), t0); err != nil {
			return err
		}
		again, err = tx.ReleaseHeldMessages([]byte("f1"), t0)
		return err
	})
	if released != 2 || again != 0 {
		t.Errorf("released %d, then %d; want 2, then 0", released, again)
	}
	if got := claim("after"); len(got) != 2 || got[0].Recipient[:2] != "f1" || got[1].Recipient[:2] != "f1" {
		t.Errorf("after releasing f1, claimed %+v; want f1's two", got)
	}
	var discarded int64
	inTx(t, s, func(tx *store.Tx) (err error) { discarded, err = tx.DiscardHeldMessages([]byte("f2")); return err })
	var all []*store.Message
	inTx(t, s, func(tx *store.Tx) (err error) { all, err = tx.Messages(10); return err })
	if discarded != 1 || len(all) != 2 {
		t.Errorf("discarded %d, %d messages left; want 1 and f1's two", discarded, len(all))
	}
}
