package schedule

import (
	"testing"
	"time"
)

// TestSummary checks schedules against what Airflow 3 shows for the same
// timetable (timetable_summary).
func TestSummary(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"", "None"},
		{"@once", "@once"},
		{"@every 24h0m0s", "1 day, 0:00:00"},
		{"@every 48h0m0s", "2 days, 0:00:00"},
		{"@every 1h30m0s", "1:30:00"},
		{"@every 30m0s", "0:30:00"},
		{"@every 25h0m1.5s", "1 day, 1:00:01.500000"},
		{"@every 168h0m0s", "7 days, 0:00:00"},
		{"@daily", "0 0 * * *"},
		{"@hourly", "0 * * * *"},
		{"@quarterly", "0 0 1 */3 *"},
		{"@midnight", "@midnight"},
		{"0 3 * * 1-5", "0 3 * * 1-5"},
	} {
		if got := Summary(c.in); got != c.want {
			t.Errorf("Summary(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := PythonTimedelta(-time.Second); got != "-1 day, 23:59:59" {
		t.Errorf("PythonTimedelta(-1s) = %q", got)
	}
	if _, err := New("@quarterly", ""); err != nil {
		t.Errorf("@quarterly (an Airflow preset): %v", err)
	}
}
