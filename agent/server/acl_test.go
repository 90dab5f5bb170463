package server_test

import (
	"context"
	"testing"
	"time"

	"conclave/agent/config"
	"conclave/agent/structs"
	"conclave/internal/testutil"
)

// TestACLExpiredTokens: an expired token is refused at once and the
// leader's reaping deletes it; a live one stays.
func TestACLExpiredTokens(t *testing.T) {
	t.Parallel()
	const root = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
	a := testutil.NewAgent(t, testutil.AgentOptions{Tweak: func(c *config.Config) {
		c.ACL.Enabled, c.ACL.DefaultPolicy = true, "deny"
		c.ACL.Tokens.InitialManagement = root
	}})
	create := func(ttl time.Duration) *structs.ACLToken {
		t.Helper()
		args := structs.ACLWriteRequest{Create: true, ACLToken: &structs.ACLToken{ExpirationTTL: ttl}}
		args.Token = root
		var reply structs.ACLTokenReply
		if err := a.RPC(context.Background(), "ACL.TokenSet", &args, &reply); err != nil {
			t.Fatalf("ACL.TokenSet(ttl %s) = %v", ttl, err)
		}
		return reply.Token
	}
	short, long := create(time.Nanosecond), create(time.Hour)
	var out structs.IndexedDirEntries
	args := structs.KeyRequest{Key: "k"}
	args.Token = short.SecretID
	if err := a.RPC(context.Background(), "KVS.Get", &args, &out); err == nil || err.Error() != "ACL not found" {
		t.Errorf("KVS.Get with an expired token = %v, want ACL not found", err)
	}
	a.Server().ReapExpiredTokens()
	st := a.Server().State()
	if _, got, _ := st.ACLTokenGet(nil, short.AccessorID); got != nil {
		t.Errorf("expired token after reaping = %+v, want deleted", got)
	}
	if _, got, _ := st.ACLTokenGet(nil, long.AccessorID); got == nil {
		t.Errorf("live token after reaping = nil, want it kept")
	}
}
