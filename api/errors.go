package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"
)

// Error is the contract's error body: {"error": {"code", "message", "details"}}.
type Error struct {
	Status  int            `json:"-"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func newError(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) with(key string, value any) *Error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	e.Details[key] = value
	return e
}

// withCopy is with on a copy: handlers may return shared errors.
func (e *Error) withCopy(key string, value any) *Error {
	c := *e
	c.Details = make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		c.Details[k] = v
	}
	c.Details[key] = value
	return &c
}

func badRequest(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, "invalid_request", format, args...)
}

func invalidField(field, format string, args ...any) *Error {
	return newError(http.StatusBadRequest, "invalid_field", format, args...).with("field", field)
}

// channelNotAvailable refuses a channel that is listed but not available
// yet (push): 422, since the request is well formed.
func channelNotAvailable(field, format string, args ...any) *Error {
	return newError(http.StatusUnprocessableEntity, "channel_not_available", format, args...).with("field", field)
}

// checkLink refuses a link that is not an absolute http(s) URL of at most
// 2000 characters, as every link the API takes; empty is none.
func checkLink(field, link string) error {
	if link == "" {
		return nil
	}
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(link) > 2000 {
		return invalidField(field, "%s must be an absolute http(s) URL of at most 2000 characters", field)
	}
	return nil
}

func notFound(what string) *Error {
	return newError(http.StatusNotFound, "not_found", "%s not found", what)
}

// errorHandler maps every error a handler returns to the contract's shape.
// Internal errors are logged with their cause and answered with a generic
// message: an error string may carry SQL or addresses a client must not see.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var apiErr *Error
	var httpErr *echo.HTTPError
	switch {
	case errors.As(err, &apiErr):
	case errors.Is(err, pgx.ErrNoRows):
		apiErr = notFound("resource")
	case errors.As(err, &httpErr):
		apiErr = fromEchoError(httpErr)
	case unavailable(err):
		s.log.Warn("a dependency did not answer", "method", c.Request().Method, "path", c.Path(), "error", err)
		apiErr = newError(http.StatusServiceUnavailable, "unavailable",
			"a dependency (Temporal or the database) did not answer in time; the request may be retried")
	default:
		s.log.Error("request failed", "method", c.Request().Method, "path", c.Path(), "error", err)
		apiErr = newError(http.StatusInternalServerError, "internal_error", "something went wrong on our side; the request may be retried")
	}
	// The request's ID (X-Request-ID, the client's or a fresh one) ties an
	// error a client reports to the server's log line.
	if id := c.Response().Header().Get(echo.HeaderXRequestID); id != "" {
		apiErr = apiErr.withCopy("request_id", id)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(apiErr.Status)
		return
	}
	_ = c.JSON(apiErr.Status, map[string]*Error{"error": apiErr})
}

func fromEchoError(e *echo.HTTPError) *Error {
	switch e.Code {
	case http.StatusNotFound:
		return newError(e.Code, "not_found", "no such route")
	case http.StatusMethodNotAllowed:
		return newError(e.Code, "method_not_allowed", "method not allowed on this route")
	case http.StatusRequestEntityTooLarge:
		return newError(e.Code, "payload_too_large", "request body is larger than 1 MiB")
	case http.StatusUnauthorized:
		return newError(e.Code, "unauthorized", "missing or invalid API key")
	case http.StatusTooManyRequests:
		return newError(e.Code, "rate_limited", "too many requests")
	case http.StatusServiceUnavailable:
		return newError(e.Code, "unavailable", "service unavailable")
	}
	msg := http.StatusText(e.Code)
	if m, ok := e.Message.(string); ok && e.Code < 500 {
		msg = m
	}
	return newError(e.Code, "http_error", "%s", msg)
}

// unavailable reports an error that is a dependency not answering: a
// deadline that ran out, Temporal unreachable.
func unavailable(err error) bool {
	var unav *serviceerror.Unavailable
	var dl *serviceerror.DeadlineExceeded
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &unav) || errors.As(err, &dl)
}
