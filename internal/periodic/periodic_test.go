package periodic

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunStepsUntilCancelledAndLogsFailures(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, time.Millisecond, log, "arming digest windows", func(context.Context) error {
			if n.Add(1) == 3 {
				cancel()
				return context.Canceled // ended by ctx: not logged
			}
			return errors.New("database down")
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if got := n.Load(); got != 3 {
		t.Errorf("%d steps, want 3 (a failed step is tried again at the next tick)", got)
	}
	if c := strings.Count(buf.String(), "arming digest windows"); c != 2 {
		t.Errorf("%d failures logged, want 2:\n%s", c, buf.String())
	}
}
