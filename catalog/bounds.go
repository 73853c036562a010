package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/heraldhq/herald/locale"
)

// Bounds of one render. Templates are tenant code run in the API (PUT
// /v1/event-types renders them) and per recipient in the worker, so each
// bound must hold whatever the template and the event's data are: a
// 60-byte template of nested ranges could otherwise allocate gigabytes.
const (
	// MaxPartBytes bounds each rendered part: subject, text, HTML (and so
	// the Slack text and blocks made from them).
	MaxPartBytes = 256 << 10
	// MaxRangeItems bounds the items of every range of one render in all,
	// counted before a range starts: ranges over integers and over data.
	MaxRangeItems = 10_000
	// MaxRenderTime bounds one render (every part of a notice or an email).
	// A render that runs out of time is tried once more (see retried).
	MaxRenderTime = 100 * time.Millisecond
	// MaxWork bounds what template functions (printf, quote, join, …) may
	// read and write in one render, estimated before each call: a template
	// that builds ever larger strings in variables writes nothing, so the
	// output bound alone would not stop it.
	MaxWork = 32 << 20
)

// Bounds a template can exceed, as BoundError.Bound names them.
const (
	BoundOutput = "output"
	BoundRange  = "range"
	BoundTime   = "time"
	BoundWork   = "work"
)

// ErrBound matches every BoundError (errors.Is).
var ErrBound = errors.New("a template exceeded a bound")

// BoundError is a render stopped at one of the bounds above.
type BoundError struct {
	Template string // subject, text or html
	Bound    string // output, range, time or work
	Detail   string // what exceeded it, and the bound
}

func (e *BoundError) Error() string {
	return fmt.Sprintf("the %s template exceeded a bound: %s", e.Template, e.Detail)
}

// Is makes errors.Is(err, ErrBound) hold.
func (e *BoundError) Is(target error) bool { return target == ErrBound }

// clock is the time bounds are measured by; tests move it.
var clock = time.Now

// budget is what remains of one render's bounds. The template reaches it
// through a variable its source cannot name (see guard.go).
type budget struct {
	part     string // the template running: subject, text or html
	deadline time.Time
	items    int64 // range items still allowed
	work     int   // bytes template functions may still read and write
	// format and zone are the reader's: how count, counted, rate and date
	// write numbers, plurals and dates, and in which time zone.
	format locale.Format
	zone   *time.Location
}

func newBudget() *budget { return newBudgetFor(0) }

// newBudgetFor is the budget of a render's try (from 0): each try that
// follows one that ran out of time has twice its time (see retried).
func newBudgetFor(try int) *budget {
	return &budget{deadline: clock().Add(MaxRenderTime << try), items: MaxRangeItems, work: MaxWork, format: english, zone: time.UTC}
}

func (b *budget) exceeded(bound, format string, args ...any) *BoundError {
	return &BoundError{Template: b.part, Bound: bound, Detail: fmt.Sprintf(format, args...)}
}

// check fails once the render has run out of time. Templates cannot be
// interrupted, so it is called wherever a template spends time: before
// every function call, every range iteration and every write.
func (b *budget) check() error {
	if clock().After(b.deadline) {
		return b.exceeded(BoundTime, "it took longer than %v to render (at most %v per render)", MaxRenderTime, MaxRenderTime)
	}
	return nil
}

// spend takes cost bytes of work, the estimate of a call made before it
// runs, so that a call that would allocate too much never does.
func (b *budget) spend(cost int) error {
	if err := b.check(); err != nil {
		return err
	}
	if cost > b.work {
		return b.exceeded(BoundWork, "its functions would process more than %d MiB (at most %d MiB per render)", MaxWork>>20, MaxWork>>20)
	}
	b.work -= cost
	return nil
}

