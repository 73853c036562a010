package catalog

import (
	"fmt"
	htmltemplate "html/template"
	"strconv"
	"strings"
	"text/template"

	"github.com/heraldhq/herald/locale"
)

// Template functions. Each takes any data value: a number arrives as
// json.Number (see DecodeData), a missing key as nil. Every one that
// builds text, text/template's own printf, print, println, html, js and
// urlquery included, is guarded: the rewrite (guard.go) passes it the
// render's budget, which it spends on an estimate of its work before it
// runs, and its result is refused past MaxPartBytes.
//
//	{{quote .data.reply}}: "> " before every line
//	{{count .data.sent}}: 1,000,000
//	{{counted .data.replies "reply" "replies"}}: 3 replies; nothing when missing
//	{{join " at " .data.persona .data.company}}: the known parts only
//	{{range pairs .data.fields}}{{.Key}}: {{.Value}}{{end}}: an object's entries in key order
//	{{rate .data.replies .data.sent}}: 1.5%; nothing when either is missing
//	{{date .data.due}}: March 5, 2026 (a date), March 5, 2026, 14:30 CET (an
//	  RFC 3339 instant, in the reader's zone); other text as it is
//	{{category "issues"}}: the category's name in the reader's language
//
// Numbers, plurals and dates follow the reader's language (see package
// locale): counted 5 "neue Nachricht" "neue Nachrichten" is "5 neue
// Nachrichten", count 1000000 in German "1.000.000".
var guardedFuncs = map[string]any{
	"quote": func(b any, v any) (string, error) {
		return guard(b, 4*cost(v)+2, func() string { return quote(v) })
	},
	"count": func(b any, v any) (string, error) {
		return guardIn(b, 3*cost(v)+2, func(f *budget) string { return countIn(f.format, v) })
	},
	"counted": func(b any, n any, forms ...string) (string, error) {
		c := 3*cost(n) + 2
		for _, f := range forms {
			c += len(f) + 1
		}
		return guardIn(b, c, func(f *budget) string { return counted(f.format, n, forms...) })
	},
	"join": func(b any, sep string, values ...any) (string, error) {
		n, _, _, _ := sizes(values)
		return guard(b, 2*n+len(sep)*len(values), func() string { return join(sep, values...) })
	},
	"pairs": func(bv any, v any) ([]Pair, error) {
		b, err := budgetOf(bv)
		if err != nil {
			return nil, err
		}
		if err := b.spend(2 * cost(v)); err != nil {
			return nil, err
		}
		return pairs(v), nil
	},
	"rate": func(b any, part, whole any) (string, error) {
		return guardIn(b, 2*(cost(part)+cost(whole))+16, func(f *budget) string { return RateIn(f.format, part, whole) })
	},
	"date": func(b any, v any) (string, error) {
		return guardIn(b, cost(v)+64, func(f *budget) string { return date(f.format, f.zone, v) })
	},
	"category": func(b any, key any) (string, error) {
		return guardIn(b, cost(key)+64, func(f *budget) string { return locale.Category(f.format.Tag, strings.TrimSpace(text(key))) })
	},
	"printf": func(b any, format string, args ...any) (string, error) {
		return guard(b, printfCost(format, args), func() string { return fmt.Sprintf(format, args...) })
	},
	"print": func(b any, args ...any) (string, error) {
		return guard(b, printCost(args), func() string { return fmt.Sprint(args...) })
	},
	"println": func(b any, args ...any) (string, error) {
		return guard(b, printCost(args)+len(args)+1, func() string { return fmt.Sprintln(args...) })
	},
	// Escaping writes at most 6 bytes a byte (\u003C), after the
	// arguments are printed as print prints them.
	"html": func(b any, args ...any) (string, error) {
		return guard(b, 7*printCost(args), func() string { return template.HTMLEscaper(args...) })
	},
	"js": func(b any, args ...any) (string, error) {
		return guard(b, 7*printCost(args), func() string { return template.JSEscaper(args...) })
	},
	"urlquery": func(b any, args ...any) (string, error) {
		return guard(b, 7*printCost(args), func() string { return template.URLQueryEscaper(args...) })
	},
}

