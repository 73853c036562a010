package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// rawAnswer is what a client that sends its whole request before reading
// gets back.
type rawAnswer struct {
	status int
	code   string
	body   string
}

// sendThenRead writes a request head and a body of size bytes on a fresh TCP
// connection, completely, and only then reads the answer: the way Python's
// urllib and many small clients behave. Like urllib it sends Connection:
// close, on which Go's server, left alone, closes at once with the body
// unread, and the reset that follows can destroy the answer before the
// client reads it. With chunked set the body is sent
// with Transfer-Encoding: chunked and no Content-Length. head holds the
// request line and any extra headers, each ending in \r\n.
func sendThenRead(addr, head string, size int, chunked bool) (rawAnswer, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return rawAnswer{}, err
	}
	defer conn.Close()
	// A bound, not a pause: a server that never answers fails the test.
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return rawAnswer{}, err
	}
	var req bytes.Buffer
	req.WriteString(head)
	req.WriteString("Host: herald.test\r\nConnection: close\r\nContent-Type: application/json\r\n")
	body := bytes.Repeat([]byte("a"), size)
	if chunked {
		req.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		for chunk := range slicesOf(body, 64<<10) {
			fmt.Fprintf(&req, "%x\r\n%s\r\n", len(chunk), chunk)
		}
		req.WriteString("0\r\n\r\n")
	} else {
		fmt.Fprintf(&req, "Content-Length: %d\r\n\r\n", size)
		req.Write(body)
	}
	// The head goes first, on its own, and the rest follows in 16 KiB
	// writes, as a client streaming from a file would: the server has its
	// answer out while the body is still being written.
	msg := req.Bytes()
	end := bytes.Index(msg, []byte("\r\n\r\n")) + 4
	if _, err := conn.Write(msg[:end]); err != nil {
		return rawAnswer{}, fmt.Errorf("writing the request head: %w", err)
	}
	for piece := range slicesOf(msg[end:], 16<<10) {
		if _, err := conn.Write(piece); err != nil {
			return rawAnswer{}, fmt.Errorf("writing the request body: %w", err)
		}
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return rawAnswer{}, fmt.Errorf("reading the answer: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return rawAnswer{}, fmt.Errorf("reading the answer's body: %w", err)
	}
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return rawAnswer{}, fmt.Errorf("answer %d is not JSON: %q", res.StatusCode, raw)
	}
	return rawAnswer{status: res.StatusCode, code: e.Error.Code, body: string(raw)}, nil
}

func slicesOf(b []byte, n int) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(b) > 0 {
			k := min(n, len(b))
			if !yield(b[:k]) {
				return
			}
			b = b[k:]
		}
	}
}

// TestEarlyAnswersReachClientsThatWriteFirst sends 2 MiB bodies that the
// server answers without reading: by their Content-Length (413), and, for a
// chunked body, before authentication (401). A client that finishes writing
// before it reads must get the answer every time, not a connection reset.
func TestEarlyAnswersReachClientsThatWriteFirst(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name    string
		head    string
		chunked bool
		status  int
		code    string
	}{
		{"declared 2 MiB", "POST /v1/events HTTP/1.1\r\nAuthorization: Bearer hk_notarealkeynotarealkey\r\n", false, http.StatusRequestEntityTooLarge, "payload_too_large"},
		{"chunked 2 MiB, no API key", "POST /v1/events HTTP/1.1\r\n", true, http.StatusUnauthorized, "unauthorized"},
		{"declared 2 MiB, unknown route", "PUT /nowhere HTTP/1.1\r\n", false, http.StatusRequestEntityTooLarge, "payload_too_large"},
	}
	for _, tt := range tests {
		for i := range 5 {
			got, err := sendThenRead(addr, tt.head, 2<<20, tt.chunked)
			if err != nil {
				t.Errorf("%s, try %d: %v", tt.name, i+1, err)
				break
			}
			if got.status != tt.status || got.code != tt.code {
				t.Errorf("%s, try %d: %d %s, want %d %s", tt.name, i+1, got.status, got.body, tt.status, tt.code)
				break
			}
		}
	}
}
