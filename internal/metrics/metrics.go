// Package metrics holds Herald's Prometheus metrics, on one registry that the
// API serves at /metrics (and a worker at HERALD_METRICS_ADDR). Label values
// are bounded: routes are patterns, event types are catalog keys or
// "custom", and no user, event or tenant ID is ever a label. The Temporal
// SDK's own metrics (temporal_*) are on the same registry; see Temporal.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds every Herald metric and the Go runtime's.
var Registry = prometheus.NewRegistry()

var with = promauto.With(Registry)

var (
	// HTTPRequests counts API requests by route pattern, method and status.
	HTTPRequests = with.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_http_requests_total", Help: "API requests by route pattern, method and status.",
	}, []string{"route", "method", "status"})
	// HTTPDuration is API request latency by route pattern and method.
	HTTPDuration = with.NewHistogramVec(prometheus.HistogramOpts{
		Name: "herald_http_request_duration_seconds", Help: "API request latency.", Buckets: prometheus.DefBuckets,
	}, []string{"route", "method"})
	// EventsAccepted counts events accepted (not repeats) by type.
	EventsAccepted = with.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_events_accepted_total", Help: "Events accepted, by type (tenant-defined types count as custom).",
	}, []string{"type"})
	// Deliveries counts delivery outcomes by channel, outcome (delivered,
	// failed, skipped, deferred) and skip reason.
	Deliveries = with.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_deliveries_total", Help: "Delivery outcomes by channel, outcome and skip reason.",
	}, []string{"channel", "outcome", "reason"})
	// DeliveryLatency is the time from an event's acceptance to a delivery
	// of it being recorded delivered, by channel.
	DeliveryLatency = with.NewHistogramVec(prometheus.HistogramOpts{
		Name: "herald_delivery_latency_seconds", Help: "From event accepted to delivered, by channel.",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600},
	}, []string{"channel"})
	// Outbound is the latency of calls to Slack and webhook endpoints by
	// kind and result (ok or error).
	Outbound = with.NewHistogramVec(prometheus.HistogramOpts{
		Name: "herald_outbound_call_duration_seconds", Help: "Slack and webhook calls, by kind and result.",
		Buckets: prometheus.DefBuckets,
	}, []string{"kind", "result"})
	// LostClaims counts outcomes an attempt could not record because its
	// claim had run out and another attempt held the delivery: each is a
	// possible second copy (with the same Message-ID or webhook-id).
	LostClaims = with.NewCounter(prometheus.CounterOpts{
		Name: "herald_delivery_claims_lost_total", Help: "Outcomes not recorded because another attempt held the delivery.",
	})
	// SMTPRelayState is each SMTP relay's circuit breaker in a worker: 0
	// closed (in use), 1 open (failed repeatedly, skipped for its
	// cool-down), 2 half-open (probed by one batch). relay is its position
	// in HERALD_SMTP_URL from 0, host its host:port; never credentials.
	SMTPRelayState = with.NewGaugeVec(prometheus.GaugeOpts{
		Name: "herald_smtp_relay_state", Help: "SMTP relay circuit breaker: 0 closed, 1 open, 2 half-open.",
	}, []string{"relay", "host"})
	// StreamsOpen counts the inbox streams (Server-Sent Events) open on this
	// API process.
	StreamsOpen = with.NewGauge(prometheus.GaugeOpts{
		Name: "herald_inbox_streams_open", Help: "Inbox streams (SSE) open on this API process.",
	})
	// RetentionPruned counts rows retention removed, by table
	// (notifications, deliveries, events, audit_log).
	RetentionPruned = with.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_retention_pruned_rows_total", Help: "Rows removed by retention, by table.",
	}, []string{"table"})
	// AuditPartitionsEnd is when the audit trail's newest partition ends
	// (Unix seconds). There is no default partition, so an outcome
	// recorded after it fails: alert when it is less than a month away
	// (retention keeps three months ahead, every hour).
	AuditPartitionsEnd = with.NewGauge(prometheus.GaugeOpts{
		Name: "herald_audit_partitions_end_timestamp_seconds",
		Help: "When the audit trail's newest partition ends (Unix seconds); outcomes after it cannot be recorded.",
	})
)

func init() {
	Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// Handler serves the registry in the Prometheus text format.
func Handler() http.Handler { return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{}) }

// Result is an outbound call's result label.
func Result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}
