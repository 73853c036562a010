package workflows

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/delivery"
)

// repairEnv runs an event to one recipient, in-app and by email, whose
// email is refused on its first send; later sends deliver when
// deliverOnRetry says so. It counts requeues and sends.
type repairEnv struct {
	t      *testing.T
	s      *store
	failed uuid.UUID
	// deliverOnRetry answers each retry send in turn.
	deliverOnRetry []bool
}

func (r *repairEnv) run(signalAt ...[]time.Duration) (contract.NotifyResult, time.Duration) {
	r.s = newStore(r.t)
	r.s.pages[""] = storePage{users: 1, chans: []channel.Channel{channel.InApp, channel.Email}}
	sends := 0
	r.s.answer = func(row *row, _ int) answer {
		if row.ch != channel.Email {
			return accept
		}
		r.failed = row.id
		sends++
		if sends > 1 && sends-2 < len(r.deliverOnRetry) && r.deliverOnRetry[sends-2] {
			return accept
		}
		return refuse
	}
	// Each group's signals arrive together, in one callback.
	for _, group := range signalAt {
		for at, n := range counts(group) {
			r.s.env.RegisterDelayedCallback(func() {
				for range n {
					r.s.env.SignalWorkflow(contract.SignalRetry, []uuid.UUID{r.failed})
				}
			}, at)
		}
	}
	return r.s.run(input)
}

func (r *repairEnv) requeues() int { return r.s.count("RequeueFailed") }
func (r *repairEnv) sends() int    { return r.s.count("Deliver") }

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
	if r.requeues() != 1 || r.sends() != 2 {
		t.Errorf("requeues %d, sends %d; want the failed delivery requeued once and sent again once", r.requeues(), r.sends())
	}
}

func TestNoRetryWithinTheWindow(t *testing.T) {
	r := &repairEnv{t: t}
	res, took := r.run()
	if res.Status != delivery.EventPartial || res.Failed != 1 {
		t.Errorf("result %+v, want partial (in-app delivered, email failed)", res)
	}
	if took < contract.RetryWindow || took > contract.RetryWindow+time.Minute {
		t.Errorf("the run ended after %v, want after the %v retry window", took, contract.RetryWindow)
	}
	if r.requeues() != 0 || r.sends() != 1 {
		t.Errorf("requeues %d, sends %d; want none and one", r.requeues(), r.sends())
	}
}

func TestTwoSignalsAtOnceRetryOnce(t *testing.T) {
	r := &repairEnv{t: t, deliverOnRetry: []bool{true}}
	res, _ := r.run([]time.Duration{time.Hour, time.Hour}) // two signals in one callback
	if res.Status != delivery.EventDelivered {
		t.Errorf("result %+v", res)
	}
	if copies := r.s.sent[r.failed]; copies != 1 || r.sends() != 2 {
		t.Errorf("%d sends and %d copies delivered; want one re-send, delivered once", r.sends(), copies)
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
	if took < 6*24*time.Hour || r.requeues() != 2 || r.sends() != 3 {
		t.Errorf("took %v with requeues %d and %d sends; want two rounds", took, r.requeues(), r.sends())
	}
}
