package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// maxBody is the contract's body limit.
const maxBody = 1 << 20

// After answering a request without reading all of its body, the server
// reads and discards what the client still sends, up to these bounds, before
// the connection closes, as nginx's lingering close does. A socket closed with
// unread data sends a reset, and a client still writing its body (Python's
// urllib, anything that writes the whole request before reading) gets the
// reset instead of the answer already on its way.
const (
	lingerBytes = 8 << 20
	lingerTime  = 5 * time.Second
)

func errTooLarge() *Error {
	return newError(http.StatusRequestEntityTooLarge, "payload_too_large", "request body is larger than 1 MiB")
}

// limitBody refuses a body that declares more than maxBody before reading it
// (decode refuses one that turns out larger), and drains whatever body a
// request's answer left unread, so the client receives the answer.
func limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.Body == nil || req.Body == http.NoBody || req.ContentLength == 0 {
			return next(c)
		}
		rc := http.NewResponseController(c.Response())
		// In full duplex net/http leaves the body alone when the answer is
		// written, instead of giving up on it, so it can still be drained.
		if rc.EnableFullDuplex() != nil { // a test recorder
			if req.ContentLength > maxBody {
				return errTooLarge()
			}
			return next(c)
		}
		body := &trackedBody{ReadCloser: req.Body}
		req.Body = body
		var err error
		if req.ContentLength > maxBody {
			err = errTooLarge()
		} else {
			err = next(c)
		}
		// A client that asked to be told to go on sends nothing until told.
		if body.eof || (body.n == 0 && strings.EqualFold(req.Header.Get("Expect"), "100-continue")) {
			return err
		}
		if res := c.Response(); !res.Committed {
			res.Header().Set(echo.HeaderConnection, "close")
			if err != nil {
				answer(c, err)
			}
		}
		if rc.Flush() != nil {
			return err
		}
		_ = rc.SetReadDeadline(time.Now().Add(lingerTime))
		_, _ = io.CopyN(io.Discard, body.ReadCloser, lingerBytes)
		return err
	}
}

// trackedBody records how much of a request body was read and whether to
// its end.
type trackedBody struct {
	io.ReadCloser
	n   int64
	eof bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// answer writes the error's response whole, with a Content-Length rather
// than chunked: a client that reads while it writes (curl stops sending on
// an early answer) then has all of it at once, instead of waiting for the
// final chunk until the drain ends.
func answer(c echo.Context, err error) {
	res := c.Response()
	w := res.Writer
	buf := &bufferedWriter{ResponseWriter: w}
	res.Writer = buf
	c.Error(err)
	res.Writer = w
	if buf.status == 0 {
		return
	}
	w.Header().Set(echo.HeaderContentLength, strconv.Itoa(buf.body.Len()))
	w.WriteHeader(buf.status)
	_, _ = w.Write(buf.body.Bytes())
}

type bufferedWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) WriteHeader(status int)      { b.status = status }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }

// refuseBadText refuses what PostgreSQL text cannot hold, or Herald cannot
// name, in the parts of a request handlers read: invalid UTF-8 or a NUL in
// the path, a query parameter or a header Herald reads. Each is a 400 naming
// the part, never a 500 from a query that chokes on it.
func refuseBadText(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if !cleanText(req.URL.Path) {
			return invalidField("path", "the URL path is not valid UTF-8 text (or contains NUL); percent-encode UTF-8")
		}
		if req.URL.RawQuery != "" {
			query, err := url.ParseQuery(req.URL.RawQuery)
			if err != nil {
				return invalidField("query", "the query string is malformed: %s", sanitize(err.Error()))
			}
			for key, values := range query {
				if !cleanText(key) {
					return invalidField("query", "a query parameter's name is not valid UTF-8 text (or contains NUL)")
				}
				for _, v := range values {
					if !cleanText(v) {
						return invalidField(key, "query parameter %q is not valid UTF-8 text (or contains NUL)", key)
					}
				}
			}
		}
		for _, name := range readHeaders {
			for _, v := range req.Header.Values(name) {
				if !cleanText(v) {
					return invalidField(name, "header %s is not valid UTF-8 text (or contains NUL)", name)
				}
			}
		}
		return next(c)
	}
}

// readHeaders are the headers Herald reads; others pass as they are.
var readHeaders = []string{echo.HeaderAuthorization, echo.HeaderContentType, echo.HeaderXRequestID, "Idempotency-Key", "Last-Event-ID"}

// cleanText reports whether s is valid UTF-8 without NUL.
func cleanText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// sanitize makes an error text safe to echo: invalid bytes replaced.
func sanitize(s string) string { return strings.ToValidUTF8(s, "\ufffd") }

