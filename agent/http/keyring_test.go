package http_test

import (
	"strings"
	"testing"

	"conclave/agent/config"
	"conclave/internal/testutil"
)

// TestKeyringRequests checks /v1/operator/keyring's answers to bad and
// good requests on an encrypted agent, and to any on an agent without
// encryption.
func TestKeyringRequests(t *testing.T) {
	t.Parallel()
	const key = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="
	enc := newClient(testutil.NewAgent(t, testutil.AgentOptions{Tweak: func(c *config.Config) { c.Gossip.Encrypt = key }}))
	plain := newClient(testutil.NewAgent(t, testutil.AgentOptions{NodeName: "plain"}))
	tests := []struct {
		c      *client
		method string
		path   string
		body   string
		status int
		inBody string
	}{
		{enc, "GET", "/v1/operator/keyring", "", 200, `"Keys":{"` + key + `":1}`},
		{enc, "GET", "/v1/operator/keyring?local-only=true", "", 200, `"WAN":false`},
		{enc, "POST", "/v1/operator/keyring?local-only=true", `{"Key":"` + key + `"}`, 400, "local-only can only be used for list operations"},
		{enc, "GET", "/v1/operator/keyring?relay-factor=x", "", 400, "Error parsing relay factor"},
		{enc, "GET", "/v1/operator/keyring?relay-factor=6", "", 400, "relay-factor 6 is above the maximum of 5"},
		{enc, "POST", "/v1/operator/keyring", `{"Key":"c2hvcnQ="}`, 400, "key is 5 bytes, want 16, 24 or 32"},
		{enc, "PUT", "/v1/operator/keyring", `{"Key":"!"}`, 400, "key is not base64"},
		{enc, "POST", "/v1/operator/keyring", ``, 400, "Request decode failed"},
		{enc, "POST", "/v1/operator/keyring", `{"Key":"` + key + `"}`, 200, ""},
		{enc, "DELETE", "/v1/operator/keyring", `{"Key":"` + key + `"}`, 500, "dc1 (LAN) error"},
		{plain, "GET", "/v1/operator/keyring", "", 500, "dc1 (LAN) error"},
	}
	for _, tt := range tests {
		var body *strings.Reader
		if tt.body != "" {
			body = strings.NewReader(tt.body)
		}
		var r reply
		if body != nil {
			r = tt.c.do(t, tt.method, tt.path, body)
		} else {
			r = tt.c.do(t, tt.method, tt.path, nil)
		}
		if r.status != tt.status || !strings.Contains(r.body, tt.inBody) {
			t.Errorf("%s %s %s = %d %q, want %d containing %q", tt.method, tt.path, tt.body, r.status, r.body, tt.status, tt.inBody)
		}
	}
}
