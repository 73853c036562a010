package devstack

import (
	"io"
	"net"
	"strconv"
	"testing"
)

func TestFreePortIsBindable(t *testing.T) {
	t.Parallel()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("binding port %d returned by FreePort: %v", port, err)
	}
	l.Close()
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
