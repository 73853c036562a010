package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/intake"
	"github.com/heraldhq/herald/integrations"
)

// testWait bounds how long the answer waits for the sample's deliveries; a
// channel still retrying by then is answered as pending.
const testWait = 20 * time.Second

type testRequest struct {
	UserID string `json:"user_id"`
}

// testOutcome is one channel's (or one Slack post's) answer.
type testOutcome struct {
	Channel channel.Channel `json:"channel"`
	// Target is the Slack channel of a post, "webhook" for the tenant
	// endpoint, or the user for their own channels.
	Target string `json:"target"`
	// Status is a delivery status, or not_configured.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
}

type testResponse struct {
	EventID  string        `json:"event_id"`
	UserID   string        `json:"user_id"`
	Channels []testOutcome `json:"channels"`
}

// testNotification sends a sample through every channel the tenant has
// configured: in-app and email (and a Slack DM and their own webhook, where
// set up) to one user (default: the first owner), a post to every Slack
// route, and the tenant webhook; then answers each one's outcome. It is
// urgent, so quiet hours do not hold it.
func (s *Server) testNotification(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	var req testRequest
	if c.Request().ContentLength != 0 {
		if err := decode(c, &req); err != nil {
			return err
		}
	}
	q := dbq.New(s.pool)
	if req.UserID == "" {
		owner, err := q.FirstOwner(ctx, tenant.ID)
		if isNoRows(err) {
			return invalidField("user_id", "the tenant has no owner to send to; name a user_id")
		}
		if err != nil {
			return err
		}
		req.UserID = owner
	}
	acc, err := s.intake.Submit(ctx, tenant.ID, intake.Request{
		Type: catalog.TestNotification, Recipients: &intake.Recipients{Users: []string{req.UserID}}, Urgent: true,
	})
	if err != nil {
		return fromIntake(err)
	}
	// Wait until no delivery is pending (the run itself may go on, waiting
	// for a retry of what failed); whatever the wait ends with, the rows say
	// where each channel got to.
	deadline := time.Now().Add(testWait)
	for time.Now().Before(deadline) {
		t, err := q.TallyEvent(ctx, acc.EventID)
		if err != nil {
			return err
		}
		if t.Pending == 0 && t.Delivered+t.Failed+t.Skipped > 0 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	rows, err := q.EventDeliveries(ctx, dbq.EventDeliveriesParams{EventID: acc.EventID, MaxRows: 100})
	if err != nil {
		return err
	}
	out := testResponse{EventID: acc.EventID.String(), UserID: req.UserID, Channels: []testOutcome{}}
	seen := map[channel.Channel]bool{}
	for _, d := range rows {
		o := testOutcome{Channel: d.Channel, Target: d.UserID, Status: string(d.Status), Reason: string(d.Reason), Error: d.Error}
		if integrations.EventLevel(d.UserID) {
			o.Target = integrations.Describe(d.UserID)
		}
		out.Channels = append(out.Channels, o)
		seen[d.Channel] = true
	}
	for _, ch := range channel.All {
		if !seen[ch] {
			out.Channels = append(out.Channels, testOutcome{Channel: ch, Status: "not_configured"})
		}
	}
	return c.JSON(http.StatusOK, out)
}
