package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Error is an error answer of the API: its HTTP status and the contract's
// {"error": {"code", "message", "details"}}. An answer not in that shape (a
// proxy's HTML page, say) has an empty Code and the start of its body as
// Message.
type Error struct {
	StatusCode int
	// Code is the stable snake_case code, such as invalid_field,
	// not_found, idempotency_conflict or rate_limited.
	Code    string
	Message string
	// Details are machine-readable specifics: field for invalid_field,
	// request_id to quote to the operator.
	Details map[string]any
	// RetryAfter is the answer's Retry-After, zero when it had none.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("herald: %d %s", e.StatusCode, e.Message)
	}
	return fmt.Sprintf("herald: %d %s: %s", e.StatusCode, e.Code, e.Message)
}

// ErrorCode returns the API error code of err ("" when err is not an API
// error), for a switch: if client.ErrorCode(err) == "not_found" {…}.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// readError reads an error answer and closes its body.
func readError(res *http.Response) *Error {
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	e := &Error{StatusCode: res.StatusCode, RetryAfter: parseRetryAfter(res.Header.Get("Retry-After"), time.Now())}
	var shape struct {
		Error *struct {
			Code    string         `json:"code"`
			Message string         `json:"message"`
			Details map[string]any `json:"details"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&shape) == nil && shape.Error != nil && shape.Error.Code != "" {
		e.Code, e.Message, e.Details = shape.Error.Code, shape.Error.Message, shape.Error.Details
		return e
	}
	e.Message = http.StatusText(res.StatusCode)
	if text := strings.TrimSpace(string(body)); text != "" {
		if len(text) > 200 {
			text = text[:200] + "…"
		}
		e.Message += ": " + text
	}
	return e
}
