package catalog

import (
	htmltemplate "html/template"
	"testing"
	"text/template"
	"time"
)

// fuzzTime bounds one parse and render: the render's own bound is 100 ms,
// and the fuzzing machine may be loaded.
const fuzzTime = 5 * time.Second

// FuzzTemplate parses a tenant's template (text or HTML) and renders an
// email with event data under the bounds. Properties: nothing panics; a
// render ends within fuzzTime, and each part it makes is within
// MaxPartBytes; a template text/template or html/template cannot parse is
// refused; a render within the bounds writes exactly what the template
// alone, unbounded, writes.
func FuzzTemplate(f *testing.F) {
	for _, t := range BuiltIn().All() {
		f.Add(t.Templates.Text, []byte(`{"issue_key": "PROJ-1", "title": "Fix", "sent": 1200, "replies": 3, "fields": {"a": "b"}}`), false)
		if t.Templates.HTML != "" {
			f.Add(t.Templates.HTML, []byte(`{}`), true)
		}
	}
	f.Add(`{{range 3000}}{{range 3000}}{{printf "%09d" .}}{{end}}{{end}}`, []byte(`{}`), false)
	f.Add(`{{range .data.l}}{{range $.data.l}}{{$.user.name}}{{end}}{{end}}`, []byte(`{"l": [1,2,3,4,5,6,7,8,9,10]}`), false)
	f.Add(`{{$x := "ab"}}{{$x = print $x $x}}{{$x = print $x $x}}{{len $x}}`, []byte(`{}`), false)
	f.Add(`<a href="{{.link}}" title="{{.data.s}}">{{.data.s | html}}</a><script>var l = {{.data.l}};</script>`, []byte(`{"s": "<b>&</b>", "l": [1, "x"]}`), true)
	f.Add(`{{define "a"}}x{{end}}{{template "a"}}`, []byte(`{}`), false)
	f.Add(`{{with $x := .data.m}}{{range $k, $v := $x}}{{$k}}={{quote $v}}{{break}}{{end}}{{else}}none{{end}}`, []byte(`{"m": {"a": "1\n2"}}`), false)
	f.Fuzz(func(t *testing.T, src string, raw []byte, html bool) {
		typ := EventType{Key: "fuzz.type", Title: "Fuzz", Templates: Templates{Text: src}}
		if html {
			typ.Templates = Templates{Text: "x", HTML: src}
		}
		data, err := DecodeData(raw)
		if err != nil {
			data = map[string]any{"raw": string(raw)}
		}
		start := time.Now()
		r, err := NewRenderer(typ)
		if err != nil {
			return
		}
		_ = r.Check()
		c, err := r.Email(data, Recipient{ID: "u1", Name: "Ada Lovelace", Email: "ada@example.com"}, "https://example.com/x?a=1")
		if took := time.Since(start); took > fuzzTime {
			t.Fatalf("rendering took %v", took)
		}
		for part, s := range map[string]string{"subject": c.Subject, "body": c.Body, "text": c.Text, "html": c.HTML} {
			if err == nil && len(s) > MaxPartBytes {
				t.Fatalf("the %s is %d bytes", part, len(s))
			}
		}
		if parsesAlone(src, html) != nil {
			t.Fatalf("a template that does not parse was accepted: %q", src)
		}
		got, err := guarded(html, src, data)
		if err != nil {
			return // a bound, or an error of the template's own
		}
		want, err := plain(html, src, data)
		if err != nil || got != want {
			t.Fatalf("%q renders\n %q bounded, but\n %q, %v unbounded", src, got, want, err)
		}
	})
}

// parsesAlone parses src as text/template or html/template would, with
// the same functions. (It does not execute: unbounded, that could run
// for ever.)
func parsesAlone(src string, html bool) error {
	if html {
		_, err := htmltemplate.New("t").Funcs(htmltemplate.FuncMap(plainFuncs)).Parse(src)
		return err
	}
	_, err := template.New("t").Funcs(plainFuncs).Parse(src)
	return err
}
