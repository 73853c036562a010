// Package rules holds Herald's threshold and transition rules: input events
// (campaign stats, connection status, lead scores, usage) feed them, and a
// rule that fires emits an event type. Expressions are CEL (google/cel-go),
// compiled once per distinct expression and run with a cost limit. The
// package decides; recording what fired, and emitting, is the caller's.
package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"

	"github.com/heraldhq/herald/internal/lru"
)

// Rule is one tenant-editable rule.
type Rule struct {
	Name string `json:"name"`
	// On is the input event type that feeds the rule.
	On string `json:"on"`
	// When is a CEL expression over data (the event's data) and tenant
	// (the tenant's settings, such as lead_threshold); it must be a bool.
	When string `json:"when"`
	// Emit is the event type the rule emits when it fires. A transition
	// rule emits per new value instead (EmitOn).
	Emit string `json:"emit,omitempty"`
	// Key names the data fields that make "the same thing": the rule fires
	// at most as AtMost says per distinct key.
	Key []string `json:"key"`
	// AtMost is "once", "once_per:<duration>" (a cooldown, e.g. 24h) or
	// "on_change" (fires when Field's value differs from the last seen).
	AtMost string `json:"at_most"`
	// Field and EmitOn shape an on_change rule: the data field watched, and
	// the event type emitted for each new value. Initial is the value
	// assumed before any was seen (so the first "ok" is silent).
	Field   string            `json:"field,omitempty"`
	EmitOn  map[string]string `json:"emit_on,omitempty"`
	Initial string            `json:"initial,omitempty"`
	// Supersedes names rules this one makes stale: on an event for which
	// this rule's condition holds, they hold back, and once this rule
	// fires for a key, they never fire for that key (usage_100 over
	// usage_80: a jump straight past the limit sends only the 100 % alert).
	Supersedes []string `json:"supersedes,omitempty"`
	// Disabled turns the rule off: a built-in a tenant does not want.
	Disabled bool `json:"disabled,omitempty"`
}

// Limit is how often a rule may fire per key.
type Limit struct {
	Once     bool
	Cooldown time.Duration // once per this much time
	OnChange bool
}

// ParseLimit reads a rule's at_most.
func ParseLimit(s string) (Limit, error) {
	switch {
	case s == "once":
		return Limit{Once: true}, nil
	case s == "on_change":
		return Limit{OnChange: true}, nil
	case strings.HasPrefix(s, "once_per:"):
		d, err := time.ParseDuration(strings.TrimPrefix(s, "once_per:"))
		if err != nil || d <= 0 {
			return Limit{}, fmt.Errorf("at_most %q: want once_per:<duration>, such as once_per:24h", s)
		}
		return Limit{Cooldown: d}, nil
	}
	return Limit{}, fmt.Errorf("at_most %q: want once, once_per:<duration> or on_change", s)
}

// BuiltIn are the rules of the product contract, the defaults a tenant's
// settings edit.
var BuiltIn = []Rule{
	{Name: "bounce_rate", On: "outreach.campaign_stats", When: "data.sent >= 10 && data.bounced / data.sent > 0.05",
		Emit: "outreach.bounce_rate_alert", Key: []string{"campaign_id"}, AtMost: "once_per:24h"},
	{Name: "connection_transition", On: "outreach.connection_status", When: "true", Key: []string{"connection_id"},
		AtMost: "on_change", Field: "status", Initial: "ok",
		EmitOn: map[string]string{"degraded": "outreach.connection_degraded", "ok": "outreach.connection_recovered"}},
	{Name: "lead_threshold", On: "lead.scored", When: "data.score >= tenant.lead_threshold",
		Emit: "lead.qualified", Key: []string{"lead_id"}, AtMost: "once"},
	{Name: "usage_80", On: "usage.updated", When: "data.used * 5.0 >= data.limit * 4.0", // 80 %, exactly: 0.8 * 300 is 240.00000000000003
		Emit: "usage.quota_warning", Key: []string{"metric", "period"}, AtMost: "once"},
	{Name: "usage_100", On: "usage.updated", When: "data.used >= data.limit",
		Emit: "usage.quota_reached", Key: []string{"metric", "period"}, AtMost: "once", Supersedes: []string{"usage_80"}},
	// The usage series (package usage) adds growth_percent, days_to_limit
	// and days_left to a usage.updated reading when it can measure them.
	{Name: "usage_trend", On: "usage.updated", When: "data.growth_percent > tenant.usage_trend_percent",
		Emit: "usage.trend_alert", Key: []string{"metric", "period"}, AtMost: "once"},
	{Name: "usage_projection", On: "usage.updated", When: "data.used < data.limit && data.days_to_limit < data.days_left",
		Emit: "usage.projection_alert", Key: []string{"metric", "period"}, AtMost: "once"},
}

