package schedule

import (
	"fmt"
	"strconv"
	"strings"
)

var presetCron = map[string]string{
	"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
	"@monthly": "0 0 1 * *", "@quarterly": "0 0 1 */3 *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
}

var weekdays = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}

// Describe says in words when a cron schedule fires, in the words of the
// cron descriptor that Airflow's timetable_description uses ("At 00:00",
// "Every 15 minutes", "At 06:30, only on Monday") for the common shapes; an
// expression it has no words for is returned as it is.
func Describe(expr string) string {
	e := strings.TrimSpace(expr)
	if c, ok := presetCron[e]; ok {
		e = c
	}
	f := strings.Fields(e)
	if len(f) != 5 {
		return expr
	}
	min, hour, dom, mon, dow := f[0], f[1], f[2], f[3], f[4]
	num := func(s string, lo, hi int) (int, bool) {
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= lo && n <= hi
	}
	m, mOK := num(min, 0, 59)
	h, hOK := num(hour, 0, 23)
	var base string
	switch {
	case mOK && hOK:
		base = fmt.Sprintf("At %02d:%02d", h, m)
	case mOK && hour == "*":
		if m == 0 {
			base = "Every hour"
		} else {
			base = fmt.Sprintf("At %d minutes past the hour", m)
		}
	case min == "*" && hour == "*":
		base = "Every minute"
	case strings.HasPrefix(min, "*/") && hour == "*":
		n, ok := num(strings.TrimPrefix(min, "*/"), 1, 59)
		if !ok {
			return expr
		}
		base = fmt.Sprintf("Every %d minutes", n)
	case mOK && strings.HasPrefix(hour, "*/"):
		n, ok := num(strings.TrimPrefix(hour, "*/"), 1, 23)
		if !ok {
			return expr
		}
		base = fmt.Sprintf("At %d minutes past the hour, every %d hours", m, n)
	default:
		return expr
	}
	switch {
	case dom == "*" && mon == "*" && dow == "*":
		return base
	case dom == "*" && mon == "*":
		d, ok := num(dow, 0, 7)
		if !ok {
			return expr
		}
		return base + ", only on " + weekdays[d]
	case mon == "*" && dow == "*":
		d, ok := num(dom, 1, 31)
		if !ok {
			return expr
		}
		return fmt.Sprintf("%s, on day %d of the month", base, d)
	case mon == "*/3" && dow == "*" && dom == "1":
		return base + ", on day 1 of the month, every 3 months"
	case dow == "*":
		d, ok1 := num(dom, 1, 31)
		mo, ok2 := num(mon, 1, 12)
		if !ok1 || !ok2 {
			return expr
		}
		return fmt.Sprintf("%s, on day %d of the month, only in %s", base, d,
			[]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}[mo-1])
	}
	return expr
}
