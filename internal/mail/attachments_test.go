package mail_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/store"
)

// TestBuildWithAttachments: a mail with attachments is multipart/mixed —
// the alternative texts first, then each file — and a standard MIME
// reader gets the files back byte for byte under their names.
func TestBuildWithAttachments(t *testing.T) {
	t.Parallel()
	s := sender(t, "127.0.0.1:25", nil)
	m := message("ops@example.com")
	pdf := append([]byte("%PDF-1.3\n"), bytes.Repeat([]byte{0, 0xff, '\r', '\n', 'x'}, 100)...)
	enc, err := store.EncodeAttachments([]store.Attachment{
		{Name: "expiring.pdf", ContentType: "application/pdf", Data: pdf},
		{Name: "Zürich coverage.csv", ContentType: "text/csv; charset=utf-8", Data: []byte("directory,ou\r\ncorp,ou=Zürich\r\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	m.Attachments = enc
	raw, err := s.Build(m, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("a line of %d characters", len(line))
		}
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	var got []string
	files := map[string][]byte{}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		got = append(got, ct)
		if name := p.FileName(); name != "" {
			b, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
			if err != nil {
				t.Fatal(err)
			}
			files[name] = b
		}
	}
	if strings.Join(got, " ") != "multipart/alternative application/pdf text/csv" {
		t.Fatalf("parts %v", got)
	}
	if !bytes.Equal(files["expiring.pdf"], pdf) || !strings.Contains(string(files["Zürich coverage.csv"]), "ou=Zürich") {
		t.Fatalf("attachments did not survive: %q", files)
	}
	// Without attachments the message stays multipart/alternative.
	m.Attachments = ""
	raw, _ = s.Build(m, now)
	if !strings.Contains(string(raw), "Content-Type: multipart/alternative") || strings.Contains(string(raw), "multipart/mixed") {
		t.Fatalf("a mail without attachments changed shape:\n%s", raw)
	}
}
