package ui_test

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hashicorp/consul/api"

	"conclave/agent/config"
	"conclave/internal/testutil"
)

// The services page lists a registered service with its instances; its
// page shows each instance, and a TTL check flipped to critical through
// the API turns critical on the open page without a reload.
func TestBrowserServicesLive(t *testing.T) {
	t.Parallel()
	a, c := uiAgent(t, nil)
	for _, id := range []string{"web-1", "web-2"} {
		if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: id, Name: "web", Port: 8080, Tags: []string{"v1"},
			Meta: map[string]string{"owner": "team-a"}, Check: &api.AgentServiceCheck{CheckID: id + "-ttl", TTL: "10m"}}); err != nil {
			t.Fatalf("ServiceRegister(%s) = %v", id, err)
		}
		if err := c.Agent().UpdateTTL(id+"-ttl", "all good", api.HealthPassing); err != nil {
			t.Fatalf("UpdateTTL(%s) = %v", id, err)
		}
	}
	testutil.Retry(t, 10*time.Second, func() error {
		entries, _, err := c.Health().Service("web", "", false, nil)
		if err != nil || len(entries) != 2 {
			return fmt.Errorf("Health().Service(web) = %d entries, %v; want 2", len(entries), err)
		}
		return nil
	})

	p := openUI(t, a.HTTPURL())
	p.waitText(`tr[data-service="web"]`, "2")
	p.waitText(`tr[data-service="web"]`, "passing")
	p.waitText(`tr[data-service="web"]`, "v1")
	services := p.shot("services")
	if os.Getenv("CONCLAVE_UI_SCREENSHOT") != "" {
		// The README's screenshot: CONCLAVE_UI_SCREENSHOT=1 go test -run TestBrowserServicesLive ./ui/
		copyFile(t, services, "../docs/ui-services.png")
	}

	// From the keyboard: filter, then follow the link with Enter.
	p.run("filter", chromedp.SendKeys(chromedp.CSS("input.filter"), "we"))
	p.run("check the filter", discard(chromedp.Poll[bool](`!document.querySelector('tr[data-service="consul"]')`)))
	p.run("open the service", chromedp.Focus(chromedp.CSS(`tr[data-service="web"] a`)), chromedp.KeyEvent("\r"))
	p.waitText(`tr[data-instance="web-1"]`, "ui-node")
	p.waitText(`tr[data-instance="web-2"]`, "owner")
	p.waitText(`tr[data-instance="web-1"] li[data-check="web-1-ttl"][data-status="passing"]`, "all good")
	p.shot("service")

	if err := c.Agent().UpdateTTL("web-1-ttl", "disk full", api.HealthCritical); err != nil {
		t.Fatalf("UpdateTTL(web-1-ttl, critical) = %v", err)
	}
	p.waitText(`tr[data-instance="web-1"] li[data-check="web-1-ttl"][data-status="critical"]`, "disk full")
	p.shot("service-critical")

	// A narrow screen: the rows stack, nothing runs off the side.
	p.run("narrow", chromedp.EmulateViewport(390, 844))
	p.run("no sideways scrolling", discard(chromedp.Poll[bool](`document.documentElement.scrollWidth <= window.innerWidth`)))
	p.shot("service-narrow")
	p.run("wide", chromedp.EmulateViewport(1280, 900))

	sid, _, err := c.Session().Create(&api.SessionEntry{Name: "ui-lock", Node: "ui-node"}, nil)
	if err != nil {
		t.Fatalf("Session().Create() = %v", err)
	}
	p.run("open the node", chromedp.Click(chromedp.CSS(`tr[data-instance="web-1"] a`)))
	p.waitText(`li[data-check="serfHealth"]`, "passing")
	p.waitText(`li[data-session="`+sid+`"]`, "ui-lock")
	p.waitText(`section[aria-label="Services"]`, "web-2")
	p.shot("node")
	p.goTo("/dc1/nodes")
	p.waitText(`tr[data-node="ui-node"]`, "web")
	p.shot("nodes")
}

