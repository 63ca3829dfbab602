package schedule

import "testing"

func TestDescribe(t *testing.T) {
	for expr, want := range map[string]string{
		"@daily":       "At 00:00",
		"0 0 * * *":    "At 00:00",
		"30 6 * * 1":   "At 06:30, only on Monday",
		"*/15 * * * *": "Every 15 minutes",
		"@hourly":      "Every hour",
		"5 * * * *":    "At 5 minutes past the hour",
		"0 0 1 * *":    "At 00:00, on day 1 of the month",
		"@yearly":      "At 00:00, on day 1 of the month, only in January",
		"0 9-17 * * *": "0 9-17 * * *",
	} {
		if got := Describe(expr); got != want {
			t.Errorf("Describe(%q) = %q, want %q", expr, got, want)
		}
	}
}
