package api

import (
	"context"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// temporalCallTimeout bounds each call the API makes to Temporal: a Temporal
// that stalls or is down answers a request with 503 within it, rather than
// hold the request while the client retries. Starts are bounded tighter by
// intake, which stores the work and starts it later.
const temporalCallTimeout = 5 * time.Second

// temporalWorkflowCallTimeout bounds an update: it waits for a worker to
// run a workflow task, and concurrent updates of one workflow take their
// turns, so a busy worker needs longer than the server does. (Queries stay
// at temporalCallTimeout: every caller has a stored answer to fall back on.)
const temporalWorkflowCallTimeout = 30 * time.Second

// boundedTemporal is the API's Temporal client: every call it makes runs
// under temporalCallTimeout unless its context ends sooner.
type boundedTemporal struct {
	client.Client
}

func bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return boundBy(ctx, temporalCallTimeout)
}

func boundBy(ctx context.Context, limit time.Duration) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= limit {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, limit)
}

func (b boundedTemporal) ExecuteWorkflow(ctx context.Context, opts client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return b.Client.ExecuteWorkflow(ctx, opts, workflow, args...)
}

func (b boundedTemporal) SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	return b.Client.SignalWorkflow(ctx, workflowID, runID, signalName, arg)
}

func (b boundedTemporal) SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, signalArg any,
	opts client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return b.Client.SignalWithStartWorkflow(ctx, workflowID, signalName, signalArg, opts, workflow, args...)
}

func (b boundedTemporal) QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return b.Client.QueryWorkflow(ctx, workflowID, runID, queryType, args...)
}

func (b boundedTemporal) UpdateWorkflow(ctx context.Context, opts client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	ctx, cancel := boundBy(ctx, temporalWorkflowCallTimeout)
	defer cancel()
	return b.Client.UpdateWorkflow(ctx, opts)
}

func (b boundedTemporal) DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return b.Client.DescribeWorkflowExecution(ctx, workflowID, runID)
}

func (b boundedTemporal) CheckHealth(ctx context.Context, req *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return b.Client.CheckHealth(ctx, req)
}
