package intake

import (
	"testing"

	"github.com/heraldhq/herald/prefs"
)

func TestSummarySpec(t *testing.T) {
	w := SummarySpec(prefs.SummaryWeekly, prefs.Summary{Enabled: true}, "Europe/Berlin")
	if w.TimeZoneName != "Europe/Berlin" || len(w.Calendars) != 1 {
		t.Fatalf("weekly spec %+v", w)
	}
	c := w.Calendars[0]
	if c.Hour[0].Start != 9 || c.Minute[0].Start != 0 || len(c.DayOfWeek) != 1 || c.DayOfWeek[0].Start != 1 {
		t.Fatalf("weekly digest is not Monday 09:00: %+v", c)
	}
	d := SummarySpec(prefs.SummaryDaily, prefs.Summary{Enabled: true, At: "17:45"}, "")
	c = d.Calendars[0]
	if d.TimeZoneName != "UTC" || c.Hour[0].Start != 17 || c.Minute[0].Start != 45 || len(c.DayOfWeek) != 0 {
		t.Fatalf("daily summary is not every day at 17:45 UTC: %+v %+v", d, c)
	}
}
