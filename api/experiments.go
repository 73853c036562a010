package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/intake"
	"github.com/heraldhq/herald/quiet"
)

// Bounds of an experiment.
const (
	maxVariants    = 20
	maxSampleSize  = 1_000_000_000
	maxExperimentN = 200 // name length
)

type experimentRequest struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Variants      []string `json:"variants"`
	MinSampleSize int64    `json:"min_sample_size"`
	CheckAt       string   `json:"check_at,omitempty"`
	// Link is the experiment's page: the ready notification's button.
	// Omitted when empty, so experiments posted before it keep their
	// request hash and a repeat of one is still the same experiment.
	Link string `json:"link,omitempty"`
}

// postExperiment stores an experiment and starts its workflow, which checks
// the samples daily at check_at (09:00 unless set) in the tenant's zone.
// The same experiment posted again answers its current state (and starts
// its workflow if an earlier start failed); a different one under the same
// ID is a conflict.
func (s *Server) postExperiment(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	var req experimentRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := validID("id", req.ID); err != nil {
		return err
	}
	if req.Name == "" || len(req.Name) > maxExperimentN {
		return invalidField("name", "name is 1 to %d characters", maxExperimentN)
	}
	if len(req.Variants) < 2 || len(req.Variants) > maxVariants {
		return invalidField("variants", "an experiment has 2 to %d variants", maxVariants)
	}
	for i, v := range req.Variants {
		if err := validID("variants", v); err != nil {
			return err
		}
		if slices.Contains(req.Variants[:i], v) {
			return invalidField("variants", "variant %s is listed twice", v)
		}
	}
	if req.MinSampleSize < 1 || req.MinSampleSize > maxSampleSize {
		return invalidField("min_sample_size", "min_sample_size is 1 to %d", maxSampleSize)
	}
	if req.CheckAt == "" {
		req.CheckAt = "09:00"
	}
	if _, err := quiet.ParseClock(req.CheckAt); err != nil {
		return invalidField("check_at", "check_at is a local time as HH:MM, such as 09:00")
	}
	if err := checkLink("link", req.Link); err != nil {
		return err
	}
	def, _ := json.Marshal(req)
	hash := sha256.Sum256(def)
	wid := contract.ExperimentWorkflowID(tenant.ID, req.ID)
	start := intake.Start{TenantID: tenant.ID, WorkflowID: wid, WorkflowType: contract.ExperimentWorkflowName,
		Input: contract.ExperimentInput{TenantID: tenant.ID, ID: req.ID, Name: req.Name,
			Variants: req.Variants, MinSampleSize: req.MinSampleSize, CheckAt: req.CheckAt, Link: req.Link}}
	status := http.StatusCreated
	var owed intake.Owed
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbq.New(tx)
		_, err := q.InsertExperiment(ctx, dbq.InsertExperimentParams{TenantID: tenant.ID, ID: req.ID, RequestHash: hash[:], Definition: def})
		if isNoRows(err) {
			stored, err := q.GetExperiment(ctx, dbq.GetExperimentParams{TenantID: tenant.ID, ID: req.ID})
			if err != nil {
				return err
			}
			if string(stored.RequestHash) != string(hash[:]) {
				return newError(http.StatusConflict, "experiment_conflict", "experiment %s exists with a different definition", req.ID).with("id", req.ID)
			}
			status = http.StatusOK
		} else if err != nil {
			return fmt.Errorf("storing experiment %s: %w", req.ID, err)
		}
		// Stored with the start it owes: a start Temporal does not take now
		// is made by a worker's reconciler. A repeat owes it again, which
		// changes nothing for a workflow that runs.
		owed, err = intake.Owe(ctx, q, start)
		return err
	})
	if err != nil {
		return err
	}
	if err := s.intake.Make(ctx, owed); err != nil {
		// Accepted all the same: it runs once Temporal takes the start.
		return c.JSON(status, contract.ExperimentView{ID: req.ID, Name: req.Name, Variants: req.Variants,
			MinSampleSize: req.MinSampleSize, CheckAt: req.CheckAt, Link: req.Link,
			ExperimentState: contract.ExperimentState{Status: contract.ExperimentRunning, Counts: map[string]int64{}}})
	}
	view, err := s.experimentState(ctx, wid)
	if err != nil {
		return err
	}
	return c.JSON(status, view)
}

