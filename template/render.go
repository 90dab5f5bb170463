package template

import (
	"bytes"
	"fmt"
	"os"
	"text/template"
)

// RenderInput is one template and the data it may read.
type RenderInput struct {
	// Name names the template in errors and is what executeTemplate
	// resolves "define"d templates against.
	Name string
	// Contents is the template text.
	Contents string
	// LeftDelim and RightDelim replace "{{" and "}}" when non-empty
	// (consul-template's left_delimiter and right_delimiter).
	LeftDelim, RightDelim string
	// ErrMissingKey makes indexing a map with a missing key an error
	// (error_on_missing_key); otherwise it yields the zero value.
	ErrMissingKey bool
	// Recaller holds the data fetched so far; nil means none yet.
	Recaller Recaller
	// Env is the whole environment env, mustEnv and envOrDefault read, as
	// "KEY=value" lines; nil means os.Environ().
	Env []string
}

// RenderResult is what one pass produced.
type RenderResult struct {
	// Output is the rendered text. It is only meant to be written when
	// Complete: before that, missing data rendered as zero values.
	Output []byte
	// Used lists every dependency the template asked for, once each (by
	// String), in the order first asked.
	Used []Dependency
	// Missing lists those of Used that the Recaller had no value for.
	Missing []Dependency
	// Complete is len(Missing) == 0.
	Complete bool
}

// Render executes in.Contents once against the data in in.Recaller. It
// never fetches and never blocks: a data function whose dependency has no
// value yet records it as missing and returns its zero value, so a single
// pass over an empty Recaller tells the engine every dependency the
// template needs (every branch guarded by missing data is then taken with
// zero values, as consul-template does).
func Render(in *RenderInput) (*RenderResult, error) {
	if in == nil {
		in = &RenderInput{}
	}
	env := in.Env
	if env == nil {
		env = os.Environ()
	}
	r := &renderer{recall: in.Recaller, env: env}
	if r.recall == nil {
		r.recall = emptyRecaller{}
	}

	tmpl := template.New(in.Name).Delims(in.LeftDelim, in.RightDelim)
	tmpl.Funcs(r.funcMap(tmpl))
	if in.ErrMissingKey {
		tmpl.Option("missingkey=error")
	} else {
		tmpl.Option("missingkey=zero")
	}
	if _, err := tmpl.Parse(in.Contents); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, nil); err != nil {
		return nil, fmt.Errorf("execute: %w", err)
	}
	return &RenderResult{
		Output:   out.Bytes(),
		Used:     r.used.list,
		Missing:  r.missing.list,
		Complete: len(r.missing.list) == 0,
	}, nil
}

// renderer is the state of one Render call: the data functions read
// recall and note what they asked for in used and missing.
type renderer struct {
	recall  Recaller
	env     []string
	used    depSet
	missing depSet
	scratch Scratch
}

// lookup records d as used and returns its value, or records it as
// missing and reports false.
func (r *renderer) lookup(d Dependency) (any, bool) {
	r.used.add(d)
	v, ok := r.recall.Recall(d)
	if !ok {
		r.missing.add(d)
	}
	return v, ok
}

// depSet is an insertion-ordered set of dependencies keyed by String.
type depSet struct {
	seen map[string]struct{}
	list []Dependency
}

func (s *depSet) add(d Dependency) {
	k := d.String()
	if _, ok := s.seen[k]; ok {
		return
	}
	if s.seen == nil {
		s.seen = map[string]struct{}{}
	}
	s.seen[k] = struct{}{}
	s.list = append(s.list, d)
}

type emptyRecaller struct{}

func (emptyRecaller) Recall(Dependency) (any, bool) { return nil, false }
