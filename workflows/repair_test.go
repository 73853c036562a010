package workflows

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/delivery"
)

// repairEnv runs an event whose one email fails for good on its first send;
// later sends deliver when deliverOnRetry says so. It counts requeues and
// sends, and records the IDs each requeue asked for.
type repairEnv struct {
	t        *testing.T
	failed   uuid.UUID
	sends    atomic.Int32
	requeues [][]uuid.UUID
	// deliverOnRetry answers each retry send in turn.
	deliverOnRetry []bool
}

func (r *repairEnv) run(signalAt ...[]time.Duration) (NotifyResult, time.Duration) {
	env := newEnv(r.t)
	r.failed = uuid.New()
	in := input
	in.Engine = EngineCurrent
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(
		activities.PageResult{Delivered: 1, Batches: []activities.Batch{{Channel: channel.Email, DeliveryIDs: []uuid.UUID{r.failed}}}}, nil)
	stillFailed := 1
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
			n := int(r.sends.Add(1))
			if n > 1 && n-2 < len(r.deliverOnRetry) && r.deliverOnRetry[n-2] {
				stillFailed = 0
				return activities.DeliverResult{Delivered: len(in.DeliveryIDs)}, nil
			}
			return activities.DeliverResult{Failed: len(in.DeliveryIDs)}, nil
		})
	env.OnActivity(a.RequeueFailed, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RequeueInput) (activities.RequeueResult, error) {
			r.requeues = append(r.requeues, in.IDs)
			if stillFailed == 0 {
				return activities.RequeueResult{}, nil
			}
			return activities.RequeueResult{Batches: []activities.Batch{{Channel: channel.Email, DeliveryIDs: []uuid.UUID{r.failed}}}}, nil
		})
	env.OnActivity(a.TallyEvent, mock.Anything, mock.Anything).Return(
		func(context.Context, uuid.UUID) (activities.Tally, error) {
			return activities.Tally{Delivered: 2 - stillFailed, Failed: stillFailed}, nil
		})
	env.OnActivity(a.CloseEvent, mock.Anything, mock.Anything).Return(nil)
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	start := env.Now()
	// Each group's signals arrive together, in one callback.
	for _, group := range signalAt {
		for at, n := range counts(group) {
			env.RegisterDelayedCallback(func() {
				for range n {
					env.SignalWorkflow(SignalRetry, []uuid.UUID{r.failed})
				}
			}, at)
		}
	}
	res := runOK(r.t, env, in)
	return res, env.Now().Sub(start)
}

func counts(ds []time.Duration) map[time.Duration]int {
	m := map[time.Duration]int{}
	for _, d := range ds {
		m[d]++
	}
	return m
}

func TestRetryBeforeTheWindowEnds(t *testing.T) {
	r := &repairEnv{t: t, deliverOnRetry: []bool{true}}
	res, took := r.run([]time.Duration{48 * time.Hour})
	if res.Status != delivery.EventDelivered || res.Failed != 0 {
		t.Errorf("result %+v, want delivered after the retry", res)
	}
	if took > 49*time.Hour {
		t.Errorf("the run took %v: it must end once the retry delivered, not wait out the window", took)
	}
	if len(r.requeues) != 1 || len(r.requeues[0]) != 1 || r.requeues[0][0] != r.failed || r.sends.Load() != 2 {
		t.Errorf("requeues %v, sends %d; want the failed delivery requeued once and sent again once", r.requeues, r.sends.Load())
	}
}

func TestNoRetryWithinTheWindow(t *testing.T) {
	r := &repairEnv{t: t}
	res, took := r.run()
	if res.Status != delivery.EventPartial || res.Failed != 1 {
		t.Errorf("result %+v, want partial (in-app delivered, email failed)", res)
	}
	if took < RetryWindow || took > RetryWindow+time.Minute {
		t.Errorf("the run ended after %v, want after the %v retry window", took, RetryWindow)
	}
	if len(r.requeues) != 0 || r.sends.Load() != 1 {
		t.Errorf("requeues %v, sends %d; want none and one", r.requeues, r.sends.Load())
	}
}

func TestTwoSignalsAtOnceRetryOnce(t *testing.T) {
	r := &repairEnv{t: t, deliverOnRetry: []bool{true}}
	res, _ := r.run([]time.Duration{time.Hour, time.Hour}) // two signals in one callback
	if res.Status != delivery.EventDelivered {
		t.Errorf("result %+v", res)
	}
	if len(r.requeues) != 1 || len(r.requeues[0]) != 1 || r.sends.Load() != 2 {
		t.Errorf("requeues %v, sends %d; want one requeue of one delivery and one re-send", r.requeues, r.sends.Load())
	}
}

func TestRetryThatFailsAgainWaitsAgain(t *testing.T) {
	r := &repairEnv{t: t, deliverOnRetry: []bool{false, true}}
	res, took := r.run([]time.Duration{time.Hour, 6 * 24 * time.Hour})
	if res.Status != delivery.EventDelivered {
		t.Errorf("result %+v, want delivered by the second retry", res)
	}
	// The window restarts after each round: the second retry, 6 days after
	// the first, is inside it.
	if took < 6*24*time.Hour || len(r.requeues) != 2 || r.sends.Load() != 3 {
		t.Errorf("took %v with requeues %v and %d sends; want two rounds", took, r.requeues, r.sends.Load())
	}
}
