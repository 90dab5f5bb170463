package http

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	gohttp "net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	bexpr "github.com/hashicorp/go-bexpr"

	"conclave/agent/acl"
	"conclave/agent/config"
	"conclave/agent/structs"
)

// agentLocalBackend is the agent's own services and checks: the local
// state and the operations on it. Writes return after the change reached
// the catalog (or anti-entropy took it over). Refusals are typed errors
// (structs.Errorf) whose kind gives Consul's status code.
type agentLocalBackend interface {
	// AgentLocalServices and AgentLocalChecks return copies by ID.
	AgentLocalServices() map[string]*structs.NodeService
	// AgentLocalService returns a copy of one service, or nil; lookups of
	// one ID must not copy every service (registration is a hot path).
	AgentLocalService(id string) *structs.NodeService
	AgentLocalChecks() map[string]*structs.HealthCheck
	// AgentLocalWatch returns a channel closed at the next change of
	// services or checks (hash-based blocking reads).
	AgentLocalWatch() <-chan struct{}
	// AgentLocalInfo names this agent's node and datacenter.
	AgentLocalInfo() (node, datacenter string)

	AgentRegisterService(def *structs.ServiceDefinition, replaceExistingChecks bool, token string) error
	AgentDeregisterService(id string) error
	AgentRegisterCheck(def *structs.CheckDefinition, token string) error
	AgentDeregisterCheck(id string) error
	// AgentUpdateTTL reports on a TTL check.
	AgentUpdateTTL(id, status, output string) error
	AgentServiceMaintenance(id string, enable bool, reason, token string) error
	AgentNodeMaintenance(enable bool, reason, token string) error
	// AgentReload re-reads the configuration, as SIGHUP does.
	AgentReload() error
}

// agentService is a service of /v1/agent/services and
// /v1/agent/service/<id>, in Consul's shape (Tags and Meta never null).
type agentService struct {
	Kind              string `json:",omitempty"`
	ID                string
	Service           string
	Tags              []string
	Meta              map[string]string
	Port              int
	Ports             []structs.ServicePort `json:",omitempty"`
	Address           string
	TaggedAddresses   map[string]structs.ServiceAddress `json:",omitempty"`
	Weights           structs.Weights
	EnableTagOverride bool
	Proxy             structs.RawJSON   `json:",omitempty" bexpr:"-"`
	Connect           structs.RawJSON   `json:",omitempty" bexpr:"-"`
	Locality          *structs.Locality `json:",omitempty"`
	ContentHash       string            `json:",omitempty" bexpr:"-"`
	Datacenter        string
}

func toAgentService(s *structs.NodeService, dc string) *agentService {
	out := &agentService{
		Kind:              s.Kind,
		Ports:             s.Ports,
		Proxy:             s.Proxy,
		Connect:           s.Connect,
		Locality:          s.Locality,
		ID:                s.ID,
		Service:           s.Service,
		Tags:              s.Tags,
		Meta:              s.Meta,
		Port:              s.Port,
		Address:           s.Address,
		TaggedAddresses:   s.TaggedAddresses,
		Weights:           structs.Weights{Passing: 1, Warning: 1},
		EnableTagOverride: s.EnableTagOverride,
		Datacenter:        dc,
	}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if out.Meta == nil {
		out.Meta = map[string]string{}
	}
	if s.Weights != nil {
		out.Weights = *s.Weights
	}
	return out
}

func (h *Handler) authz(r *gohttp.Request) (acl.Authorizer, error) {
	return h.backend.ResolveToken(token(r))
}

// listAuthz resolves the token of a list the handler narrows itself; the
// authorizer it returns sets X-Consul-Results-Filtered-By-ACLs on w once
// it refuses something, as the server's method table does for lists it
// serves.
func (h *Handler) listAuthz(w gohttp.ResponseWriter, r *gohttp.Request) (acl.Authorizer, func(), error) {
	authz, err := h.authz(r)
	if err != nil {
		return nil, nil, err
	}
	t := acl.Track(authz)
	return t, func() {
		if t.Denied() {
			w.Header()["X-Consul-Results-Filtered-By-Acls"] = trueValue
		}
	}, nil
}

