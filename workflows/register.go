package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/contract"
)

// Register registers every Herald workflow under its contract name. The
// worker and the replay tests both call it, so no workflow can be left out
// of replay.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(NotifyEvent, workflow.RegisterOptions{Name: contract.NotifyWorkflowName})
	r.RegisterWorkflowWithOptions(Digest, workflow.RegisterOptions{Name: contract.DigestWorkflowName})
	r.RegisterWorkflowWithOptions(Summary, workflow.RegisterOptions{Name: contract.SummaryWorkflowName})
	r.RegisterWorkflowWithOptions(EvaluateRules, workflow.RegisterOptions{Name: contract.RulesWorkflowName})
	r.RegisterWorkflowWithOptions(Batch, workflow.RegisterOptions{Name: contract.BatchWorkflowName})
	r.RegisterWorkflowWithOptions(Experiment, workflow.RegisterOptions{Name: contract.ExperimentWorkflowName})
	r.RegisterWorkflowWithOptions(Approval, workflow.RegisterOptions{Name: contract.ApprovalWorkflowName})
	r.RegisterWorkflowWithOptions(Retention, workflow.RegisterOptions{Name: contract.RetentionWorkflowName})
}