// Create, edit and delete a KV value; a write by someone else in between
// is refused by the check-and-set and shown; a non-UTF-8 value shows as
// base64.
func TestBrowserKV(t *testing.T) {
	t.Parallel()
	a, c := uiAgent(t, nil)
	kv := c.KV()
	put := func(k string, v []byte) {
		t.Helper()
		if _, err := kv.Put(&api.KVPair{Key: k, Value: v}, nil); err != nil {
			t.Fatalf("Put(%q) = %v", k, err)
		}
	}
	value := func(k string) string {
		t.Helper()
		p, _, err := kv.Get(k, nil)
		if err != nil {
			t.Fatalf("Get(%q) = %v", k, err)
		}
		if p == nil {
			return "<none>"
		}
		return string(p.Value)
	}
	put("app/config", []byte("v1"))
	put("app/blob", []byte{0xff, 0xfe, 0x00})

	p := openUI(t, a.HTTPURL())
	p.goTo("/dc1/kv/app/")
	p.waitText(`li[data-key="app/config"]`, "config")
	p.shot("kv-folder")

	p.run("create app/new", chromedp.SetValue(chromedp.CSS("#kv-new-key"), "new"),
		chromedp.SetValue(chromedp.CSS("#kv-new-value"), "hello"), chromedp.Click(chromedp.CSS(`.kv-create button[type=submit]`)))
	p.waitText("#notice", "Created app/new")
	if got := value("app/new"); got != "hello" {
		t.Errorf("after create, Get(app/new) = %q, want %q", got, "hello")
	}

	p.goTo("/dc1/kv/app/config")
	p.waitText("main .hint", "ModifyIndex")
	p.run("edit app/config", chromedp.SetValue(chromedp.CSS("#kv-value"), "v2"), chromedp.Click(chromedp.CSS("#kv-save")))
	p.waitText("#notice", "Saved app/config")
	if got := value("app/config"); got != "v2" {
		t.Errorf("after save, Get(app/config) = %q, want v2", got)
	}

	// Someone else writes while the page holds the value it loaded.
	put("app/config", []byte("theirs"))
	p.run("edit app/config again", chromedp.SetValue(chromedp.CSS("#kv-value"), "mine"), chromedp.Click(chromedp.CSS("#kv-save")))
	p.waitText(".conflict", "changed since you opened it")
	p.waitText(".conflict .new-value", "theirs")
	p.shot("kv-conflict")
	if got := value("app/config"); got != "theirs" {
		t.Errorf("after a refused save, Get(app/config) = %q, want theirs (the CAS must refuse)", got)
	}

	p.goTo("/dc1/kv/app/new")
	p.waitText("main .hint", "ModifyIndex")
	p.run("delete app/new", chromedp.Click(chromedp.CSS("#kv-delete")), chromedp.Click(chromedp.CSS("#kv-delete-confirm")))
	p.waitText("#notice", "Deleted app/new")
	if got := value("app/new"); got != "<none>" {
		t.Errorf("after delete, Get(app/new) = %q, want none", got)
	}

	p.goTo("/dc1/kv/app/blob")
	p.waitText("main", "not UTF-8")
	shown, err := chromedp.Run(p.ctx, chromedp.Value(chromedp.CSS("#kv-value")))
	if err != nil {
		t.Fatalf("reading the value of app/blob: %v", err)
	}
	if shown != "//4A" {
		t.Errorf("value of app/blob shown as %q, want base64 //4A", shown)
	}
}

// The datacenter switcher reads every page through ?dc=.
func TestBrowserDatacenters(t *testing.T) {
	t.Parallel()
	dc1, dc2 := testutil.NewWANPairTweaked(t, func(c *config.Config) { c.UI.Enabled = true })
	c2 := testutil.APIClient(t, dc2.Servers[0])
	if err := c2.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "only-in-dc2", Port: 1}); err != nil {
		t.Fatalf("ServiceRegister in dc2 = %v", err)
	}

	p := openUI(t, dc1.Servers[0].HTTPURL())
	p.waitText("#dc", "dc2")
	p.waitText("main", "consul")
	p.run("switch to dc2", chromedp.SetValue(chromedp.CSS("#dc"), "dc2"),
		discard(chromedp.Evaluate[any](`document.getElementById('dc').dispatchEvent(new Event('change'))`)))
	p.waitText(`tr[data-service="only-in-dc2"]`, "1")
	p.shot("services-dc2")
	p.run("open it", chromedp.Click(chromedp.CSS(`tr[data-service="only-in-dc2"] a`)))
	p.waitText("main table", dc2.Servers[0].Config.NodeName)
}

// On a three-server cluster under default-deny ACLs (the UI served by a
// follower), the anonymous page shows nothing and says a denied action is
// denied; after a token login the pages show what the token may read and
// its writes go through. The token never appears in the URL.
func TestBrowserACLLogin(t *testing.T) {
	t.Parallel()
	const root = "6a1b3c4d-0000-4000-8000-00000000abcd"
	cl := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 3, NamePrefix: "uiacl-", Tweak: func(c *config.Config) {
		c.ACL.Enabled, c.ACL.DefaultPolicy = true, "deny"
		c.ACL.Tokens.InitialManagement, c.ACL.Tokens.Agent = root, root
		c.UI.Enabled = true
	}})
	a := cl.Followers()[0]
	c, err := api.NewClient(&api.Config{Address: a.HTTPAddr(), Token: root})
	if err != nil {
		t.Fatalf("api.NewClient() = %v", err)
	}
	if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: "ext-node", Address: "10.0.0.7",
		Service: &api.AgentService{Service: "secret-svc", Port: 1}}, nil); err != nil {
		t.Fatalf("Catalog().Register = %v", err)
	}

	p := openUI(t, a.HTTPURL())
	p.waitText("main table", "No services visible")
	p.goTo("/dc1/kv/")
	p.run("create without a token", chromedp.SetValue(chromedp.CSS("#kv-new-key"), "x"),
		chromedp.Click(chromedp.CSS(`.kv-create button[type=submit]`)))
	p.waitText("#notice", "Permission denied")
	p.shot("denied")

	p.run("log in", chromedp.Click(chromedp.CSS("#login-open")), chromedp.SetValue(chromedp.CSS("#login-token"), root),
		chromedp.Click(chromedp.CSS("#login-submit")))
	p.waitText("#auth", "Logged in")
	p.run("create with the token", chromedp.SetValue(chromedp.CSS("#kv-new-key"), "x"),
		chromedp.Click(chromedp.CSS(`.kv-create button[type=submit]`)))
	p.waitText("#notice", "Created x")
	p.goTo("/dc1/services")
	p.waitText(`tr[data-service="secret-svc"]`, "1")
	p.shot("logged-in")
	url, err := chromedp.Run(p.ctx, chromedp.Location())
	if err != nil {
		t.Fatalf("Location() = %v", err)
	}
	if bytes.Contains([]byte(url), []byte(root)) {
		t.Errorf("URL %q holds the token", url)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatalf("ReadFile(%s) = %v", from, err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatalf("WriteFile(%s) = %v", to, err)
	}
}
