package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/channel"
)

// channelView is one entry of the channel list.
type channelView struct {
	Key       channel.Channel `json:"key"`
	Title     string          `json:"title"`
	Available bool            `json:"available"`
	// Status is "available" or "coming_soon".
	Status string `json:"status"`
}

var channelTitles = map[channel.Channel]string{
	channel.InApp: "In-app", channel.Email: "Email", channel.Slack: "Slack",
	channel.Webhook: "Webhook", channel.Push: "Push",
}

// listChannels answers every channel Herald lists, push among them as
// coming soon, so a client can show it without being able to choose it.
func (s *Server) listChannels(c echo.Context) error {
	out := make([]channelView, 0, len(channel.Listed))
	for _, ch := range channel.Listed {
		v := channelView{Key: ch, Title: channelTitles[ch], Available: ch.Valid(), Status: "available"}
		if ch.ComingSoon() {
			v.Status = "coming_soon"
		}
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out})
}
