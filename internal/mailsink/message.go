package mailsink

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"golang.org/x/text/encoding/htmlindex"
)

// Message is one received mail.
type Message struct {
	// From is the envelope sender (MAIL FROM), To the envelope recipients
	// (RCPT TO) — who the mail was really sent to, Bcc included. The header
	// fields are in Header.
	From string
	To   []string
	// Subject is the decoded Subject header (RFC 2047 words decoded).
	Subject string
	// TextBody and HTMLBody are the first text/plain and text/html parts
	// (or the whole body of a single-part mail), transfer-decoded and
	// converted to UTF-8.
	TextBody string
	HTMLBody string
	// Header is the top-level header of the message.
	Header mail.Header
	// Raw is the message exactly as received after dot-unstuffing.
	Raw []byte
	// Received is when the DATA command completed.
	Received time.Time
	// MessageID is the Message-ID header without angle brackets.
	MessageID string
	// TLS reports whether the message arrived over STARTTLS.
	TLS bool
	// Connection numbers the connection the message came over (1 for the
	// first one the sink accepted): messages with the same number shared a
	// connection.
	Connection int
	// ParseError is set when the content could not be fully parsed; Raw
	// is still complete.
	ParseError string
}

// clone returns a deep copy, so callers cannot change the sink's records.
func (m Message) clone() Message {
	c := m
	c.To = append([]string(nil), m.To...)
	c.Raw = append([]byte(nil), m.Raw...)
	if m.Header != nil {
		c.Header = make(mail.Header, len(m.Header))
		for k, v := range m.Header {
			c.Header[k] = append([]string(nil), v...)
		}
	}
	return c
}

// Limits on the MIME structure, so a hostile message cannot make the parser
// recurse or loop without end.
const (
	maxDepth = 8
	maxParts = 100
)

var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	}
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return nil, fmt.Errorf("unknown charset %q", charset)
	}
	return enc.NewDecoder().Reader(input), nil
}

// Parse parses a raw RFC 5322 message into a Message (without envelope or
// reception data). It returns what it could parse together with the first
// error met.
func Parse(raw []byte) (Message, error) {
	msg := Message{Raw: raw}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return msg, fmt.Errorf("mailsink: parse header: %w", err)
	}
	msg.Header = m.Header
	msg.Subject = decodeHeader(m.Header.Get("Subject"))
	msg.MessageID = strings.TrimSpace(strings.Trim(strings.TrimSpace(m.Header.Get("Message-Id")), "<>"))
	parts := 0
	err = walk(&msg, m.Header, m.Body, 0, &parts)
	return msg, err
}

func decodeHeader(v string) string {
	d, err := wordDecoder.DecodeHeader(v)
	if err != nil {
		return v
	}
	return d
}

// header is what walk needs of mail.Header and textproto.MIMEHeader alike.
type header interface{ Get(string) string }

// walk collects the text and HTML bodies of an entity and its parts.
func walk(msg *Message, h header, body io.Reader, depth int, parts *int) error {
	*parts++
	if depth > maxDepth || *parts > maxParts {
		return errors.New("mailsink: MIME structure too deep or too many parts")
	}
	ctype := h.Get("Content-Type")
	if ctype == "" {
		ctype = "text/plain; charset=us-ascii"
	}
	mediaType, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		// RFC 2045 §5.2: an unparsable Content-Type means text/plain.
		mediaType, params = "text/plain", map[string]string{}
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		boundary := params["boundary"]
		if boundary == "" {
			return errors.New("mailsink: multipart without boundary")
		}
		mr := multipart.NewReader(body, boundary)
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("mailsink: multipart: %w", err)
			}
			if err := walk(msg, p.Header, p, depth+1, parts); err != nil {
				return err
			}
		}
	}
	if mediaType != "text/plain" && mediaType != "text/html" {
		return nil
	}
	if disp, _, _ := mime.ParseMediaType(h.Get("Content-Disposition")); disp == "attachment" {
		return nil
	}
	text, err := decodeBody(body, h.Get("Content-Transfer-Encoding"), params["charset"])
	if err != nil {
		return err
	}
	switch {
	case mediaType == "text/html" && msg.HTMLBody == "":
		msg.HTMLBody = text
	case mediaType == "text/plain" && msg.TextBody == "":
		msg.TextBody = text
	}
	return nil
}

func decodeBody(body io.Reader, cte, charset string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, &base64Cleaner{r: body})
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	}
	r, err := charsetReader(charset, body)
	if err != nil {
		return "", fmt.Errorf("mailsink: %w", err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return string(b), fmt.Errorf("mailsink: decode body: %w", err)
	}
	return string(b), nil
}

// base64Cleaner drops the whitespace mailers wrap base64 lines with (the
// standard decoder skips only CR and LF).
type base64Cleaner struct{ r io.Reader }

func (c *base64Cleaner) Read(p []byte) (int, error) {
	for {
		n, err := c.r.Read(p)
		j := 0
		for _, b := range p[:n] {
			if b != ' ' && b != '\t' {
				p[j] = b
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
