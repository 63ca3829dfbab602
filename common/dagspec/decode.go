package dagspec

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gust-sched/gust/common/schedule"
)

// Value decoders for YAML nodes, each with a clear message.

func (p *parser) decode(n *yaml.Node, out any, ctx, want string) error {
	if err := resolve(n).Decode(out); err != nil {
		return p.errf(n, "%s: want %s", ctx, want)
	}
	return nil
}

func (p *parser) str(n *yaml.Node, ctx string) (string, error) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.errf(n, "%s: want a string", ctx)
	}
	return n.Value, nil
}

func (p *parser) boolean(n *yaml.Node, ctx string) (bool, error) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode {
		switch strings.ToLower(n.Value) {
		case "true", "yes", "on":
			return true, nil
		case "false", "no", "off":
			return false, nil
		}
	}
	return false, p.errf(n, "%s: want true or false", ctx)
}

func (p *parser) integer(n *yaml.Node, ctx string) (int, error) {
	n = resolve(n)
	v, err := strconv.ParseInt(n.Value, 10, 32)
	if n.Kind != yaml.ScalarNode || err != nil {
		return 0, p.errf(n, "%s: want an integer", ctx)
	}
	return int(v), nil
}

func (p *parser) nonNegative(n *yaml.Node, ctx string) (int, error) {
	v, err := p.integer(n, ctx)
	if err == nil && v < 0 {
		return 0, p.errf(n, "%s: must not be negative", ctx)
	}
	return v, err
}

func (p *parser) positive(n *yaml.Node, ctx string) (int, error) {
	v, err := p.integer(n, ctx)
	if err == nil && v < 1 {
		return 0, p.errf(n, "%s: must be at least 1", ctx)
	}
	return v, err
}

// seconds reads a number of seconds, or a duration such as "90s", "5m",
// "1h30m" or "2d".
func (p *parser) seconds(n *yaml.Node, ctx string) (float64, error) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode {
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil && f >= 0 && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f, nil
		}
		if d, ok := parseDuration(n.Value); ok {
			return d.Seconds(), nil
		}
	}
	if n.Kind == yaml.MappingNode {
		if d, ok := p.timedelta(n); ok {
			return d.Seconds(), nil
		}
	}
	return 0, p.errf(n, "%s: want a non-negative number of seconds or a duration like 90s, 5m, 2h", ctx)
}

// parseDuration accepts Go durations plus a trailing-days form ("2d").
func parseDuration(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "d") {
		if n, err := strconv.ParseFloat(strings.TrimSuffix(s, "d"), 64); err == nil && n > 0 {
			return time.Duration(n * 24 * float64(time.Hour)), true
		}
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, false
	}
	return d, true
}

// timedelta reads {days: 1, hours: 2, minutes: 3, seconds: 4}, optionally
// wrapped as {timedelta: {...}} or {__type__: timedelta, ...}.
func (p *parser) timedelta(n *yaml.Node) (time.Duration, bool) {
	var m map[string]any
	if err := n.Decode(&m); err != nil {
		return 0, false
	}
	if inner, ok := m["timedelta"].(map[string]any); ok && len(m) == 1 {
		m = inner
	}
	delete(m, "__type__")
	units := map[string]time.Duration{"weeks": 7 * 24 * time.Hour, "days": 24 * time.Hour, "hours": time.Hour, "minutes": time.Minute, "seconds": time.Second, "milliseconds": time.Millisecond}
	var d time.Duration
	for k, v := range m {
		u, ok := units[k]
		if !ok {
			return 0, false
		}
		var f float64
		switch x := v.(type) {
		case int:
			f = float64(x)
		case float64:
			f = x
		default:
			return 0, false
		}
		d += time.Duration(f * float64(u))
	}
	return d, d > 0
}

// schedule normalises a schedule: null/"None" -> "", cron and presets kept,
// durations and seconds -> "@every <duration>".
func (p *parser) schedule(n *yaml.Node, ctx string) (string, error) {
	n = resolve(n)
	if isNull(n) {
		return "", nil
	}
	if n.Kind == yaml.MappingNode {
		if d, ok := p.timedelta(n); ok {
			return schedule.NormalizeDuration(d), nil
		}
		return "", p.errf(n, "%s: want a cron expression, a preset, a duration or null", ctx)
	}
	if n.Kind != yaml.ScalarNode {
		return "", p.errf(n, "%s: want a cron expression, a preset, a duration or null", ctx)
	}
	s := strings.TrimSpace(n.Value)
	switch {
	case s == "None" || s == "null" || s == "":
		return "", nil
	case n.Tag == "!!int" || n.Tag == "!!float":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f <= 0 {
			return "", p.errf(n, "%s: a schedule in seconds must be positive", ctx)
		}
		return schedule.NormalizeDuration(time.Duration(f * float64(time.Second))), nil
	case strings.HasPrefix(s, "@every "):
		d, ok := parseDuration(strings.TrimPrefix(s, "@every "))
		if !ok {
			return "", p.errf(n, "%s: invalid duration in %q", ctx, s)
		}
		return schedule.NormalizeDuration(d), nil
	case strings.HasPrefix(s, "@") || strings.Contains(s, " "):
		if _, err := schedule.New(s, ""); err != nil {
			return "", p.errf(n, "%s: %v", ctx, err)
		}
		return s, nil
	}
	if d, ok := parseDuration(s); ok {
		return schedule.NormalizeDuration(d), nil
	}
	return "", p.errf(n, "%s: %q is neither a cron expression, a preset nor a duration", ctx, s)
}

var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
}

// date reads a date or datetime; one without a zone is in loc (the DAG's
// timezone), as Airflow reads naive datetimes.
func (p *parser) date(n *yaml.Node, ctx string, loc *time.Location) (time.Time, error) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode {
		s := strings.TrimSpace(n.Value)
		for _, layout := range dateLayouts {
			if t, err := time.ParseInLocation(layout, s, loc); err == nil {
				return t.UTC(), nil
			}
		}
		if d, ok := relativeTime(s); ok {
			// dag-factory's relative dates: the start of today, less d.
			now := p.opts.now().In(loc)
			day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
			return day.Add(-d).UTC(), nil
		}
	}
	return time.Time{}, p.errf(n, "%s: want a date like 2024-01-01, a datetime like 2024-01-01T06:00:00+00:00 or a time ago like \"2 days\"", ctx)
}

var relativeRE = regexp.MustCompile(`(?i)^\s*(?:(\d+)\s+(day|hour|minute|second)s?\s*)+(?:ago)?\s*$`)
var relativePartRE = regexp.MustCompile(`(?i)(\d+)\s+(day|hour|minute|second)s?`)

// relativeTime reads dag-factory's relative times: "2 days", "1 hours",
// "3 days 4 hours".
func relativeTime(s string) (time.Duration, bool) {
	if !relativeRE.MatchString(s) {
		return 0, false
	}
	units := map[string]time.Duration{"day": 24 * time.Hour, "hour": time.Hour, "minute": time.Minute, "second": time.Second}
	var d time.Duration
	for _, m := range relativePartRE.FindAllStringSubmatch(s, -1) {
		n, _ := strconv.Atoi(m[1])
		d += time.Duration(n) * units[strings.ToLower(m[2])]
	}
	return d, true
}

func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}