// experiment loads a stored experiment's definition, or answers 404.
func (s *Server) experiment(c echo.Context) (experimentRequest, string, error) {
	var def experimentRequest
	tenant := tenantOf(c)
	row, err := dbq.New(s.pool).GetExperiment(c.Request().Context(), dbq.GetExperimentParams{TenantID: tenant.ID, ID: c.Param("id")})
	if isNoRows(err) {
		return def, "", notFound("experiment")
	}
	if err != nil {
		return def, "", err
	}
	if err := json.Unmarshal(row.Definition, &def); err != nil {
		return def, "", fmt.Errorf("experiment %s: %w", row.ID, err)
	}
	return def, contract.ExperimentWorkflowID(tenant.ID, row.ID), nil
}

func (s *Server) experimentState(ctx context.Context, wid string) (contract.ExperimentView, error) {
	var view contract.ExperimentView
	res, err := s.temporal.QueryWorkflow(ctx, wid, "", contract.QueryExperiment)
	if err == nil {
		err = res.Get(&view)
	}
	if err != nil {
		s.log.WarnContext(ctx, "querying an experiment", "workflow_id", wid, "error", err)
		return view, newError(http.StatusServiceUnavailable, "temporal_unavailable", "the experiment's state could not be read from Temporal; try again")
	}
	return view, nil
}

// getExperiment answers from the experiment's workflow: a query.
func (s *Server) getExperiment(c echo.Context) error {
	_, wid, err := s.experiment(c)
	if err != nil {
		return err
	}
	view, err := s.experimentState(c.Request().Context(), wid)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view)
}

// postSamples passes the current totals to the experiment (a signal): the
// latest totals win, variant by variant, and they count at the next check.
func (s *Server) postSamples(c echo.Context) error {
	def, wid, err := s.experiment(c)
	if err != nil {
		return err
	}
	var req struct {
		Counts map[string]int64 `json:"counts"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	if len(req.Counts) == 0 {
		return invalidField("counts", "counts names each variant's current total, such as {\"a\": 120, \"b\": 98}")
	}
	for v, n := range req.Counts {
		if !slices.Contains(def.Variants, v) {
			return unknownVariant(def.ID, v)
		}
		if n < 0 {
			return invalidField("counts", "count of %s is negative", v)
		}
	}
	err = s.temporal.SignalWorkflow(c.Request().Context(), wid, "", contract.SignalSamples, req.Counts)
	var gone *serviceerror.NotFound
	switch {
	case errors.As(err, &gone):
		return newError(http.StatusConflict, "experiment_concluded", "experiment %s has concluded; it takes no more samples", def.ID)
	case err != nil:
		return fmt.Errorf("passing samples to experiment %s: %w", def.ID, err)
	}
	return c.JSON(http.StatusAccepted, map[string]any{"experiment_id": def.ID, "counts": req.Counts})
}

// concludeExperiment records the winner through the workflow's update,
// whose validator refuses an unknown variant and a second conclusion; the
// answer is the final state.
func (s *Server) concludeExperiment(c echo.Context) error {
	ctx := c.Request().Context()
	def, wid, err := s.experiment(c)
	if err != nil {
		return err
	}
	var req struct {
		Winner string `json:"winner"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	if !slices.Contains(def.Variants, req.Winner) {
		return unknownVariant(def.ID, req.Winner)
	}
	h, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: wid, UpdateName: contract.UpdateConclude,
		Args: []any{req.Winner}, WaitForStage: client.WorkflowUpdateStageCompleted})
	var view contract.ExperimentView
	if err == nil {
		err = h.Get(ctx, &view)
	}
	var appErr *temporal.ApplicationError
	var gone *serviceerror.NotFound
	switch {
	case err == nil:
		return c.JSON(http.StatusOK, view)
	case errors.As(err, &appErr) && appErr.Type() == contract.ErrTypeAlreadyConcluded, errors.As(err, &gone):
		done, qerr := s.experimentState(ctx, wid)
		if qerr != nil {
			return qerr
		}
		return newError(http.StatusConflict, "already_concluded", "experiment %s was concluded already: %s won", def.ID, done.Winner).
			with("winner", done.Winner).with("concluded_at", done.ConcludedAt)
	case errors.As(err, &appErr) && appErr.Type() == contract.ErrTypeUnknownVariant:
		return unknownVariant(def.ID, req.Winner)
	}
	return fmt.Errorf("concluding experiment %s: %w", def.ID, err)
}

func unknownVariant(id, v string) error {
	return newError(http.StatusUnprocessableEntity, "unknown_variant", "experiment %s has no variant %q", id, v).with("variant", v)
}
