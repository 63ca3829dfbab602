package schedule

import (
	"fmt"
	"strings"
	"time"
)

// airflowPresets are the presets Airflow itself expands into cron
// expressions (airflow.utils.dates.cron_presets); its cron timetables keep
// any other preset ("@midnight", "@annually") as written.
var airflowPresets = map[string]string{
	"@hourly":    "0 * * * *",
	"@daily":     "0 0 * * *",
	"@weekly":    "0 0 * * 0",
	"@monthly":   "0 0 1 * *",
	"@quarterly": "0 0 1 */3 *",
	"@yearly":    "0 0 1 1 *",
}

// Summary returns a normalised schedule the way Airflow 3 shows the same
// timetable (its timetable_summary, which `airflow dags list` and the REST
// API print): "None" for no schedule, "@once", a cron expression as
// Airflow's cron timetables hold it (the presets Airflow knows expanded, so
// "@daily" is "0 0 * * *"), and a duration as Python's str(timedelta), so
// one day is "1 day, 0:00:00".
func Summary(schedule string) string {
	s := strings.TrimSpace(schedule)
	switch {
	case s == "":
		return "None"
	case strings.HasPrefix(s, EveryPrefix):
		d, err := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(s, EveryPrefix)))
		if err != nil {
			return s
		}
		return PythonTimedelta(d)
	}
	if cron, ok := airflowPresets[s]; ok {
		return cron
	}
	return s
}

// PythonTimedelta formats a duration as Python's str(timedelta):
// "0:30:00", "1 day, 0:00:00", "2 days, 3:04:05.500000".
func PythonTimedelta(d time.Duration) string {
	neg := d < 0
	us := d.Microseconds()
	if neg {
		us = -us
	}
	const usPerDay = 24 * 3600 * 1_000_000
	days, rest := us/usPerDay, us%usPerDay
	if neg {
		// Python normalises to a negative day count and a positive rest:
		// -1 second is "-1 day, 23:59:59".
		if rest > 0 {
			days, rest = -days-1, usPerDay-rest
		} else {
			days = -days
		}
	}
	secs, micros := rest/1_000_000, rest%1_000_000
	out := fmt.Sprintf("%d:%02d:%02d", secs/3600, secs/60%60, secs%60)
	if days != 0 {
		unit := "days"
		if days == 1 || days == -1 {
			unit = "day"
		}
		out = fmt.Sprintf("%d %s, %s", days, unit, out)
	}
	if micros != 0 {
		out += fmt.Sprintf(".%06d", micros)
	}
	return out
}
