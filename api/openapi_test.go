package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// httpMethods are the keys of an OpenAPI path item that name operations.
var httpMethods = map[string]string{
	"get": http.MethodGet, "put": http.MethodPut, "post": http.MethodPost, "delete": http.MethodDelete,
	"options": http.MethodOptions, "head": http.MethodHead, "patch": http.MethodPatch, "trace": http.MethodTrace,
}

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// openAPIPath turns Echo's /users/:id into OpenAPI's /users/{id}.
func openAPIPath(p string) string { return echoParam.ReplaceAllString(p, "{$1}") }

type operation struct {
	method, path string
	item, op     map[string]any
}

func loadOpenAPI(t *testing.T) (map[string]any, []operation) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if v := doc["openapi"]; v != "3.1.0" {
		t.Fatalf("openapi = %v, want 3.1.0", v)
	}
	paths, ok := doc["paths"].(map[string]any)
	if !ok || len(paths) == 0 {
		t.Fatal("openapi.json has no paths")
	}
	var ops []operation
	for path, raw := range paths {
		item, ok := raw.(map[string]any)
		if !ok {
			t.Fatalf("path %s is not an object", path)
		}
		for key, rawOp := range item {
			method, isOp := httpMethods[key]
			if !isOp {
				continue
			}
			op, ok := rawOp.(map[string]any)
			if !ok {
				t.Fatalf("%s %s is not an object", method, path)
			}
			ops = append(ops, operation{method: method, path: path, item: item, op: op})
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].path != ops[j].path {
			return ops[i].path < ops[j].path
		}
		return ops[i].method < ops[j].method
	})
	return doc, ops
}

// TestOpenAPIMatchesRoutes checks both ways that the document describes
// exactly the routes the server registers.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	_, ops := loadOpenAPI(t)
	e := New(Options{}) // registering routes touches neither the pool nor Temporal

	registered := map[string]bool{}
	for _, r := range e.Routes() {
		if r.Method == echo.RouteNotFound {
			continue // the catch-alls Echo adds for group middleware
		}
		registered[r.Method+" "+openAPIPath(r.Path)] = true
	}
	documented := map[string]bool{}
	for _, op := range ops {
		documented[op.method+" "+op.path] = true
	}
	for _, r := range sortedKeys(registered) {
		if !documented[r] {
			t.Errorf("route %s is registered but not in openapi.json", r)
		}
	}
	for _, r := range sortedKeys(documented) {
		if !registered[r] {
			t.Errorf("%s is in openapi.json but not a registered route", r)
		}
	}
}

// TestOpenAPIDocument checks the document's own consistency.
func TestOpenAPIDocument(t *testing.T) {
	doc, ops := loadOpenAPI(t)
	ids := map[string]string{}
	for _, op := range ops {
		name := op.method + " " + op.path
		if resp, _ := op.op["responses"].(map[string]any); len(resp) == 0 {
			t.Errorf("%s has no responses", name)
		}
		if id, _ := op.op["operationId"].(string); id != "" {
			if other, dup := ids[id]; dup {
				t.Errorf("operationId %s is used by %s and %s", id, other, name)
			}
			ids[id] = name
		}

		// Every {param} of the path is declared as a path parameter.
		declared := map[string]bool{}
		for _, list := range []any{op.item["parameters"], op.op["parameters"]} {
			params, _ := list.([]any)
			for _, p := range params {
				pm, _ := p.(map[string]any)
				if ref, ok := pm["$ref"].(string); ok {
					resolved, err := resolveRef(doc, ref)
					if err != nil {
						continue // reported by the $ref check below
					}
					pm, _ = resolved.(map[string]any)
				}
				if pm["in"] == "path" {
					declared[pm["name"].(string)] = true
				}
			}
		}
		for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(op.path, -1) {
			if !declared[m[1]] {
				t.Errorf("%s does not declare path parameter %s", name, m[1])
			}
		}

		// /v1/* takes the API key; nothing else does.
		sec, hasSec := op.op["security"].([]any)
		wantAuth := strings.HasPrefix(op.path, "/v1/")
		gotAuth := false
		for _, s := range sec {
			if sm, _ := s.(map[string]any); sm != nil {
				if _, ok := sm["bearerAuth"]; ok {
					gotAuth = true
				}
			}
		}
		if !hasSec || gotAuth != wantAuth {
			t.Errorf("%s: security %v, want bearerAuth %v", name, op.op["security"], wantAuth)
		}
	}

	var refs []string
	collectRefs(doc, &refs)
	if len(refs) == 0 {
		t.Error("openapi.json has no $ref at all")
	}
	for _, ref := range refs {
		if _, err := resolveRef(doc, ref); err != nil {
			t.Errorf("$ref %s: %v", ref, err)
		}
	}
}

// TestOpenAPIServed checks GET /openapi.json serves the embedded document;
// the handler touches neither the pool nor Temporal.
func TestOpenAPIServed(t *testing.T) {
	e := New(Options{})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi.json: status %d", rec.Code)
	}
	if ct := rec.Header().Get(echo.HeaderContentType); !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		t.Errorf("Content-Type %q", ct)
	}
	if rec.Body.String() != string(OpenAPI) {
		t.Error("GET /openapi.json does not serve the embedded document")
	}
}

func collectRefs(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if s, ok := child.(string); ok && k == "$ref" {
				*out = append(*out, s)
				continue
			}
			collectRefs(child, out)
		}
	case []any:
		for _, child := range v {
			collectRefs(child, out)
		}
	}
}

// resolveRef follows a local JSON Pointer reference such as
// #/components/schemas/User.
func resolveRef(doc map[string]any, ref string) (any, error) {
	ptr, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, errRef("only local references (#/...) are used in this document")
	}
	var cur any = doc
	for _, tok := range strings.Split(ptr, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, errRef("does not resolve")
		}
		if cur, ok = m[tok]; !ok {
			return nil, errRef("does not resolve")
		}
	}
	return cur, nil
}

type errRef string

func (e errRef) Error() string { return string(e) }

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