// Effective is the rules a tenant runs: the built-ins, each with the
// fields the tenant's entry of the same name sets, then the tenant's own
// rules in their order. A tenant that sets nothing runs the built-ins.
func Effective(tenant []Rule) []Rule {
	out := make([]Rule, 0, len(BuiltIn)+len(tenant))
	own := make(map[string]bool, len(tenant))
	for _, b := range BuiltIn {
		r := b
		for _, t := range tenant {
			if t.Name == b.Name {
				r = merge(b, t)
				own[t.Name] = true
			}
		}
		out = append(out, r)
	}
	for _, t := range tenant {
		if !own[t.Name] {
			out = append(out, t)
		}
	}
	return out
}

// merge lays the fields an override sets over a built-in.
func merge(b, o Rule) Rule {
	if o.On != "" {
		b.On = o.On
	}
	if o.When != "" {
		b.When = o.When
	}
	if o.Emit != "" {
		b.Emit = o.Emit
	}
	if len(o.Key) > 0 {
		b.Key = o.Key
	}
	if o.AtMost != "" {
		b.AtMost = o.AtMost
	}
	if o.Field != "" {
		b.Field = o.Field
	}
	if len(o.EmitOn) > 0 {
		b.EmitOn = o.EmitOn
	}
	if o.Initial != "" {
		b.Initial = o.Initial
	}
	if len(o.Supersedes) > 0 {
		b.Supersedes = o.Supersedes
	}
	b.Disabled = o.Disabled
	return b
}

// Lookup finds a built-in rule by name.
func Lookup(name string) (Rule, bool) {
	for _, b := range BuiltIn {
		if b.Name == name {
			return b, true
		}
	}
	return Rule{}, false
}

// SupersededBy returns the rules of set, fed by the same input as r and
// enabled, that name r in their Supersedes, in set's order.
func SupersededBy(r Rule, set []Rule) []Rule {
	var out []Rule
	for _, s := range set {
		if s.Name != r.Name && s.On == r.On && !s.Disabled && slices.Contains(s.Supersedes, r.Name) {
			out = append(out, s)
		}
	}
	return out
}

