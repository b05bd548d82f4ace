package forward

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
)

// File appends events as JSON lines (the `sspr audit export` format) to a
// file, for a log shipper to pick up. Each batch is synced to disk before
// it counts as delivered. The file is opened for each batch, so a log
// rotator may move it away at any time.
type File struct {
	Path string
}

// Name implements Sink.
func (f *File) Name() string { return "file:" + f.Path }

// Deliver implements Sink.
func (f *File) Deliver(_ context.Context, events []Event) (int, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			return 0, err
		}
	}
	fh, err := os.OpenFile(f.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 0, fmt.Errorf("audit file: %w", err)
	}
	_, werr := fh.Write(buf.Bytes())
	serr := fh.Sync()
	cerr := fh.Close()
	for _, err := range []error{werr, serr, cerr} {
		if err != nil {
			return 0, fmt.Errorf("audit file: %w", err)
		}
	}
	return len(events), nil
}
