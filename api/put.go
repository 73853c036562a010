package api

import (
	"bytes"
	"encoding/json"
)

// Field is a top-level field of a PUT body. Every PUT in the API follows
// one rule, so a client may send only what it changes: a field left out
// keeps its stored value, null resets it to its default, and a value
// replaces it. A pointer cannot tell the first two apart, so request
// structs hold their fields as Field.
type Field[T any] struct {
	set, null bool
	value     T
}

// UnmarshalJSON runs only for a field the body has. The value is decoded
// as strictly as the body around it (decode): unknown fields inside it are
// refused, and numbers in untyped values stay exact.
func (f *Field[T]) UnmarshalJSON(b []byte) error {
	f.set = true
	if bytes.Equal(b, []byte("null")) {
		f.null = true
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	return dec.Decode(&f.value)
}

// Given returns the value the body gave, if it gave one (not null).
func (f Field[T]) Given() (T, bool) { return f.value, f.set && !f.null }

// Sent reports whether the body had the field, null included.
func (f Field[T]) Sent() bool { return f.set }

// Apply is the field's effect on what is stored: stored when left out,
// def when null, the value given otherwise.
func (f Field[T]) Apply(stored, def T) T {
	switch {
	case !f.set:
		return stored
	case f.null:
		return def
	}
	return f.value
}

// Patch is the field for a query that keeps a column where its argument is
// NULL: nil when left out, def when null, the value given otherwise.
func (f Field[T]) Patch(def T) *T {
	if !f.set {
		return nil
	}
	v := f.Apply(def, def)
	return &v
}