// takeItems counts a range's items before it starts.
func (b *budget) takeItems(n int64) error {
	if err := b.check(); err != nil {
		return err
	}
	if n > b.items {
		return b.exceeded(BoundRange, "it ranges over more than %s items in all (at most %[1]s range iterations per render)", count(MaxRangeItems))
	}
	b.items -= n
	return nil
}

// result refuses a function's result larger than a part may be.
func (b *budget) result(s string) (string, error) {
	if len(s) > MaxPartBytes {
		return "", b.exceeded(BoundOutput, "a function's result is over %d KiB (at most %d KiB per part)", MaxPartBytes>>10, MaxPartBytes>>10)
	}
	return s, nil
}

// partWriter collects one part, failing the render once it would pass
// MaxPartBytes: text/template stops at the first write error.
type partWriter struct {
	b   *budget
	buf bytes.Buffer
}

func (w *partWriter) Write(p []byte) (int, error) {
	if err := w.b.check(); err != nil {
		return 0, err
	}
	if w.buf.Len()+len(p) > MaxPartBytes {
		return 0, w.b.exceeded(BoundOutput, "it renders more than %d KiB (at most %d KiB per part)", MaxPartBytes>>10, MaxPartBytes>>10)
	}
	return w.buf.Write(p)
}

// perItem is what fmt may write for one value or element beyond its
// text: brackets, separators, type names of %#v, the digits of %f of a
// float64 (up to 309).
const perItem = 400

// size estimates what fmt writes for v with %v: its text in bytes, and
// how many values it holds (a width pads each of them, and each may take
// perItem). Values reach templates from decoded JSON and from Herald's own
// helpers; anything else is walked by reflection.
func size(v any) (n, items int) {
	switch v := v.(type) {
	case nil:
		return 5, 1
	case string:
		return len(v), 1
	case json.Number:
		return len(v), 1
	case []byte:
		return len(v), 1
	case map[string]any:
		n, items = 2, 1
		for k, e := range v {
			en, ei := size(e)
			n, items = n+len(k)+en+2, items+ei+1
		}
		return n, items
	case []any:
		n, items = 2, 1
		for _, e := range v {
			en, ei := size(e)
			n, items = n+en+1, items+ei
		}
		return n, items
	case []Pair:
		n, items = 2, 1
		for _, p := range v {
			n, items = n+len(p.Key)+len(p.Value)+4, items+2
		}
		return n, items
	case bool, int, int64, float64, json.Delim:
		return 32, 1
	}
	return sizeOf(reflect.ValueOf(v), 0)
}

// sizeOf is size for values of other types.
func sizeOf(v reflect.Value, depth int) (n, items int) {
	if depth > 100 {
		return perItem, 1 // fmt prints deeper pointers as addresses
	}
	switch v.Kind() {
	case reflect.String:
		return v.Len(), 1
	case reflect.Slice, reflect.Array:
		n, items = 2, 1
		for i := range v.Len() {
			en, ei := sizeOf(v.Index(i), depth+1)
			n, items = n+en+1, items+ei
		}
		return n, items
	case reflect.Map:
		n, items = 2, 1
		it := v.MapRange()
		for it.Next() {
			kn, ki := sizeOf(it.Key(), depth+1)
			en, ei := sizeOf(it.Value(), depth+1)
			n, items = n+kn+en+2, items+ki+ei
		}
		return n, items
	case reflect.Struct:
		n, items = 2, 1
		for i := range v.NumField() {
			en, ei := sizeOf(v.Field(i), depth+1)
			n, items = n+len(v.Type().Field(i).Name)+en+2, items+ei
		}
		return n, items
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return 5, 1
		}
		return sizeOf(v.Elem(), depth+1)
	}
	return 32, 1
}

// sizes sums size over args.
func sizes(args []any) (n, items, largest, most int) {
	for _, a := range args {
		an, ai := size(a)
		n, items = n+an, items+ai
		largest, most = max(largest, an), max(most, ai)
	}
	return n, items, largest, most
}
