package main

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// awaitWorkflow waits for a workflow to finish. An event the API accepted
// while Temporal was slow may have its start left to the reconciler, so
// its workflow does not exist yet: wait for it to appear (the wait is the
// event's latency) rather than fail the run. The reconciler starts an
// event within about 90 s; one missing for longer is an error.
func awaitWorkflow(ctx context.Context, c client.Client, id string) error {
	const patience = 3 * time.Minute
	since := time.Now()
	for {
		err := c.GetWorkflow(ctx, id, "").Get(ctx, nil)
		var missing *serviceerror.NotFound
		if !errors.As(err, &missing) || time.Since(since) > patience {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
