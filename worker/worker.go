// Package worker wires Herald's workflows and activities into a Temporal worker.
package worker

import (
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/workflows"
)

// New returns a worker for taskQueue with every Herald workflow and activity
// registered. Any number of workers may poll the same queue.
func New(c client.Client, taskQueue string, acts *activities.Activities) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, sdkworker.Options{
		// Email batches hold SMTP connections; more than this per worker only
		// queues at the mail server.
		MaxConcurrentActivityExecutionSize: 64,
	})
	w.RegisterWorkflowWithOptions(workflows.NotifyEvent, workflow.RegisterOptions{Name: workflows.NotifyWorkflowName})
	w.RegisterActivity(acts)
	return w
}