// decode reads a JSON body strictly: unknown fields, trailing data, a missing
// body, an oversized body and NUL characters are all refused in the
// contract's shape. Numbers decoded into untyped fields (an event's data)
// are json.Number, so they are stored and echoed exactly as sent, not
// rounded through float64.
func decode(c echo.Context, v any) error {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return newError(http.StatusUnsupportedMediaType, "unsupported_media_type", "send application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return newError(http.StatusRequestEntityTooLarge, "payload_too_large", "request body is larger than 1 MiB")
		}
		return badRequest("reading body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("request body is empty; send a JSON object")
	}
	if i := nulAt(body); i >= 0 {
		return badRequest("request body contains a NUL character (U+0000) at byte %d; Herald cannot store text with NUL", i).with("offset", i)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	// Only JSON's whitespace may follow. dec.More would miss a closing
	// bracket or brace ("{}}"), which it takes for an enclosing value's end.
	if len(bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")) > 0 {
		return badRequest("request body has data after the JSON object")
	}
	return storableNumbers(body)
}

// nulAt returns the offset of the first NUL in a JSON text, raw or written as
// the escape \u0000 inside a string (key or value), or -1 if there is none.
// PostgreSQL's text and jsonb refuse both.
func nulAt(b []byte) int {
	first := bytes.IndexByte(b, 0)
	// In JSON a backslash only starts an escape inside a string, and every
	// escape is at least two bytes, so stepping over each pair never
	// mistakes the "u0000" of an escaped backslash ("\\u0000") for one.
	for i := 0; i < len(b); i += 2 {
		j := bytes.IndexByte(b[i:], '\\')
		if j < 0 || (first >= 0 && i+j > first) {
			break
		}
		i += j
		if bytes.HasPrefix(b[i+1:], []byte("u0000")) {
			return i
		}
	}
	return first
}

func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return badRequest("malformed JSON at byte %d", syntax.Offset).with("offset", syntax.Offset)
	case errors.As(err, &typ):
		return invalidField(typ.Field, "%s must be %s, not %s", typ.Field, typ.Type.String(), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return newError(http.StatusBadRequest, "unknown_field", "unknown field %q", field).with("field", field)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: unexpected end of input")
	}
	return badRequest("malformed JSON: %v", err)
}

// jsonSerializer writes responses without HTML escaping: links in payloads
// read as "?a=1&b=2", not "?a=1\u0026b=2". Responses are JSON, never HTML.
type jsonSerializer struct{}

func (jsonSerializer) Serialize(c echo.Context, v any, indent string) error {
	enc := json.NewEncoder(c.Response())
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	return enc.Encode(v)
}

func (jsonSerializer) Deserialize(c echo.Context, v any) error { return decode(c, v) }

// PostgreSQL's numeric, which jsonb stores numbers as, holds up to 131072
// digits before the decimal point and 16383 after it.
const (
	maxIntDigits  = 131072
	maxFracDigits = 16383
)

// storableNumbers refuses a body with a number PostgreSQL cannot store (say
// 1e200000), naming where it is: it would be a 500 when stored. The body is
// valid JSON by now.
func storableNumbers(body []byte) error {
	// Only an exponent or a very long run of digits can overflow.
	if !bytes.ContainsAny(body, "eE") && len(body) < maxFracDigits {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF; the body decoded already
		}
		n, ok := tok.(json.Number)
		if !ok || storableNumber(string(n)) {
			continue
		}
		at := dec.InputOffset()
		return newError(http.StatusBadRequest, "number_out_of_range",
			"the number ending at byte %d is too large or too precise to store (at most %d digits before the point and %d after)",
			at, maxIntDigits, maxFracDigits).with("offset", at)
	}
}

// storableNumber reports whether the JSON number n fits PostgreSQL's numeric.
func storableNumber(n string) bool {
	mantissa, exp, hasExp := strings.Cut(strings.ToLower(strings.TrimPrefix(n, "-")), "e")
	e := 0
	if hasExp {
		v, err := strconv.Atoi(exp)
		if err != nil || v > maxIntDigits+maxFracDigits || v < -(maxIntDigits+maxFracDigits) {
			return false
		}
		e = v
	}
	// Count the significant digits, from the first non-zero one to the
	// last: zeros outside them only say where the point is.
	intPart, frac, _ := strings.Cut(mantissa, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	point := len(intPart) - (len(intPart) + len(frac) - len(digits)) + e // digits before the point
	digits = strings.TrimRight(digits, "0")
	if digits == "" {
		return true // zero
	}
	return point <= maxIntDigits && len(digits)-point <= maxFracDigits
}
