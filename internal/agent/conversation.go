package agent

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Conversation is what a person sees and types: a PAM conversation relayed
// by the module, or a terminal.
type Conversation interface {
	// Ask shows prompt and returns the answer; secret answers are not
	// echoed. ErrCancelled when the person cancelled.
	Ask(secret bool, prompt string) (string, error)
	// Say shows information, Warn an error message.
	Say(text string) error
	Warn(text string) error
}

// ErrCancelled is returned by Ask when the person cancelled the prompt.
var ErrCancelled = errors.New("cancelled")

// LineConversation speaks the pipe protocol of pam/pam_sspr.c over r and w:
// one message per line, "\" and newlines escaped. The module relays each
// prompt to the PAM application and writes the answer back.
type LineConversation struct {
	mu sync.Mutex
	r  *bufio.Reader
	w  io.Writer
}

// NewLineConversation speaks the protocol over r (answers) and w (messages).
func NewLineConversation(r io.Reader, w io.Writer) *LineConversation {
	return &LineConversation{r: bufio.NewReaderSize(r, 8192), w: w}
}

// MaxLine bounds one protocol line (the module uses the same bound).
const MaxLine = 8191

func escapeLine(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", "").Replace(s)
}

// UnescapeLine undoes escapeLine; an escape at the very end is kept.
func UnescapeLine(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			if s[i] == 'n' {
				b.WriteByte('\n')
			} else {
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (c *LineConversation) send(kind, text string) error {
	line := kind
	if text != "" || kind != "X" {
		line += " " + escapeLine(text)
	}
	if len(line) > MaxLine {
		line = line[:MaxLine]
	}
	_, err := io.WriteString(c.w, line+"\n")
	return err
}

// Ask implements Conversation.
func (c *LineConversation) Ask(secret bool, prompt string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	kind := "P1"
	if secret {
		kind = "P0"
	}
	if err := c.send(kind, prompt); err != nil {
		return "", err
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return ParseAnswer(strings.TrimSuffix(line, "\n"))
}

// ParseAnswer reads a module → helper line: "A answer" or "X".
func ParseAnswer(line string) (string, error) {
	switch {
	case line == "X":
		return "", ErrCancelled
	case line == "A":
		return "", nil
	case strings.HasPrefix(line, "A "):
		return UnescapeLine(line[2:]), nil
	}
	return "", fmt.Errorf("agent: unexpected line from the PAM module (%d bytes)", len(line))
}

// Say implements Conversation.
func (c *LineConversation) Say(text string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.send("I", text)
}

// Warn implements Conversation.
func (c *LineConversation) Warn(text string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.send("E", text)
}

// HandOn gives the module the new password to set as PAM_AUTHTOK.
func (c *LineConversation) HandOn(password string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.send("T", password)
}

// Finish reports the outcome ("ok", "fail" or "ignore"); the last line.
func (c *LineConversation) Finish(outcome string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.send("R", outcome)
}