// Emits lists the event types a rule may emit.
func (r Rule) Emits() []string {
	if len(r.EmitOn) == 0 {
		return []string{r.Emit}
	}
	out := make([]string, 0, len(r.EmitOn))
	for _, v := range r.EmitOn {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// costLimit bounds one evaluation: a tenant's expression cannot spin.
const costLimit = 10000

// MaxWhenBytes bounds an expression: the built-ins are under 60 bytes, and
// a compiled program takes up to about 40 bytes per byte of expression.
const MaxWhenBytes = 1024

// cacheSize bounds the compiled programs kept (so at most about 20 MiB):
// the built-ins and the expressions of tenants that edit their rules. The
// least recently used go first; one evicted is compiled again when next
// needed, which takes well under a millisecond.
const cacheSize = 512

var env = func() *cel.Env {
	e, err := cel.NewEnv(
		cel.Variable("data", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("tenant", cel.MapType(cel.StringType, cel.DynType)),
		// 10 >= 9.5 and score (a double) >= a threshold (an int) compare
		// as numbers, as a user writing a threshold expects.
		cel.CrossTypeNumericComparisons(true),
		cel.ParserExpressionSizeLimit(MaxWhenBytes),
	)
	if err != nil {
		panic(err)
	}
	return e
}()

// Program is a compiled expression.
type Program struct{ prg cel.Program }

// cache holds compiled programs by expression; only those that compiled,
// so refused expressions leave nothing behind.
var cache = struct {
	sync.Mutex
	programs *lru.Cache[string, *Program]
}{programs: lru.New[string, *Program](cacheSize)}

// Compile compiles a When expression, once per distinct expression while it
// is in use. Its error is the compiler's message, for the 422 a tenant sees.
func Compile(expr string) (*Program, error) {
	if err := checkWhen(expr); err != nil {
		return nil, err
	}
	cache.Lock()
	p, ok := cache.programs.Get(expr)
	cache.Unlock()
	if ok {
		return p, nil
	}
	p, err := compile(expr)
	if err != nil {
		return nil, err
	}
	cache.Lock()
	cache.programs.Add(expr, p)
	cache.Unlock()
	return p, nil
}

// Cached reports whether expr's program is in the cache, for tests and
// diagnostics.
func Cached(expr string) bool {
	cache.Lock()
	defer cache.Unlock()
	_, ok := cache.programs.Peek(expr)
	return ok
}

// ErrWhenTooLong refuses an expression over MaxWhenBytes.
var ErrWhenTooLong = errors.New("the expression is too long")

func checkWhen(expr string) error {
	if len(expr) > MaxWhenBytes {
		return fmt.Errorf("%w: %d bytes; at most %d", ErrWhenTooLong, len(expr), MaxWhenBytes)
	}
	return nil
}

func compile(expr string) (*Program, error) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	// A bare field (data.hot) is a dyn that may hold anything at run
	// time; a comparison says what the tenant means.
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, fmt.Errorf("the expression is a %s, not a bool; compare it, as in data.hot == true", ast.OutputType())
	}
	prg, err := env.Program(ast, cel.CostLimit(costLimit), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, err
	}
	return &Program{prg: prg}, nil
}

// Validate checks a rule as a tenant wrote it: CheckShape, then the
// expression.
func Validate(r Rule) error {
	if err := CheckShape(r); err != nil {
		return err
	}
	_, err := Compile(r.When)
	return err
}

// CheckShape checks everything of a rule but whether its expression
// compiles: cheap checks, to refuse a rule before compiling anything.
func CheckShape(r Rule) error {
	if r.Name == "" || r.On == "" {
		return errors.New("a rule needs a name and on")
	}
	l, err := ParseLimit(r.AtMost)
	if err != nil {
		return err
	}
	if l.OnChange && (r.Field == "" || len(r.EmitOn) == 0) {
		return errors.New("an on_change rule needs field and emit_on")
	}
	if !l.OnChange && r.Emit == "" {
		return errors.New("a rule needs emit")
	}
	if len(r.Key) == 0 {
		return errors.New("a rule needs a key: the data fields that name the same thing")
	}
	if len(r.Supersedes) > 10 || slices.Contains(r.Supersedes, r.Name) {
		return errors.New("supersedes names at most 10 other rules")
	}
	return checkWhen(r.When)
}

// Eval runs the expression over an event's data and the tenant's settings.
// A field the data lacks makes it false, not an error: an event that does
// not say enough does not fire.
func (p *Program) Eval(data, tenant map[string]any) (bool, error) {
	out, _, err := p.prg.Eval(map[string]any{"data": numbers(data), "tenant": numbers(tenant)})
	if err != nil {
		if strings.Contains(err.Error(), "no such key") {
			return false, nil
		}
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("the expression gave %v, not a bool", out.Value())
	}
	return b, nil
}

// numbers turns JSON numbers into doubles, so arithmetic is exact enough
// for rates (bounced / sent) and never integer division.
func numbers(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = number(v)
	}
	return out
}

func number(v any) any {
	switch x := v.(type) {
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return f
		}
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case map[string]any:
		return numbers(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = number(e)
		}
		return out
	}
	return v
}

// KeyOf is the rule's key for an event: its key fields' values, joined.
// A missing field is an error: the rule cannot tell what "the same thing"
// is.
func KeyOf(r Rule, data map[string]any) (string, error) {
	parts := make([]string, 0, len(r.Key))
	for _, f := range r.Key {
		v, ok := data[f]
		if !ok || v == nil {
			return "", fmt.Errorf("data.%s is missing: rule %s keys on it", f, r.Name)
		}
		parts = append(parts, strconv.Quote(fmt.Sprint(v)))
	}
	return strings.Join(parts, "/"), nil
}

// Transition decides an on_change rule: given the last value seen for the
// key (seen false: none yet, the rule's Initial is assumed) and the value
// now, it reports the event type to emit, or "" when nothing changed or the
// new value emits nothing.
func Transition(r Rule, last string, seen bool, now string) string {
	if !seen {
		last = r.Initial
	}
	if now == last {
		return ""
	}
	return r.EmitOn[now]
}
