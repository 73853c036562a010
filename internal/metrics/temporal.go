package metrics

import (
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// DroppedTemporal counts SDK metrics the registry refused, so a refusal is
// visible on /metrics instead of panicking inside the SDK's pollers.
var DroppedTemporal = with.NewCounter(prometheus.CounterOpts{
	Name: "herald_temporal_metrics_dropped_total", Help: "Temporal SDK metrics that could not be registered (a name reused with other labels).",
})

var (
	temporalOnce    sync.Once
	temporalHandler client.MetricsHandler
)

// Temporal returns the Temporal SDK's metrics handler, reporting to Registry
// as temporal_* series. Every client in the process (the API's, the
// worker's, several stacks in one test binary) shares it: a reporter
// registers each name on first use, and a second reporter on the same
// registry would be refused every name the first already holds.
func Temporal() client.MetricsHandler {
	temporalOnce.Do(func() {
		reporter := tallyprom.NewReporter(tallyprom.Options{
			Registerer: Registry,
			// Histograms aggregate across workers in PromQL; summaries do not.
			DefaultTimerType:        tallyprom.HistogramTimerType,
			DefaultHistogramBuckets: temporalBuckets,
			OnRegisterError:         func(error) { DroppedTemporal.Inc() },
		})
		// The scope lives as long as the process, like Registry, so its
		// closer is dropped.
		scope, _ := tally.NewRootScope(tally.ScopeOptions{
			CachedReporter:  reporter,
			Separator:       tallyprom.DefaultSeparator,
			SanitizeOptions: &sanitize,
			// tally's own cardinality gauges would be unprefixed series.
			OmitCardinalityMetrics: true,
		}, time.Second)
		temporalHandler = bounded{sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope))}
	})
	return temporalHandler
}

// sanitize keeps names and label keys to what Prometheus accepts but leaves
// label values alone (Prometheus takes any), so task_queue reads exactly as
// HERALD_TASK_QUEUE is set rather than with its dashes turned to underscores.
var sanitize = tally.SanitizeOptions{
	NameCharacters:       sdktally.PrometheusSanitizeOptions.NameCharacters,
	KeyCharacters:        sdktally.PrometheusSanitizeOptions.KeyCharacters,
	ValueCharacters:      tally.ValidCharacters{Ranges: []tally.SanitizeRange{{0, unicode.MaxRune}}},
	ReplacementCharacter: tally.DefaultReplacementCharacter,
}

// temporalBuckets reach past a long poll (about a minute) and an activity's
// ten-second outbound timeout.
var temporalBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}

// workerCommandsQueue is the prefix of the per-client task queue the SDK
// polls for worker commands; its tail is a UUID made afresh by every client,
// so each restart would add series.
const workerCommandsQueue = "temporal-sys/worker-commands/"

// bounded keeps the SDK's label values bounded. Herald's own task queue,
// workflow and activity types are fixed sets; only the worker-commands
// queue carries a per-process ID.
type bounded struct{ client.MetricsHandler }

func (b bounded) WithTags(tags map[string]string) client.MetricsHandler {
	if q, ok := tags["task_queue"]; ok && strings.HasPrefix(q, workerCommandsQueue) {
		c := make(map[string]string, len(tags))
		for k, v := range tags {
			c[k] = v
		}
		c["task_queue"] = strings.TrimSuffix(workerCommandsQueue, "/")
		tags = c
	}
	return bounded{b.MetricsHandler.WithTags(tags)}
}

// Unwrap lets sdktally.ScopeFromHandler reach the scope beneath.
func (b bounded) Unwrap() client.MetricsHandler { return b.MetricsHandler }
