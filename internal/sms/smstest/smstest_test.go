package smstest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/sms/smstest"
)

func post(t *testing.T, tw *smstest.Twilio, path, user, pass string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, tw.URL()+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	return resp.StatusCode, doc
}

func TestTwilioProtocol(t *testing.T) {
	tw := smstest.NewTwilio(t)
	path := "/2010-04-01/Accounts/" + tw.AccountSID + "/Messages.json"
	ok := url.Values{"To": {"+14155550142"}, "From": {"+15005550006"}, "Body": {"hi"}}
	tests := []struct {
		name   string
		path   string
		user   string
		form   url.Values
		status int
		code   float64
	}{
		{"bad auth", path, "ACnope", ok, 401, 20003},
		{"other account", "/2010-04-01/Accounts/ACother/Messages.json", tw.AccountSID, ok, 404, 20404},
		{"no To", path, tw.AccountSID, url.Values{"From": {"+15005550006"}, "Body": {"hi"}}, 400, 21604},
		{"no From", path, tw.AccountSID, url.Values{"To": {"+14155550142"}, "Body": {"hi"}}, 400, 21603},
		{"no Body", path, tw.AccountSID, url.Values{"To": {"+14155550142"}, "From": {"+15005550006"}}, 400, 21602},
		{"long Body", path, tw.AccountSID, url.Values{"To": {"+14155550142"}, "From": {"+1"}, "Body": {strings.Repeat("x", 1601)}}, 400, 21617},
		{"bad To", path, tw.AccountSID, url.Values{"To": {"0612"}, "From": {"+1"}, "Body": {"x"}}, 400, 21211},
	}
	for _, tt := range tests {
		pass := tw.AuthToken
		status, doc := post(t, tw, tt.path, tt.user, pass, tt.form)
		if status != tt.status || doc["code"] != tt.code || doc["status"] != float64(tt.status) || doc["more_info"] == "" || doc["message"] == "" {
			t.Errorf("%s: %d %v", tt.name, status, doc)
		}
	}
	status, doc := post(t, tw, path, tw.AccountSID, tw.AuthToken, ok)
	if status != 201 || !strings.HasPrefix(doc["sid"].(string), "SM") || doc["status"] != "queued" || doc["account_sid"] != tw.AccountSID ||
		doc["num_segments"] != "1" || doc["direction"] != "outbound-api" {
		t.Fatalf("created: %d %v", status, doc)
	}
	if _, err := time.Parse(time.RFC1123Z, doc["date_created"].(string)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := tw.WaitFor(ctx, func(m smstest.Message) bool { return m.To == "+1999" }); err == nil {
		t.Fatal("WaitFor found a message never sent")
	}
	if n := tw.Requests(); n != len(tests)+1 {
		t.Fatalf("%d requests", n)
	}
}

func TestWaitForLater(t *testing.T) {
	wh := smstest.NewWebhook(t)
	go func() {
		time.Sleep(20 * time.Millisecond)
		resp, err := http.Post(wh.URL()+"/x", "text/plain", strings.NewReader("late"))
		if err == nil {
			resp.Body.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := wh.WaitFor(ctx, func(r smstest.Request) bool { return string(r.Body) == "late" })
	if err != nil || r.Path != "/x" {
		t.Fatalf("%+v %v", r, err)
	}
}
