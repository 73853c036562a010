package catalog

import (
	"errors"
	htmltemplate "html/template"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/heraldhq/herald/locale"
)

// plainFuncs are the template functions without bounds, as they were
// before templates were rewritten.
var plainFuncs = template.FuncMap{
	"quote": quote, "count": count, "join": join, "pairs": pairs, "rate": Rate,
	"counted":  func(n any, forms ...string) string { return counted(english, n, forms...) },
	"date":     func(v any) string { return date(english, time.UTC, v) },
	"category": func(v any) string { return locale.Category(locale.Default, text(v)) },
}

// guarded renders src as Herald does, bounded.
func guarded(html bool, src string, data map[string]any) (string, error) {
	var t executor
	var err error
	if html {
		t, err = guardHTML("t", src)
	} else {
		t, err = guardText("t", src)
	}
	if err != nil {
		return "", err
	}
	r := &Renderer{typ: EventType{Key: "deploy.done"}}
	return r.exec(newBudget(), "text", t, r.vars(data, Recipient{ID: "u1", Name: "Ada"}, "https://example.com/x?a=1&b=2"))
}

// plain renders src as text/template or html/template alone would.
func plain(html bool, src string, data map[string]any) (string, error) {
	vars := map[string]any{"data": exactNumbers(data), "user": Recipient{ID: "u1", Name: "Ada"}.vars(),
		"link": "https://example.com/x?a=1&b=2", "type": "deploy.done"}
	var b strings.Builder
	if html {
		t, err := htmltemplate.New("t").Funcs(htmltemplate.FuncMap(plainFuncs)).Parse(src)
		if err != nil {
			return "", err
		}
		err = t.Execute(&b, vars)
		return strings.ReplaceAll(b.String(), noValue, ""), err
	}
	t, err := template.New("t").Funcs(plainFuncs).Parse(src)
	if err != nil {
		return "", err
	}
	err = t.Execute(&b, vars)
	return strings.ReplaceAll(b.String(), noValue, ""), err
}

// The rewrite changes nothing a template within its bounds writes.
func TestGuardedTemplatesRenderAsBefore(t *testing.T) {
	t.Parallel()
	data := map[string]any{
		"s": `<b>"Tom" & 'Jerry'</b>`, "n": 1234567, "f": 0.25, "l": []any{"a", 2, map[string]any{"k": "v"}},
		"m": map[string]any{"z": 1, "a": "x", "e": ""}, "reply": "hi\nthere", "empty": []any{},
	}
	templates := []string{
		`{{.data.s}} {{.data.n}} {{.data.missing}} {{.user.name}} {{.link}} {{.type}}`,
		`{{quote .data.reply}}|{{count .data.n}}|{{counted 1 "reply" "replies"}}|{{join ", " .data.s .data.missing .data.n}}|{{rate 1 3}}`,
		`{{range $k, $v := .data.m}}{{$k}}={{$v}};{{end}}{{range pairs .data.m}}{{.Key}}:{{.Value}} {{end}}`,
		`{{range $i, $e := .data.l}}{{if eq $i 1}}{{continue}}{{end}}{{$i}}:{{$e}} {{if eq $i 2}}{{break}}{{end}}{{end}}`,
		`{{range .data.empty}}x{{else}}none{{end}}{{range .data.nothing}}x{{else}}nil{{end}}{{range 3}}{{.}}{{end}}{{range -2}}x{{end}}`,
		`{{with .data.s}}{{printf "%q %5.1f" . 3.14159}}{{else with .data.n}}{{.}}{{end}}{{printf "%v" .data.l}}`,
		`{{$x := print "a" 1 2 "b"}}{{$x = printf "%s%s" $x $x}}{{$x}}{{println "z" .data.n}}{{len $x}}`,
		`{{html .data.s}} {{js .data.s}} {{urlquery .data.s .link}} {{.data.s | html | len}} {{index .data.l 2}} {{slice .data.s 1 3}}`,
		`{{if and .data.s (not .data.missing) (or .data.missing 0 "x")}}yes{{end}}{{if lt 1 2}}<{{end}}`,
		`{{(printf "%s" .data.s) | printf "%.3s"}} {{printf "%s" (quote (join "-" "a" "b"))}} {{$.data.n}}`,
		`{{$ = .data}}{{$.s}}{{range $ := .data.l}}{{$}}{{end}}`,
		`{{/* a comment */}}{{- .data.n -}} {{ "\u00e9" }}`,
	}
	htmlOnly := []string{
		`<a href="{{.link}}" title="{{.data.s}}">{{.data.s}}</a><script>var x = {{.data.l}}, s = "{{.data.s}}";</script>`,
		`<p>{{.data.s | html}}</p><a href="/?q={{.data.s | urlquery}}">x</a>{{html .data.s .data.n}}`,
		`<script>var a = [{{range .data.l}}{{.}}, {{end}}]; {{range 2}}{{end}}</script><style>p { color: {{.data.f}} }</style>`,
		`{{$y := html .data.s}}{{$y}}<p title="{{urlquery .data.s}}">{{printf "%s" (html .data.s)}}</p>`,
	}
	for _, src := range append(templates, htmlOnly...) {
		for _, html := range []bool{false, true} {
			if !html && strings.HasPrefix(src, "<") {
				continue
			}
			want, werr := plain(html, src, data)
			got, gerr := guarded(html, src, data)
			if (werr == nil) != (gerr == nil) || got != want {
				t.Errorf("html=%v %s:\n got %q, %v\nwant %q, %v", html, src, got, gerr, want, werr)
			}
		}
	}
}

// A template cannot reach the budget, nor pass another in its place.
func TestTemplatesCannotReachTheBudget(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		`{{range $k, $v := $}}{{$k}} {{end}}`,
		`{{index $ "\x00herald-budget"}}`,
		`{{printf "%v" $}}`,
	} {
		got, err := guarded(false, src, map[string]any{"a": 1})
		if err != nil || strings.Contains(got, "herald-budget") || strings.Contains(got, "deadline") {
			t.Errorf("%s = %q, %v", src, got, err)
		}
	}
	// The functions the rewrite inserts are not the template's to call.
	for _, src := range []string{`{{heraldTick 1}}`, `{{heraldRange 5 .}}`, `{{heraldBudget $}}`, `{{print heraldTick}}`, `{{heraldHTML "x"}}`} {
		for _, html := range []bool{false, true} {
			if _, err := guarded(html, src, nil); err == nil || !strings.Contains(err.Error(), "not defined") {
				t.Errorf("html=%v %s: %v", html, src, err)
			}
		}
	}
	for _, src := range []string{`{{printf $.data "x"}}`, `{{quote}}`} {
		if _, err := guarded(false, src, nil); err == nil {
			t.Errorf("%s rendered", src)
		} else if strings.Contains(err.Error(), budgetVar) {
			t.Errorf("%s: the error names the budget's variable: %v", src, err)
		}
	}
	// Only the budget's own variable reaches a function as its budget.
	if _, err := guarded(false, `{{quote $ "x"}}`, nil); err == nil {
		t.Error("quote took two arguments")
	}
	var bound *BoundError
	if _, err := guarded(false, `{{range 20000}}{{end}}`, nil); !errors.As(err, &bound) {
		t.Errorf("range 20000: %v", err)
	}
}
