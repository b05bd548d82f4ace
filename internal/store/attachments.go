package store

import (
	"encoding/json"
	"fmt"
)

// Attachment is a file attached to an outbox mail (a scheduled report).
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"`
}

// EncodeAttachments is the text form of a message's attachments
// (Message.Attachments), so they are sealed like the other fields.
func EncodeAttachments(as []Attachment) (string, error) {
	if len(as) == 0 {
		return "", nil
	}
	b, err := json.Marshal(as)
	return string(b), err
}

// DecodeAttachments reads what EncodeAttachments wrote.
func DecodeAttachments(s string) ([]Attachment, error) {
	if s == "" {
		return nil, nil
	}
	var as []Attachment
	if err := json.Unmarshal([]byte(s), &as); err != nil {
		return nil, fmt.Errorf("the attachments are damaged: %w", err)
	}
	return as, nil
}