// injectedFuncs are the functions the rewrite inserts.
var injectedFuncs = map[string]any{fnBudget: takeBudget, fnRange: rangeItems, fnTick: tick}

// textFuncs are the functions of text templates.
var textFuncs = func() template.FuncMap {
	m := template.FuncMap{}
	for k, v := range guardedFuncs {
		m[k] = v
	}
	for k, v := range injectedFuncs {
		m[k] = v
	}
	return m
}()

// htmlFuncs are the functions of HTML templates: html and urlquery where
// html/template calls them as its escapers, bounded without a budget, and
// their guarded versions everywhere else.
var htmlFuncs = func() htmltemplate.FuncMap {
	m := htmltemplate.FuncMap{}
	for k, v := range textFuncs {
		m[k] = v
	}
	for name, renamed := range htmlRenames {
		m[renamed] = guardedFuncs[name]
	}
	m["html"] = func(args ...any) (string, error) {
		return unbudgeted(7*printCost(args), func() string { return template.HTMLEscaper(args...) })
	}
	m["urlquery"] = func(args ...any) (string, error) {
		return unbudgeted(7*printCost(args), func() string { return template.URLQueryEscaper(args...) })
	}
	return m
}()

// guardIn is guard for functions that write for the reader (their
// language, their time zone).
func guardIn(bv any, cost int, f func(*budget) string) (string, error) {
	b, err := budgetOf(bv)
	if err != nil {
		return "", err
	}
	return guard(b, cost, func() string { return f(b) })
}

// guard runs f once the budget allows its estimated cost, and bounds its
// result.
func guard(bv any, cost int, f func() string) (string, error) {
	b, err := budgetOf(bv)
	if err != nil {
		return "", err
	}
	if err := b.spend(cost); err != nil {
		return "", err
	}
	return b.result(f())
}

// unbudgeted bounds a call that has no budget to spend: the escapers
// html/template calls itself, each followed by a write.
func unbudgeted(cost int, f func() string) (string, error) {
	b := &budget{part: "html"}
	if cost > MaxWork {
		return "", b.exceeded(BoundWork, "an escaper would process more than %d MiB", MaxWork>>20)
	}
	return b.result(f())
}

func cost(v any) int {
	n, _ := size(v)
	return n
}

// printCost bounds what fmt.Sprint writes for args.
func printCost(args []any) int {
	n, items, _, _ := sizes(args)
	return n + (items+1)*perItem
}

// printfCost bounds what fmt.Sprintf writes for format and args. A verb
// writes at most its value's text escaped (%q, %x: at most 4 bytes a byte)
// and padded to its width, which pads every element of a list or object;
// fmt refuses widths and precisions over 1e6. With explicit argument
// indexes ([n]) any verb may print any argument.
func printfCost(format string, args []any) int {
	width := widest(format)
	if strings.Contains(format, "*") {
		for _, a := range args {
			if n, ok := a.(int); ok {
				width = max(width, min(max(n, -n), 1e6))
			}
		}
	}
	verbs := strings.Count(format, "%")
	n, items, largest, most := sizes(args)
	if strings.Contains(format, "[") {
		n, items = verbs*largest, verbs*most
	}
	return len(format) + 4*n + (verbs+items)*(width+perItem)
}

// widest is the largest number written in format (a width or precision).
func widest(format string) int {
	w, run := 0, 0
	for i := 0; i <= len(format); i++ {
		if i < len(format) && format[i] >= '0' && format[i] <= '9' {
			run++
			continue
		}
		if run > 0 {
			n, err := strconv.Atoi(format[i-run : i])
			if err != nil || n > 1e6 {
				n = 1e6
			}
			w, run = max(w, n), 0
		}
	}
	return w
}
