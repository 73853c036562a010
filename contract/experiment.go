package contract

import (
	"time"

	"github.com/google/uuid"
)

// ExperimentWorkflowName is the registered name of Experiment.
const ExperimentWorkflowName = "Experiment"

// ExperimentWorkflowID is an experiment's workflow ID.
func ExperimentWorkflowID(tenantID uuid.UUID, id string) string {
	return "experiment/" + tenantID.String() + "/" + id
}

// The experiment's signal, update and query.
const (
	SignalSamples   = "samples"  // current totals per variant
	UpdateConclude  = "conclude" // the winner
	QueryExperiment = "state"
)

// Errors the conclude update's validator answers with, as their types.
const (
	ErrTypeAlreadyConcluded = "AlreadyConcluded"
	ErrTypeUnknownVariant   = "UnknownVariant"
)

// Experiment statuses.
const (
	ExperimentRunning   = "running"   // waiting for every variant's minimum sample
	ExperimentReady     = "ready"     // stamped and notified; waiting for a winner
	ExperimentConcluded = "concluded" // a winner was recorded
)

// ExperimentInput starts an Experiment run; State carries a run's state
// into the next when it continues as new.
type ExperimentInput struct {
	TenantID      uuid.UUID `json:"tenant_id"`
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Variants      []string  `json:"variants"`
	MinSampleSize int64     `json:"min_sample_size"`
	CheckAt       string    `json:"check_at"`
	// Link is the experiment's page in the product: its notifications'
	// button. Inputs started before it existed have none.
	Link  string           `json:"link,omitempty"`
	State *ExperimentState `json:"state,omitempty"`
}

// ExperimentState is what an experiment knows, and what its query answers.
type ExperimentState struct {
	Status      string           `json:"status"`
	Counts      map[string]int64 `json:"counts"`
	Checks      int              `json:"checks"`
	NextCheckAt *time.Time       `json:"next_check_at"`
	ReadyAt     *time.Time       `json:"ready_at"`
	Winner      string           `json:"winner,omitempty"`
	ConcludedAt *time.Time       `json:"concluded_at"`
	// ReadyEventID is the experiment_ready event, once stamped.
	ReadyEventID *uuid.UUID `json:"ready_event_id,omitempty"`
}

// ExperimentView is the query's answer: the definition and the state.
type ExperimentView struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Variants      []string `json:"variants"`
	MinSampleSize int64    `json:"min_sample_size"`
	CheckAt       string   `json:"check_at"`
	Link          string   `json:"link,omitempty"`
	ExperimentState
}
