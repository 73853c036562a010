package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/heraldhq/herald/api"
)

// answered records the status of every answer the shared API gives the
// tests, by method and documented route, so the run can check each against
// the statuses the OpenAPI document lists for that route: a client written
// from the document must never meet a status it does not list.
var answered = &statusRecorder{seen: map[string]map[int]bool{}}

type statusRecorder struct {
	mu   sync.Mutex
	seen map[string]map[int]bool // "GET /v1/users/u1" -> statuses
}

func (r *statusRecorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, req)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		key := req.Method + " " + req.URL.EscapedPath()
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.seen[key] == nil {
			r.seen[key] = map[int]bool{}
		}
		r.seen[key][sw.status] = true
	})
}

// statusWriter notes the status written; Unwrap lets the server's
// ResponseController (flushes, deadlines, full duplex) reach the real one.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// documentedRoute is one operation of the OpenAPI document.
type documentedRoute struct {
	method, path string
	pattern      *regexp.Regexp
	literals     int // segments without a parameter: the router prefers them
	statuses     map[string]bool
}

func documentedRoutes() ([]documentedRoute, error) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		return nil, err
	}
	var out []documentedRoute
	for path, item := range doc.Paths {
		var re strings.Builder
		literals := 0
		for _, seg := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
			re.WriteString("/")
			if strings.HasPrefix(seg, "{") {
				re.WriteString("[^/]+")
				continue
			}
			literals++
			re.WriteString(regexp.QuoteMeta(seg))
		}
		pattern := regexp.MustCompile("^" + re.String() + "$")
		for method, raw := range item {
			var op struct {
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if json.Unmarshal(raw, &op) != nil || op.Responses == nil {
				continue // parameters and the like
			}
			r := documentedRoute{method: strings.ToUpper(method), path: path, pattern: pattern, literals: literals, statuses: map[string]bool{}}
			for code := range op.Responses {
				r.statuses[code] = true
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// route is the documented route a request went to: of those matching, the
// one with the most literal segments, as the router chooses.
func route(routes []documentedRoute, method, path string) (documentedRoute, bool) {
	var best documentedRoute
	found := false
	for _, r := range routes {
		if r.method == method && r.pattern.MatchString(path) && (!found || r.literals > best.literals) {
			best, found = r, true
		}
	}
	return best, found
}

// lists reports whether a route's documented responses cover a status,
// exactly or by a range such as 4XX.
func (r documentedRoute) lists(status int) bool {
	code := strconv.Itoa(status)
	return r.statuses[code] || r.statuses[code[:1]+"XX"] || r.statuses["default"]
}

// undocumented lists each answer whose status the document does not list
// for its route. Paths that match no documented route (a test's probe of
// an unknown path) are the router's 404s, not a route's.
func (r *statusRecorder) undocumented() ([]string, error) {
	routes, err := documentedRoutes()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	example := map[string]string{} // "PUT /v1/users/{id} answered 418" -> a path
	for key, statuses := range r.seen {
		method, path, _ := strings.Cut(key, " ")
		rt, ok := route(routes, method, path)
		if !ok {
			continue
		}
		for status := range statuses {
			if !rt.lists(status) {
				example[fmt.Sprintf("%s %s answered %d", rt.method, rt.path, status)] = path
			}
		}
	}
	out := make([]string, 0, len(example))
	for f, path := range example {
		out = append(out, fmt.Sprintf("%s (e.g. for %s), which openapi.json does not list for the route", f, path))
	}
	sort.Strings(out)
	return out, nil
}