// filterMap applies ?filter to a map's values.
func filterMap[T any](r *gohttp.Request, m map[string]T) (map[string]T, error) {
	expr := queryOf(r).Get("filter")
	if expr == "" {
		return m, nil
	}
	f, err := bexpr.CreateFilter(expr)
	if err != nil {
		return nil, badRequest("Failed to create boolean expression evaluator: %v", err)
	}
	out, err := f.Execute(m)
	if err != nil {
		return nil, badRequest("Failed to apply filter %q: %v", expr, err)
	}
	return out.(map[string]T), nil
}

// agentServices serves GET /v1/agent/services.
func (h *Handler) agentServices(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	authz, done, err := h.listAuthz(w, r)
	if err != nil {
		return nil, err
	}
	defer done()
	_, dc := h.backend.AgentLocalInfo()
	out := map[string]*agentService{}
	for id, s := range h.backend.AgentLocalServices() {
		if authz.ServiceRead(s.Service) {
			out[id] = toAgentService(s, dc)
		}
	}
	return filterMap(r, out)
}

// agentService serves GET /v1/agent/service/<id>, with Consul's
// hash-based blocking: given ?hash=, it answers once the service's content
// hash differs (or ?wait runs out).
func (h *Handler) agentService(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/agent/service/")
	if id == "" {
		return nil, badRequest("Missing service ID")
	}
	var q structs.QueryOptions
	if err := parseQuery(r, &q); err != nil {
		return nil, err
	}
	authz, err := h.authz(r)
	if err != nil {
		return nil, err
	}
	wait := q.MaxQueryTime
	if wait <= 0 {
		wait = structs.DefaultQueryTime
	}
	wait = min(wait, structs.MaxQueryTime)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	want := queryOf(r).Get("hash")
	_, dc := h.backend.AgentLocalInfo()
	for {
		// Watch before reading, so a change in between is not missed.
		watch := h.backend.AgentLocalWatch()
		s := h.backend.AgentLocalService(id)
		if s == nil {
			return nil, notFound("unknown service ID: %s", id)
		}
		if !authz.ServiceRead(s.Service) {
			return nil, structs.ErrPermissionDenied
		}
		out := toAgentService(s, dc)
		buf, err := json.Marshal(out)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(buf)
		out.ContentHash = hex.EncodeToString(sum[:8])
		if want == "" || want != out.ContentHash {
			w.Header().Set("X-Consul-ContentHash", out.ContentHash)
			return out, nil
		}
		select {
		case <-watch:
		case <-timer.C:
			want = "" // answer with what there is
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
}

// agentChecks serves GET /v1/agent/checks.
func (h *Handler) agentChecks(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	authz, done, err := h.listAuthz(w, r)
	if err != nil {
		return nil, err
	}
	defer done()
	node, _ := h.backend.AgentLocalInfo()
	out := map[string]*structs.HealthCheck{}
	for id, c := range h.backend.AgentLocalChecks() {
		if !mayReadCheck(authz, node, c) {
			continue
		}
		if c.ServiceTags == nil {
			c.ServiceTags = []string{}
		}
		out[id] = c
	}
	return filterMap(r, out)
}

func mayReadCheck(authz acl.Authorizer, node string, c *structs.HealthCheck) bool {
	if c.ServiceName != "" {
		return authz.ServiceRead(c.ServiceName)
	}
	return authz.NodeRead(node)
}

func mayWriteCheck(authz acl.Authorizer, node string, c *structs.HealthCheck) bool {
	if c.ServiceName != "" {
		return authz.ServiceWrite(c.ServiceName)
	}
	return authz.NodeWrite(node)
}

// decodeBodyAny reads a JSON object for the definition decoders.
func decodeBodyAny(r *gohttp.Request) (map[string]any, error) {
	buf, err := readBody(r)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(buf, &m); err != nil {
		if len(strings.TrimSpace(string(buf))) == 0 {
			return nil, badRequest("Request decode failed: empty body")
		}
		return nil, badRequest("Request decode failed: %v", err)
	}
	if m == nil {
		return nil, badRequest("Request decode failed: the body must be a JSON object")
	}
	return m, nil
}

// strictKeys tells whether the request asks (?strict, conclave's own) for
// unknown keys to be refused rather than ignored. Consul's API ignores
// them, so clients that send fields of newer versions keep working; the
// CLI's "services register" sends its files with ?strict, because Consul
// refuses a definition file with an unknown key, and so must it.
func strictKeys(r *gohttp.Request) bool {
	_, ok := queryOf(r)["strict"]
	return ok
}

// agentServiceRegister serves PUT /v1/agent/service/register.
func (h *Handler) agentServiceRegister(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	body, err := decodeBodyAny(r)
	if err != nil {
		return nil, err
	}
	def, _, err := config.DecodeService(body, strictKeys(r))
	if err != nil {
		return nil, badRequest("Request decode failed: %v", err)
	}
	if err := config.ValidateService(def); err != nil {
		return nil, badRequest("%v", err)
	}
	authz, err := h.authz(r)
	if err != nil {
		return nil, err
	}
	if !authz.ServiceWrite(def.Name) {
		return nil, structs.ErrPermissionDenied
	}
	// Taking over an ID also needs write on the service it replaces.
	if old := h.backend.AgentLocalService(def.NodeService().ID); old != nil && !authz.ServiceWrite(old.Service) {
		return nil, structs.ErrPermissionDenied
	}
	vals := queryOf(r)
	replace := false
	if _, ok := vals["replace-existing-checks"]; ok {
		v := vals.Get("replace-existing-checks")
		replace = v == "" || v == "true"
	}
	tok := token(r)
	if tok == "" {
		tok = def.Token
	}
	return nil, h.backend.AgentRegisterService(def, replace, tok)
}

// lookupService finds a local service for an update, or answers 404 with
// Consul's message.
func (h *Handler) lookupService(id string) (*structs.NodeService, error) {
	s := h.backend.AgentLocalService(id)
	if s == nil {
		return nil, notFound("Unknown service ID %q. Ensure that the service ID is passed, not the service name.", id)
	}
	return s, nil
}

// agentServiceDeregister serves PUT /v1/agent/service/deregister/<id>.
func (h *Handler) agentServiceDeregister(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/agent/service/deregister/")
	if id == "" {
		return nil, badRequest("Missing service ID")
	}
	authz, err := h.authz(r)
	if err != nil {
		return nil, err
	}
	s, err := h.lookupService(id)
	if err != nil {
		return nil, err
	}
	if !authz.ServiceWrite(s.Service) {
		return nil, structs.ErrPermissionDenied
	}
	return nil, h.backend.AgentDeregisterService(id)
}

// parseEnable reads the required ?enable of the maintenance endpoints.
func parseEnable(r *gohttp.Request) (bool, error) {
	vals := queryOf(r)
	if _, ok := vals["enable"]; !ok {
		return false, badRequest("Missing value for enable")
	}
	raw := vals.Get("enable")
	enable, err := strconv.ParseBool(raw)
	if err != nil {
		return false, badRequest("Invalid value for enable: %q", raw)
	}
	return enable, nil
}

// agentServiceMaintenance serves PUT
// /v1/agent/service/maintenance/<id>?enable=&reason=.
func (h *Handler) agentServiceMaintenance(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/agent/service/maintenance/")
	if id == "" {
		return nil, badRequest("Missing service ID")
	}
	enable, err := parseEnable(r)
	if err != nil {
		return nil, err
	}
	authz, err := h.authz(r)
	if err != nil {
		return nil, err
	}
	s, err := h.lookupService(id)
	if err != nil {
		return nil, err
	}
	if !authz.ServiceWrite(s.Service) {
		return nil, structs.ErrPermissionDenied
	}
	return nil, h.backend.AgentServiceMaintenance(id, enable, queryOf(r).Get("reason"), token(r))
}

// agentNodeMaintenance serves PUT /v1/agent/maintenance?enable=&reason=.
func (h *Handler) agentNodeMaintenance(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	enable, err := parseEnable(r)
	if err != nil {
		return nil, err
	}
	authz, err := h.authz(r)
	if err != nil {
		return nil, err
	}
	node, _ := h.backend.AgentLocalInfo()
	if !authz.NodeWrite(node) {
		return nil, structs.ErrPermissionDenied
	}
	return nil, h.backend.AgentNodeMaintenance(enable, queryOf(r).Get("reason"), token(r))
}

// agentCheckRegister serves PUT /v1/agent/check/register.
func (h *Handler) agentCheckRegister(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	body, err := decodeBodyAny(r)
	if err != nil {
		return nil, err
	}
	def, _, err := config.DecodeCheck(body, strictKeys(r))
	if err != nil {
		return nil, badRequest("Request decode failed: %v", err)
	}
	if def.Name == "" {
		return nil, badRequest("Missing check name")
	}
	if !structs.ValidStatus(def.Status) {
		return nil, badRequest("Bad check status")
	}
	if err := config.ValidateCheck(def); err != nil {
		return nil, badRequest("%v", err)
	}
	authz, err := h.authz(r)
	if err != nil {
		return nil, err
	}
	node, _ := h.backend.AgentLocalInfo()
	target := &structs.HealthCheck{}
	if def.ServiceID != "" {
		s := h.backend.AgentLocalService(def.ServiceID)
		if s == nil {
			return nil, notFound("ServiceID %q does not exist", def.ServiceID)
		}
		target.ServiceName = s.Service
	}
	if !mayWriteCheck(authz, node, target) {
		return nil, structs.ErrPermissionDenied
	}
	tok := token(r)
	if tok == "" {
		tok = def.Token
	}
	return nil, h.backend.AgentRegisterCheck(def, tok)
}

// lookupCheckForUpdate finds a local check and asks the authorizer about
// writing it.
func (h *Handler) lookupCheckForUpdate(r *gohttp.Request, id string) error {
	if id == "" {
		return badRequest("Missing check ID")
	}
	authz, err := h.authz(r)
	if err != nil {
		return err
	}
	c := h.backend.AgentLocalChecks()[id]
	if c == nil {
		return notFound("Unknown check ID %q. Ensure that the check ID is passed, not the check name.", id)
	}
	node, _ := h.backend.AgentLocalInfo()
	if !mayWriteCheck(authz, node, c) {
		return structs.ErrPermissionDenied
	}
	return nil
}

// agentCheckDeregister serves PUT /v1/agent/check/deregister/<id>.
func (h *Handler) agentCheckDeregister(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/agent/check/deregister/")
	if err := h.lookupCheckForUpdate(r, id); err != nil {
		return nil, err
	}
	return nil, h.backend.AgentDeregisterCheck(id)
}

// agentCheckTTL serves PUT /v1/agent/check/{pass,warn,fail}/<id>?note=.
func (h *Handler) agentCheckTTL(status string) handlerFunc {
	prefix := "/v1/agent/check/" + map[string]string{
		structs.HealthPassing: "pass", structs.HealthWarning: "warn", structs.HealthCritical: "fail",
	}[status] + "/"
	return func(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
		id := strings.TrimPrefix(r.URL.Path, prefix)
		if err := h.lookupCheckForUpdate(r, id); err != nil {
			return nil, err
		}
		return nil, h.backend.AgentUpdateTTL(id, status, queryOf(r).Get("note"))
	}
}

// agentCheckUpdate serves PUT /v1/agent/check/update/<id> with a body of
// {"Status": ..., "Output": ...}.
func (h *Handler) agentCheckUpdate(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	var update struct {
		Status string
		Output string
	}
	if err := decodeJSONBody(r, &update, false); err != nil {
		return nil, err
	}
	switch update.Status {
	case structs.HealthPassing, structs.HealthWarning, structs.HealthCritical:
	default:
		return nil, badRequest("Invalid check status: '%s'", update.Status)
	}
	id := strings.TrimPrefix(r.URL.Path, "/v1/agent/check/update/")
	if err := h.lookupCheckForUpdate(r, id); err != nil {
		return nil, err
	}
	return nil, h.backend.AgentUpdateTTL(id, update.Status, update.Output)
}

// agentReload serves PUT /v1/agent/reload.
func (h *Handler) agentReload(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	authz, err := h.authz(r)
	if err != nil {
		return nil, err
	}
	node, _ := h.backend.AgentLocalInfo()
	if !authz.AgentWrite(node) {
		return nil, structs.ErrPermissionDenied
	}
	return nil, h.backend.AgentReload()
}

// agentServiceHealth is one entry of /v1/agent/health/service/...
type agentServiceHealth struct {
	AggregatedStatus string
	Service          *agentService
	Checks           []*structs.HealthCheck
}

// aggregateStatus is Consul's order: maintenance, then critical, then
// warning; passing when nothing is worse (or there are no checks).
func aggregateStatus(checks []*structs.HealthCheck) string {
	status := structs.HealthPassing
	for _, c := range checks {
		switch {
		case c.CheckID == structs.NodeMaintCheckID || strings.HasPrefix(c.CheckID, structs.ServiceMaintCheckIDPre):
			return structs.HealthMaintenance
		case c.Status == structs.HealthCritical:
			status = structs.HealthCritical
		case c.Status == structs.HealthWarning && status == structs.HealthPassing:
			status = structs.HealthWarning
		}
	}
	return status
}

// statusCode is the HTTP status a load balancer reads: 200 passing, 429
// warning, 503 anything worse.
func statusCode(status string) int {
	switch status {
	case structs.HealthPassing:
		return gohttp.StatusOK
	case structs.HealthWarning:
		return gohttp.StatusTooManyRequests
	}
	return gohttp.StatusServiceUnavailable
}

// serviceHealth gathers a local service with its checks and the node's.
func (h *Handler) serviceHealth(s *structs.NodeService, checks map[string]*structs.HealthCheck, dc string) *agentServiceHealth {
	out := &agentServiceHealth{Service: toAgentService(s, dc), Checks: []*structs.HealthCheck{}}
	for _, c := range checks {
		if c.ServiceID == s.ID || c.CheckID == structs.NodeMaintCheckID {
			if c.ServiceTags == nil {
				c.ServiceTags = []string{}
			}
			out.Checks = append(out.Checks, c)
		}
	}
	sort.Slice(out.Checks, func(i, j int) bool { return out.Checks[i].CheckID < out.Checks[j].CheckID })
	out.AggregatedStatus = aggregateStatus(out.Checks)
	return out
}

// writeHealth answers with code: the status alone for ?format=text (or an
// Accept of text/plain), else body as JSON.
func writeHealth(w gohttp.ResponseWriter, r *gohttp.Request, code int, text string, body any) {
	if queryOf(r).Get("format") == "text" || strings.HasPrefix(r.Header.Get("Accept"), "text/plain") {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, text)
		return
	}
	buf, err := json.Marshal(body)
	if err != nil {
		gohttp.Error(w, err.Error(), gohttp.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(buf)
}

// agentHealthServiceByID serves GET /v1/agent/health/service/id/<id>: the
// aggregated health of one local service, as a status code load
// balancers can use.
func (h *Handler) agentHealthServiceByID(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/agent/health/service/id/")
	if id == "" {
		return nil, badRequest("Missing serviceID")
	}
	authz, err := h.authz(r)
	if err != nil {
		return nil, err
	}
	s := h.backend.AgentLocalService(id)
	if s == nil {
		reason := fmt.Sprintf("ServiceId %s not found", id)
		writeHealth(w, r, gohttp.StatusNotFound, reason, &agentServiceHealth{AggregatedStatus: structs.HealthCritical, Checks: []*structs.HealthCheck{}})
		return nil, nil
	}
	if !authz.ServiceRead(s.Service) {
		return nil, structs.ErrPermissionDenied
	}
	_, dc := h.backend.AgentLocalInfo()
	out := h.serviceHealth(s, h.backend.AgentLocalChecks(), dc)
	writeHealth(w, r, statusCode(out.AggregatedStatus), out.AggregatedStatus, out)
	return nil, nil
}

// agentHealthServiceByName serves GET /v1/agent/health/service/name/<name>:
// every local instance of the service, answered with the worst status.
func (h *Handler) agentHealthServiceByName(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	name := strings.TrimPrefix(r.URL.Path, "/v1/agent/health/service/name/")
	if name == "" {
		return nil, badRequest("Missing service Name")
	}
	authz, err := h.authz(r)
	if err != nil {
		return nil, err
	}
	if !authz.ServiceRead(name) {
		return nil, structs.ErrPermissionDenied
	}
	_, dc := h.backend.AgentLocalInfo()
	checks := h.backend.AgentLocalChecks()
	var ids []string
	services := h.backend.AgentLocalServices()
	for id, s := range services {
		if s.Service == name {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	out := []*agentServiceHealth{}
	code, text := gohttp.StatusNotFound, fmt.Sprintf("ServiceName %s Not Found", name)
	for _, id := range ids {
		e := h.serviceHealth(services[id], checks, dc)
		out = append(out, e)
		if c := statusCode(e.AggregatedStatus); code == gohttp.StatusNotFound || c > code {
			code, text = c, e.AggregatedStatus
		}
	}
	writeHealth(w, r, code, text, out)
	return nil, nil
}
