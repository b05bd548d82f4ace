package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/jobs"
	"github.com/sspr/sspr/internal/mailsink"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// attachmentOf returns the first attachment of a received mail.
func attachmentOf(t *testing.T, m mailsink.Message) (name, ctype string, data []byte) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("report mail is %q, want multipart/mixed", msg.Header.Get("Content-Type"))
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			t.Fatal("the report mail has no attachment")
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.FileName() == "" {
			continue
		}
		b, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		if err != nil {
			t.Fatal(err)
		}
		return p.FileName(), p.Header.Get("Content-Type"), b
	}
}

// TestScheduledReportsMailedAsAttachments: admin.scheduled_reports jobs
// render the expiring-passwords report from the real OpenLDAP as PDF and
// CSV and mail them as attachments through the outbox to the SMTP sink,
// once per recipient and slot however often the job is started.
func TestScheduledReportsMailedAsAttachments(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	_, strictDN := dirtest.LDAPPolicyDNs(t)
	u := dirtest.CreateLDAPUser(t, "Initial-Pass1")
	dirtest.Modify(t, dirtest.LDAPAdmin(t), u.DN, map[string][]string{"pwdPolicySubentry": {strictDN}})
	d, err := openldap.New(cfg, openldap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	user, err := d.FindUser(t.Context(), u.Login)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ResetPassword(t.Context(), user, "Strict-Pass10"); err != nil {
		t.Fatal(err)
	}
	ops := dirtest.UniqueName("ops") + "@example.test"
	in := start(t, peopleOnlyYAML(cfg), `admin:
  scheduled_reports:
    - {name: weekly-expiry, report: expiring, format: pdf, schedule: "0 6 * * 1", recipients: ["`+ops+`"], days: 31}
    - {name: expiry-csv, report: expiring, format: csv, schedule: "@daily", recipients: ["`+ops+`"], days: 31}
`)
	r, err := in.App.JobRunner()
	if err != nil {
		t.Fatal(err)
	}
	// A forced run's slot is the minute it starts in: the runs below share
	// one minute however long each takes (they crossed a minute's end on a
	// slow machine, and mailed a second time, rightly, for the new slot).
	frozen := time.Now()
	r.Now = func() time.Time { return frozen }
	for _, name := range []string{"report:weekly-expiry", "report:expiry-csv"} {
		j, ok := r.Job(name)
		if !ok {
			t.Fatalf("no job %s", name)
		}
		for range 2 { // started twice: mailed once
			if out, err := r.RunJob(t.Context(), j, true); err != nil || out != jobs.Ran {
				t.Fatalf("%s: %s, %v", name, out, err)
			}
		}
	}
	in.App.Worker().Kick()
	deadline := time.Now().Add(20 * time.Second)
	for in.mailsTo(ops) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := in.mailsTo(ops); n != 2 {
		t.Fatalf("%d report mails to %s, want 2", n, ops)
	}
	// The outbox holds exactly the two (sent rows stay for a day).
	var queued int
	if err := in.App.Store().InTx(t.Context(), func(tx *store.Tx) error {
		ms, err := tx.Messages(1000)
		for _, m := range ms {
			if m.Kind == "scheduled_report" {
				queued++
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if queued != 2 {
		t.Fatalf("%d report mails queued, want 2", queued)
	}
	dir := t.TempDir()
	for _, m := range in.Sink.Messages() {
		if !strings.EqualFold(strings.Join(m.To, ","), ops) {
			continue
		}
		if !strings.Contains(m.Subject, "Passwords expiring") || !strings.Contains(m.TextBody, "Attached is the report Passwords expiring") {
			t.Fatalf("report mail: %q\n%s", m.Subject, m.TextBody)
		}
		name, ctype, data := attachmentOf(t, m)
		switch {
		case strings.HasSuffix(name, ".pdf"):
			if ctype != "application/pdf" {
				t.Fatalf("%s is %s", name, ctype)
			}
			renderPDF(t, dir, "scheduled-expiring", data)
		case strings.HasSuffix(name, ".csv"):
			rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
			if err != nil {
				t.Fatalf("%s does not parse: %v", name, err)
			}
			found := false
			for _, row := range rows[1:] {
				found = found || row[1] == u.Login
			}
			if !found {
				t.Fatalf("%s lacks %s:\n%s", name, u.Login, data)
			}
		default:
			t.Fatalf("attachment %q", name)
		}
	}
}
