package metrics

import (
	"strings"
	"testing"
	"time"
)

// The worker-commands queue's per-client UUID must not reach a label, and
// Herald's own queue names must reach it unchanged.
func TestTemporalLabelsStayBounded(t *testing.T) {
	h := Temporal()
	for _, q := range []string{
		"temporal-sys/worker-commands/default/0b8f3c2e-1111-4a4a-9c9c-000000000001",
		"temporal-sys/worker-commands/default/0b8f3c2e-2222-4a4a-9c9c-000000000002",
		"herald-eu.1",
	} {
		h.WithTags(map[string]string{"task_queue": q}).Counter("herald_test_polls").Inc(1)
	}
	// Counters reach the registry on the scope's one-second flush.
	var values map[string]float64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if values = taskQueues(t, "herald_test_polls_total"); values["temporal-sys/worker-commands"] == 2 && values["herald-eu.1"] == 1 {
			break
		}
	}
	if len(values) != 2 || values["temporal-sys/worker-commands"] != 2 || values["herald-eu.1"] != 1 {
		t.Errorf("task_queue values: %v", values)
	}
	for v := range values {
		if strings.Contains(v, "0b8f3c2e") {
			t.Errorf("a client ID is a label value: %q", v)
		}
	}
}

// taskQueues maps each task_queue label value of the counter name to its value.
func taskQueues(t *testing.T, name string) map[string]float64 {
	t.Helper()
	mfs, err := Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "task_queue" {
					values[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return values
}
