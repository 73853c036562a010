package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Register registers every Herald workflow under its contract name. The
// worker and the replay tests both call it, so no workflow can be left out
// of replay.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(NotifyEvent, workflow.RegisterOptions{Name: NotifyWorkflowName})
	r.RegisterWorkflowWithOptions(Digest, workflow.RegisterOptions{Name: DigestWorkflowName})
	r.RegisterWorkflowWithOptions(Summary, workflow.RegisterOptions{Name: SummaryWorkflowName})
	r.RegisterWorkflowWithOptions(EvaluateRules, workflow.RegisterOptions{Name: RulesWorkflowName})
	r.RegisterWorkflowWithOptions(Batch, workflow.RegisterOptions{Name: BatchWorkflowName})
	r.RegisterWorkflowWithOptions(Experiment, workflow.RegisterOptions{Name: ExperimentWorkflowName})
	r.RegisterWorkflowWithOptions(Approval, workflow.RegisterOptions{Name: ApprovalWorkflowName})
}
