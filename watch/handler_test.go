package watch_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"conclave/internal/testutil"
	"conclave/watch"
)

func TestScriptHandler(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stdin, index := filepath.Join(dir, "stdin"), filepath.Join(dir, "index")
	fire := &watch.Fire{Index: 42, JSON: []byte(`{"Key":"k"}` + "\n")}

	t.Run("stdin and CONSUL_INDEX", func(t *testing.T) {
		t.Parallel()
		var out bytes.Buffer
		h := &watch.ScriptHandler{Args: []string{"/bin/sh", "-c", `cat > "$0"; printf %s "$CONSUL_INDEX" > "$1"; echo done`, stdin, index}, Stdout: &out}
		if err := h.Handle(context.Background(), fire); err != nil {
			t.Fatalf("Handle() = %v", err)
		}
		if got, _ := os.ReadFile(stdin); string(got) != string(fire.JSON) {
			t.Errorf("handler stdin = %q, want %q", got, fire.JSON)
		}
		if got, _ := os.ReadFile(index); string(got) != "42" {
			t.Errorf("handler CONSUL_INDEX = %q, want 42", got)
		}
		if out.String() != "done\n" {
			t.Errorf("handler stdout = %q, want %q", out.String(), "done\n")
		}
	})

	t.Run("shell string", func(t *testing.T) {
		t.Parallel()
		var out bytes.Buffer
		h := &watch.ScriptHandler{Script: `read line; echo "got $line at $CONSUL_INDEX"`, Shell: "/bin/sh", Stdout: &out}
		if err := h.Handle(context.Background(), fire); err != nil {
			t.Fatalf("Handle() = %v", err)
		}
		if want := `got {"Key":"k"} at 42` + "\n"; out.String() != want {
			t.Errorf("handler stdout = %q, want %q", out.String(), want)
		}
	})

	t.Run("does not read stdin", func(t *testing.T) {
		t.Parallel()
		// Far more than a pipe holds: the write side sees EPIPE.
		big := &watch.Fire{Index: 1, JSON: bytes.Repeat([]byte("x"), 4<<20)}
		h := &watch.ScriptHandler{Args: []string{"true"}}
		if err := h.Handle(context.Background(), big); err != nil {
			t.Errorf("Handle(true, 4 MB of stdin) = %v, want nil: a handler need not read its input", err)
		}
	})

	t.Run("exit status", func(t *testing.T) {
		t.Parallel()
		h := &watch.ScriptHandler{Script: "exit 3", Shell: "/bin/sh"}
		var ee *watch.ExitError
		if err := h.Handle(context.Background(), fire); !errors.As(err, &ee) || ee.Code != 3 {
			t.Errorf("Handle(exit 3) = %v, want *watch.ExitError with code 3", err)
		}
	})

	t.Run("cannot start", func(t *testing.T) {
		t.Parallel()
		h := &watch.ScriptHandler{Args: []string{filepath.Join(dir, "no-such-program")}}
		var ee *watch.ExitError
		if err := h.Handle(context.Background(), fire); err == nil || errors.As(err, &ee) {
			t.Errorf("Handle(missing program) = %v, want a start error", err)
		}
	})

	t.Run("stopped with the watch", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		started := filepath.Join(dir, "started")
		h := &watch.ScriptHandler{Args: []string{"/bin/sh", "-c", `touch "$0"; exec sleep 60`, started}}
		done := make(chan error, 1)
		go func() { done <- h.Handle(ctx, fire) }()
		testutil.Retry(t, 30*time.Second, func() error {
			_, err := os.Stat(started)
			return err
		})
		cancel()
		var ee *watch.ExitError
		if err := <-done; !errors.As(err, &ee) || ee.Code != 128+15 {
			t.Errorf("Handle() after cancel = %v, want the handler TERMinated (143)", err)
		}
	})
}

func TestHTTPHandler(t *testing.T) {
	t.Parallel()
	type request struct {
		method, ctype, index, extra, body string
	}
	got := make(chan request, 1)
	var status atomic.Int32
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- request{r.Method, r.Header.Get("Content-Type"), r.Header.Get("X-Consul-Index"), r.Header.Get("X-Extra"), string(body)}
		w.WriteHeader(int(status.Load()))
	}))
	t.Cleanup(srv.Close)
	plan, err := watch.Parse(map[string]any{"type": "services", "handler_type": "http", "http_handler_config": map[string]any{
		"path": srv.URL + "/hook", "method": "PUT", "header": map[string]any{"X-Extra": []any{"yes"}}}})
	if err != nil {
		t.Fatal(err)
	}
	h := watch.PlanHandler(plan, nil)
	fire := &watch.Fire{Index: 9, JSON: []byte(`{"web":[]}` + "\n")}
	if err := h.Handle(context.Background(), fire); err != nil {
		t.Fatalf("Handle() = %v", err)
	}
	want := request{"PUT", "application/json", "9", "yes", string(fire.JSON)}
	if r := <-got; r != want {
		t.Errorf("HTTP handler sent %+v, want %+v", r, want)
	}

	status.Store(http.StatusBadGateway)
	if err := h.Handle(context.Background(), fire); err == nil || !strings.Contains(err.Error(), "502") {
		t.Errorf("Handle() against a 502 = %v, want a failure naming the status", err)
	}
	<-got
}

func TestPrintHandler(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := (watch.PrintHandler{W: &out}).Handle(context.Background(), &watch.Fire{Data: map[string][]string{"web": {"a"}}}); err != nil {
		t.Fatal(err)
	}
	if want := "{\n    \"web\": [\n        \"a\"\n    ]\n}\n"; out.String() != want {
		t.Errorf("printed %q, want %q (indented four spaces, as consul watch)", out.String(), want)
	}
}
