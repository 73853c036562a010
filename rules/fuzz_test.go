package rules

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// fuzzTime bounds one compile or evaluation: generous for a loaded
// machine, far below what an unbounded expression would take.
const fuzzTime = 5 * time.Second

// FuzzCompile compiles a tenant's expression and runs it over event data.
// Properties: nothing panics; compiling and evaluating each end within
// fuzzTime (evaluation under the cost limit); a compiled expression gives
// a bool or an error, the same on a second run; Validate agrees with
// Compile; the compile cache answers the same program.
func FuzzCompile(f *testing.F) {
	for _, r := range BuiltIn {
		f.Add(r.When, []byte(`{"sent": 100, "bounced": 6, "score": 70, "used": 80, "limit": 100}`))
	}
	f.Add(`data.l.all(x, data.l.all(y, data.l.all(z, x + y + z >= 0)))`, []byte(`{"l": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25]}`))
	f.Add(`data.s + data.s + data.s + data.s == data.s`, []byte(`{"s": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}`))
	f.Add(`data.missing > 1`, []byte(`{}`))
	f.Add(`data.x`, []byte(`{"x": true}`))
	f.Add(`1 / 0 == 1`, []byte(`{}`))
	f.Add(`data.n > 9223372036854775807`, []byte(`{"n": 1e400}`))
	f.Fuzz(func(t *testing.T, expr string, raw []byte) {
		start := time.Now()
		p, err := Compile(expr)
		if took := time.Since(start); took > fuzzTime {
			t.Fatalf("compiling took %v", took)
		}
		verr := Validate(Rule{Name: "r", On: "a.b", When: expr, Emit: "c.d", Key: []string{"k"}, AtMost: "once"})
		if (err == nil) != (verr == nil) {
			t.Fatalf("Compile = %v but Validate = %v", err, verr)
		}
		if err != nil {
			if p != nil {
				t.Fatal("a refused expression compiled")
			}
			return
		}
		if again, _ := Compile(expr); again != p {
			t.Fatal("the cache answered another program")
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber() // as event data is decoded
		var data map[string]any
		if dec.Decode(&data) != nil {
			data = map[string]any{}
		}
		tenant := map[string]any{"lead_threshold": json.Number("60")}
		start = time.Now()
		got, err := p.Eval(data, tenant)
		if took := time.Since(start); took > fuzzTime {
			t.Fatalf("evaluating took %v", took)
		}
		again, err2 := p.Eval(data, tenant)
		if got != again || (err == nil) != (err2 == nil) {
			t.Fatalf("two evaluations differ: %v %v, %v %v", got, err, again, err2)
		}
		if err != nil && got {
			t.Fatal("an evaluation that failed fired")
		}
	})
}
