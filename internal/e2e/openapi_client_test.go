package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/sspr/sspr/internal/api"
	"github.com/sspr/sspr/internal/directory/demo"
)

// docClient is an API client that knows only openapi.yaml: it finds each
// operation's path and method by operationId, checks every request body
// against the documented request schema before sending it, and every answer
// (status and body) against the documented responses.
type docClient struct {
	t    *testing.T
	base string
	ops  map[string][2]string // operationId → method, path
	v    validator.Validator
}

func newDocClient(t *testing.T, base string) *docClient {
	t.Helper()
	doc, err := libopenapi.NewDocument(api.OpenAPI)
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	c := &docClient{t: t, base: base, ops: map[string][2]string{}}
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			c.ops[op.OperationId] = [2]string{strings.ToUpper(method), path}
		}
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("openapi.yaml: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("openapi.yaml is not a valid OpenAPI 3.1 document: %s: %s", e.Message, e.Reason)
		}
		t.FailNow()
	}
	c.v = v
	return c
}

// call runs operation opID with body (nil: none) and returns the status and
// the decoded answer, failing the test when the request or the answer
// departs from the document.
func (c *docClient) call(opID string, body map[string]any) (int, map[string]any) {
	c.t.Helper()
	mp, ok := c.ops[opID]
	if !ok {
		c.t.Fatalf("openapi.yaml has no operation %q", opID)
	}
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	newReq := func() *http.Request {
		req, _ := http.NewRequest(mp[0], c.base+mp[1], bytes.NewReader(raw))
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept-Language", "en")
		return req
	}
	if ok, errs := c.v.ValidateHttpRequest(newReq()); !ok {
		for _, e := range errs {
			c.t.Errorf("%s: request %s departs from openapi.yaml: %s: %s", opID, raw, e.Message, e.Reason)
		}
		c.t.FailNow()
	}
	req := newReq()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	if ok, errs := c.v.ValidateHttpResponse(newReq(), resp); !ok {
		for _, e := range errs {
			c.t.Errorf("%s: answer %d %s departs from openapi.yaml: %s: %s", opID, resp.StatusCode, answer, e.Message, e.Reason)
		}
	}
	var out map[string]any
	if len(answer) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(answer, &out); err != nil {
			c.t.Fatalf("%s: %v\n%s", opID, err, answer)
		}
	}
	return resp.StatusCode, out
}

// TestAPIClientFollowingTheDocument drives a whole reset, with a refusal
// on the way, and an unlock, through the JSON API knowing only what
// openapi.yaml says; every answer must match its documented schema.
func TestAPIClientFollowingTheDocument(t *testing.T) {
	in := startA11yDemo(t)
	c := newDocClient(t, in.URL)

	if status, out := c.call("proofOfWork", nil); status != http.StatusOK || out["enabled"] != false {
		t.Fatalf("pow: %d %v", status, out)
	}
	status, out := c.call("startReset", map[string]any{"login": "alice"})
	if status != http.StatusAccepted {
		t.Fatalf("start: %d %v", status, out)
	}
	flowID, _ := out["flow_id"].(string)
	code := in.code(t, "alice", 1)
	if status, out := c.call("verifyCode", map[string]any{"flow_id": flowID, "code": "00000000"}); status != http.StatusUnprocessableEntity {
		t.Fatalf("wrong code: %d %v", status, out)
	}
	status, out = c.call("verifyCode", map[string]any{"flow_id": flowID, "code": code})
	if status != http.StatusOK || out["state"] != "verified" {
		t.Fatalf("verify: %d %v", status, out)
	}
	if status, out := c.call("resetStatus", map[string]any{"flow_id": flowID}); status != http.StatusOK {
		t.Fatalf("status: %d %v", status, out)
	}
	if status, out := c.call("passwordRules", map[string]any{"flow_id": flowID}); status != http.StatusOK || len(out["rules"].([]any)) == 0 {
		t.Fatalf("rules: %d %v", status, out)
	}
	status, out = c.call("checkPassword", map[string]any{"flow_id": flowID, "password": "Summer2024!"})
	if status != http.StatusOK || out["ok"] != false {
		t.Fatalf("check: %d %v", status, out)
	}
	if status, out := c.call("checkPassword", map[string]any{"login": "bob", "password": "Kettle-Harbour-42"}); status != http.StatusOK || out["ok"] != true {
		t.Fatalf("anonymous check: %d %v", status, out)
	}
	// The demo directory wants a digit: its refusal names the rule.
	status, out = c.call("setPassword", map[string]any{"flow_id": flowID, "password": "Marmalade-Otter-Lantern"})
	if status != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(out), "digit") {
		t.Fatalf("password without a digit: %d %v", status, out)
	}
	status, out = c.call("setPassword", map[string]any{"flow_id": flowID, "password": "Kettle-Harbour-42"})
	if status != http.StatusOK || out["state"] != "done" {
		t.Fatalf("set password: %d %v", status, out)
	}
	if status, _ := c.call("resetStatus", map[string]any{"flow_id": flowID}); status != http.StatusOK && status != http.StatusNotFound {
		t.Fatalf("status after done: %d", status)
	}

	// Unlock the demo's locked account the same way.
	status, out = c.call("startUnlock", map[string]any{"login": demo.LockedUser})
	if status != http.StatusAccepted {
		t.Fatalf("start unlock: %d %v", status, out)
	}
	flowID, _ = out["flow_id"].(string)
	if status, out := c.call("verifyCode", map[string]any{"flow_id": flowID, "code": in.code(t, demo.LockedUser, 1)}); status != http.StatusOK {
		t.Fatalf("verify unlock: %d %v", status, out)
	}
	if status, out := c.call("confirmUnlock", map[string]any{"flow_id": flowID}); status != http.StatusOK || out["state"] != "done" {
		t.Fatalf("unlock: %d %v", status, out)
	}

	// Change a known password, with a refusal first.
	if status, out := c.call("changePassword", map[string]any{"login": "bob", "old_password": "wrong-1", "password": "Kettle-Harbour-43"}); status != http.StatusUnprocessableEntity {
		t.Fatalf("change with a wrong password: %d %v", status, out)
	}
	if status, out := c.call("changePassword", map[string]any{"login": "bob", "old_password": "Spring-2026", "password": "Kettle-Harbour-43"}); status != http.StatusOK {
		t.Fatalf("change: %d %v", status, out)
	}

	// Enrollment: sign in, the list, sign out.
	status, out = c.call("enrollSignIn", map[string]any{"login": "carol", "password": "Summer-2026"})
	if status != http.StatusOK {
		t.Fatalf("sign in: %d %v", status, out)
	}
	sid, _ := out["session_id"].(string)
	if status, out := c.call("enrollView", map[string]any{"session_id": sid}); status != http.StatusOK {
		t.Fatalf("view: %d %v", status, out)
	}
	if status, out := c.call("enrollSignOut", map[string]any{"session_id": sid}); status != http.StatusOK {
		t.Fatalf("sign out: %d %v", status, out)
	}
}
