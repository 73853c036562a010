package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db/dbq"
)

// Start is a workflow start (or, with Signal, a signal-with-start that wakes
// a workflow) that an accepted request owes: an approval, an experiment or a
// batch runs as surely as an event does. The request stores it with its own
// row, in one transaction (Owe); the API then makes it (Make), and if
// Temporal does not take it, a worker's reconciler makes it later.
type Start struct {
	TenantID     uuid.UUID
	WorkflowID   string
	WorkflowType string
	Input        any
	// Signal, when set, wakes the workflow (starting it if no run is open).
	Signal string
	// Reuse allows a new run under an ID whose last run has closed.
	Reuse bool
}

// Owed is a start recorded as owed, as of the time it was.
type Owed struct {
	Start
	at time.Time
}

// Owe records st as owed, with q in the transaction that stores what it
// starts for.
func Owe(ctx context.Context, q *dbq.Queries, st Start) (Owed, error) {
	input, err := json.Marshal(st.Input)
	if err != nil {
		return Owed{}, fmt.Errorf("encoding the input of %s: %w", st.WorkflowID, err)
	}
	at, err := q.OweStart(ctx, dbq.OweStartParams{WorkflowID: st.WorkflowID, TenantID: st.TenantID,
		WorkflowType: st.WorkflowType, Input: input, Signal: st.Signal, Reuse: st.Reuse})
	if err != nil {
		return Owed{}, fmt.Errorf("recording the start of %s: %w", st.WorkflowID, err)
	}
	return Owed{Start: st, at: at}, nil
}

// Make makes an owed start now, within StartTimeout, and clears the debt.
// An error means Temporal did not take it: the request is stored and the
// reconciler makes the start later, so callers log it and answer as
// accepted.
func (s *Service) Make(ctx context.Context, o Owed) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.startTimeout())
	defer cancel()
	if err := s.makeStart(sctx, o.Start, o.Input); err != nil {
		s.log().Warn("workflow start not taken; the reconciler will make it", "workflow_id", o.WorkflowID, "error", err)
		return err
	}
	if err := dbq.New(s.Pool).StartTaken(ctx, dbq.StartTakenParams{WorkflowID: o.WorkflowID, OwedAt: o.at}); err != nil {
		// Owed still: the reconciler makes it again, which changes nothing.
		s.log().Warn("clearing a start taken", "workflow_id", o.WorkflowID, "error", err)
	}
	return nil
}

func (s *Service) makeStart(ctx context.Context, st Start, input any) error {
	reuse := enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	if st.Reuse {
		reuse = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	}
	opts := client.StartWorkflowOptions{ID: st.WorkflowID, TaskQueue: s.TaskQueue, WorkflowIDReusePolicy: reuse,
		TypedSearchAttributes: temporal.NewSearchAttributes(contract.AttrTenant.ValueSet(st.TenantID.String()))}
	var err error
	if st.Signal != "" {
		_, err = s.Temporal.SignalWithStartWorkflow(ctx, st.WorkflowID, st.Signal, nil, opts, st.WorkflowType, input)
	} else {
		_, err = s.Temporal.ExecuteWorkflow(ctx, opts, st.WorkflowType, input)
	}
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil // the workflow ID runs once: it runs
	}
	return err
}

func (s *Service) startTimeout() time.Duration {
	if s.StartTimeout > 0 {
		return s.StartTimeout
	}
	return defaultStartTimeout
}

// defaultStartTimeout bounds a start the API makes: with Temporal down, a
// request answers within it (its work is stored, and started later), rather
// than wait out the client's own retries.
const defaultStartTimeout = 3 * time.Second

// MakeOwedStarts makes the starts owed for longer than olderThan and
// returns how many Temporal took.
func (s *Service) MakeOwedStarts(ctx context.Context, olderThan time.Duration) (int, error) {
	q := dbq.New(s.Pool)
	rows, err := q.OwedStarts(ctx, dbq.OwedStartsParams{OlderThan: time.Now().Add(-olderThan), MaxRows: 200})
	if err != nil {
		return 0, fmt.Errorf("finding owed workflow starts: %w", err)
	}
	n := 0
	for _, r := range rows {
		st := Start{TenantID: r.TenantID, WorkflowID: r.WorkflowID, WorkflowType: r.WorkflowType, Signal: r.Signal, Reuse: r.Reuse}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := s.makeStart(sctx, st, json.RawMessage(r.Input))
		cancel()
		if err != nil {
			// One start that fails must not hold up the others.
			s.log().Warn("making an owed workflow start", "workflow_id", r.WorkflowID, "error", err)
			continue
		}
		if err := q.StartTaken(ctx, dbq.StartTakenParams{WorkflowID: r.WorkflowID, OwedAt: r.CreatedAt}); err != nil {
			return n, fmt.Errorf("clearing the start of %s: %w", r.WorkflowID, err)
		}
		s.log().Info("made an owed workflow start", "workflow_id", r.WorkflowID)
		n++
	}
	return n, nil
}
