// Package worker wires Herald's workflows and activities into a Temporal worker.
package worker

import (
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/emitter"
	"github.com/heraldhq/herald/workflows"
)

// Options bound a worker process's concurrency. Any number of workers may
// poll the same task queue; each bounds only itself.
var Options = sdkworker.Options{
	// On Stop, a batch starts nothing more, but what it is transmitting
	// finishes and is recorded before the process lets go of the database:
	// cut short, an accepted message would be sent again by another worker.
	WorkerStopTimeout: 3 * time.Minute,
	// Delivery batches hold pooled SMTP connections and database
	// connections; more than this per process only queues at the servers.
	MaxConcurrentActivityExecutionSize: 32,
	// Local activities are the database steps and fast-path sends; the
	// database pool bounds them in practice, this bounds their goroutines.
	MaxConcurrentLocalActivityExecutionSize: 128,
}

// New returns a worker for taskQueue with every Herald workflow and activity
// registered: acts are the delivery activities, emit those that submit
// events on Herald's behalf.
func New(c client.Client, taskQueue string, acts *activities.Activities, emit *emitter.Activities) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, Options)
	workflows.Register(w)
	w.RegisterActivity(acts)
	w.RegisterActivity(emit)
	return w
}
