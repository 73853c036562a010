package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// StreamOptions opens a user's notification stream.
type StreamOptions struct {
	// Token is the user's inbox token, for a client without the tenant's
	// API key.
	Token string
	// LastEventID resumes after the last notification a previous stream
	// sent (its Message.ID): what came in between is sent first.
	LastEventID string
}

// Stream is a user's open notification stream (Server-Sent Events).
type Stream struct {
	body io.ReadCloser
	r    *bufio.Reader
}

// StreamMessage is one message of a stream. Event is notification (Data is
// a Notification, ID its resume ID), state (some items changed state),
// count (Data is an UnreadCount) or end (the server ended the stream; Data
// says why).
type StreamMessage struct {
	Event string
	ID    string
	Data  json.RawMessage
}

// Notification decodes a notification message's item.
func (m StreamMessage) Notification() (*Notification, error) {
	if m.Event != "notification" {
		return nil, fmt.Errorf("herald client: a %s message carries no notification", m.Event)
	}
	var n Notification
	return &n, json.Unmarshal(m.Data, &n)
}

// StreamNotifications opens user id's notification stream; it lasts until
// ctx ends, Close is called or the server ends it. Only opening it is
// retried.
func (c *Client) StreamNotifications(ctx context.Context, id string, opts StreamOptions) (*Stream, error) {
	q := url.Values{}
	if opts.Token != "" {
		q.Set("token", opts.Token)
	}
	h := http.Header{"Accept": {"text/event-stream"}}
	if opts.LastEventID != "" {
		h.Set("Last-Event-ID", opts.LastEventID)
	}
	res, err := c.open(ctx, call{route: rStream, args: []string{id}, query: q, header: h})
	if err != nil {
		return nil, err
	}
	return &Stream{body: res.Body, r: bufio.NewReader(res.Body)}, nil
}

// Next waits for the stream's next message; it returns io.EOF when the
// stream has ended. Comments (heartbeats) are skipped.
func (s *Stream) Next() (StreamMessage, error) {
	var m StreamMessage
	var data []string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) && line == "" {
				return StreamMessage{}, io.EOF
			}
			return StreamMessage{}, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if m.Event == "" && data == nil {
				continue
			}
			if m.Event == "" {
				m.Event = "message" // the SSE default
			}
			m.Data = json.RawMessage(strings.Join(data, "\n"))
			return m, nil
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			m.Event = value
		case "id":
			m.ID = value
		case "data":
			data = append(data, value)
		}
	}
}

// Close ends the stream.
func (s *Stream) Close() error { return s.body.Close() }
