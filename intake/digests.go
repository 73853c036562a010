package intake

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/internal/periodic"
)

// armBatch bounds the windows one pass takes, armConcurrency the Temporal
// calls it has in flight.
const (
	armBatch       = 500
	armConcurrency = 16
	armLease       = time.Minute
)

// ArmDigests starts (or signals) the Digest workflow of every window a page
// armed: the first digested (or collapsed) item of an idle window. One Temporal call per
// window, however many items it collects. Windows are leased, so several
// workers share them, and one that dies mid-pass lets go of its share.
func (s *Service) ArmDigests(ctx context.Context) (int, error) {
	q := dbq.New(s.Pool)
	done := 0
	for {
		rows, err := q.ClaimArmingDigestWindows(ctx, dbq.ClaimArmingDigestWindowsParams{
			LeaseSeconds: armLease.Seconds(), TaskQueue: s.TaskQueue, MaxRows: armBatch,
		})
		if err != nil {
			return done, fmt.Errorf("finding windows to arm: %w", err)
		}
		if len(rows) == 0 {
			return done, nil
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		sem := make(chan struct{}, armConcurrency)
		for _, r := range rows {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				err := s.arm(ctx, q, r)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					// Its lease runs out and a later pass tries again.
					if firstErr == nil {
						firstErr = err
					}
					return
				}
				done++
			}()
		}
		wg.Wait()
		if firstErr != nil {
			return done, firstErr
		}
	}
}

func (s *Service) arm(ctx context.Context, q *dbq.Queries, r dbq.ClaimArmingDigestWindowsRow) error {
	ch := channel.Channel(r.Channel)
	var group *contract.Group
	if r.GroupType != "" {
		group = &contract.Group{Type: r.GroupType, Key: r.GroupKey}
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := s.Temporal.SignalWithStartWorkflow(sctx, contract.WindowWorkflowID(r.TenantID, r.UserID, ch, group),
		contract.SignalDigestArm, nil, client.StartWorkflowOptions{
			TaskQueue:             s.TaskQueue,
			TypedSearchAttributes: temporal.NewSearchAttributes(contract.AttrTenant.ValueSet(r.TenantID.String())),
		}, contract.DigestWorkflowName, contract.DigestInput{TenantID: r.TenantID, UserID: r.UserID, Channel: ch, Group: group})
	if err != nil {
		return fmt.Errorf("starting the digest of %s on %s: %w", r.UserID, r.Channel, err)
	}
	return q.MarkDigestWindowArmed(ctx, dbq.MarkDigestWindowArmedParams(r))
}

// RunDigestArmer arms digest windows every interval until ctx ends. Every
// worker process runs one.
func (s *Service) RunDigestArmer(ctx context.Context, every time.Duration) {
	periodic.Run(ctx, every, s.log(), "arming digest windows", func(ctx context.Context) error {
		_, err := s.ArmDigests(ctx)
		return err
	})
}
