package intake

import "fmt"

// Kind classifies a refused request; the API maps each to a status.
type Kind int

const (
	Invalid     Kind = iota // 400
	UnknownType             // 422
	Conflict                // 409
	TooLarge                // 413
)

// Error is a request Submit refuses, in the contract's terms.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Details map[string]any
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func invalid(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Code: "invalid_field", Message: fmt.Sprintf(format, args...),
		Details: map[string]any{"field": field}}
}
