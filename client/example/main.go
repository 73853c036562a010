// Command example posts an event to Herald with the Go client and waits
// until each of its deliveries has gone out (or failed, or was skipped).
//
//	HERALD_URL=http://127.0.0.1:8080 HERALD_API_KEY=hk_… go run ./example -user ada -email ada@example.com
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/heraldhq/herald/client"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

func run() error {
	user := flag.String("user", "ada", "the recipient's user ID")
	email := flag.String("email", "", "create or update the user with this address first")
	timeout := flag.Duration("timeout", 2*time.Minute, "how long to wait for the deliveries")
	flag.Parse()
	base := os.Getenv("HERALD_URL")
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	c, err := client.New(base, os.Getenv("HERALD_API_KEY"))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	if *email != "" {
		if _, err := c.PutUser(ctx, *user, client.UserInput{Email: email}); err != nil {
			return fmt.Errorf("creating user %s: %w", *user, err)
		}
	}
	acc, err := c.PostEvent(ctx, client.EventRequest{
		Type:       "issue.assigned",
		Recipients: &client.Recipients{Users: []string{*user}},
		Data:       map[string]any{"issue_key": "PROJ-123", "title": "Fix login bug"},
		Link:       "https://app.example/issues/PROJ-123",
	})
	if err != nil {
		return fmt.Errorf("posting the event: %w", err)
	}
	fmt.Printf("event %s accepted (workflow %s)\n", acc.EventID, acc.WorkflowID)

	deliveries, err := waitForDeliveries(ctx, c, acc.EventID)
	for _, d := range deliveries {
		fmt.Printf("  %-8s %-9s %s%s\n", d.Channel, d.Status, d.Reason, d.Error)
	}
	return err
}

// waitForDeliveries waits for the event to settle (its status leaves
// pending once every delivery has gone out, failed or been skipped), then
// reads all of its deliveries from the delivery log.
func waitForDeliveries(ctx context.Context, c *client.Client, eventID string) ([]client.Delivery, error) {
	for {
		ev, err := c.GetEvent(ctx, eventID)
		if err != nil {
			return nil, err
		}
		if ev.Status != client.EventPending {
			break
		}
		select {
		case <-ctx.Done():
			return ev.Deliveries, errors.New("the event is still pending (quiet hours or a digest may hold it)")
		case <-time.After(500 * time.Millisecond):
		}
	}
	var all []client.Delivery
	filter := client.DeliveryFilter{EventID: eventID}
	for {
		page, err := c.ListDeliveries(ctx, filter)
		if err != nil {
			return all, err
		}
		all = append(all, page.Data...)
		if page.NextCursor == "" {
			return all, nil
		}
		filter.Cursor = page.NextCursor
	}
}
