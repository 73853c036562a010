package devstack

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
)

// FreePort's port can be bound. Any port can be taken by another process
// between the two calls (tests of other packages run beside this one), so
// one port taken is chance; three in a row is FreePort's fault.
func TestFreePortIsBindable(t *testing.T) {
	t.Parallel()
	var errs []error
	for range 3 {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			l.Close()
			return
		}
		errs = append(errs, fmt.Errorf("port %d: %w", port, err))
	}
	t.Fatalf("no port FreePort returned could be bound: %v", errs)
}

func TestTailBufferKeepsWholeLines(t *testing.T) {
	t.Parallel()
	tb := newTailBuffer(16)
	_, _ = tb.Write([]byte("first line\nsecond\nthird\n"))
	if got, want := tb.String(), "second\nthird"; got != want {
		t.Errorf("tail = %q, want %q", got, want)
	}
}

// testLog collects server output and shows it only if the test fails; the
// servers are too chatty (Temporal logs warnings on every clean shutdown) to
// print on success.
func testLog(t *testing.T) io.Writer {
	t.Helper()
	buf := newTailBuffer(256 << 10)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server output:\n%s", buf)
		}
	})
	return buf
}
