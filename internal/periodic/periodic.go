// Package periodic runs a background step at a fixed interval: the digest
// armer, the reconciler and the audit checkpointer share its one loop.
package periodic

import (
	"context"
	"log/slog"
	"time"
)

// Run calls step every interval until ctx ends. A step that fails is
// logged as what failed, and tried again at the next tick; a failure
// because ctx ended is not logged. The first call is one interval after
// Run starts, so a process starting up does its own work first.
func Run(ctx context.Context, every time.Duration, log *slog.Logger, what string, step func(context.Context) error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := step(ctx); err != nil && ctx.Err() == nil {
			log.Warn(what, "error", err)
		}
	}
}
