// Package schedule turns a DAG's schedule into data intervals with Airflow 2's
// timetable semantics: a cron expression or preset gives
// CronDataIntervalTimetable, a duration gives DeltaDataIntervalTimetable,
// "@once" gives OnceTimetable and "" (YAML null) gives no schedule.
//
// A scheduled run covers [Start, End) and runs after End; its logical date
// is Start. With catchup every interval since start_date is run; without it
// only the latest complete one (and the ones after it).
package schedule

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // timezones work on machines without a zoneinfo database

	"github.com/robfig/cron/v3"
)

// Interval is a data interval [Start, End).
type Interval struct {
	Start time.Time
	End   time.Time
}

type kind int

const (
	kindNone kind = iota
	kindOnce
	kindCron
	kindDelta
	kindEvents
	kindContinuous
)

// Timetable computes a DAG's data intervals.
type Timetable struct {
	kind  kind
	cron  cron.Schedule
	delta time.Duration
	loc   *time.Location
	// trigger makes a cron or duration schedule Airflow's trigger timetable
	// (CronTriggerTimetable, DeltaTriggerTimetable): a run at each point,
	// whose data interval is the interval before it (none by default).
	trigger  bool
	interval time.Duration
	events   []time.Time // EventsTimetable's, sorted
	restrict bool        // restrict_to_events
}

// EveryPrefix starts the normalised form of a duration schedule.
const EveryPrefix = "@every "

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// presets are Airflow's cron presets (robfig/cron knows the same names, but
// spelling them out keeps the mapping visible and checked).
var presets = map[string]string{
	"@hourly":    "0 * * * *",
	"@daily":     "0 0 * * *",
	"@midnight":  "0 0 * * *",
	"@weekly":    "0 0 * * 0",
	"@monthly":   "0 0 1 * *",
	"@quarterly": "0 0 1 */3 *",
	"@yearly":    "0 0 1 1 *",
	"@annually":  "0 0 1 1 *",
}

// New returns the timetable of a normalised schedule in a timezone ("" is
// UTC). Schedule forms: "" (none), "@once", a preset, a five-field cron
// expression, or "@every <Go duration>".
func New(schedule, timezone string) (*Timetable, error) {
	return NewSpec(schedule, nil, timezone)
}

// NewSpec is New with the timetable a DAG chose (nil: a cron or duration
// schedule has data intervals, Airflow 2's timetables).
func NewSpec(schedule string, spec *Spec, timezone string) (*Timetable, error) {
	t, err := newTimetable(schedule, timezone)
	if err != nil || spec == nil {
		return t, err
	}
	return t.apply(spec)
}

func newTimetable(schedule, timezone string) (*Timetable, error) {
	loc := time.UTC
	if timezone != "" && !strings.EqualFold(timezone, "UTC") {
		l, err := time.LoadLocation(timezone)
		if err != nil {
			return nil, fmt.Errorf("unknown timezone %q", timezone)
		}
		loc = l
	}
	s := strings.TrimSpace(schedule)
	switch {
	case s == "":
		return &Timetable{kind: kindNone, loc: loc}, nil
	case s == "@once":
		return &Timetable{kind: kindOnce, loc: loc}, nil
	case s == Continuous:
		return &Timetable{kind: kindContinuous, loc: loc}, nil
	case strings.HasPrefix(s, EveryPrefix):
		d, err := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(s, EveryPrefix)))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("invalid duration schedule %q", schedule)
		}
		return &Timetable{kind: kindDelta, delta: d, loc: loc}, nil
	}
	if p, ok := presets[s]; ok {
		s = p
	} else if strings.HasPrefix(s, "@") {
		return nil, fmt.Errorf("unknown schedule preset %q (use @once, @hourly, @daily, @weekly, @monthly, @quarterly, @yearly or a cron expression)", schedule)
	}
	if n := len(strings.Fields(s)); n != 5 {
		return nil, fmt.Errorf("invalid cron expression %q: want 5 fields (minute hour day month weekday), got %d", schedule, n)
	}
	c, err := parser.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("invalid cron expression %q: %w", schedule, err)
	}
	// A cron that never fires (e.g. 30 February) is refused here rather than
	// silently never running.
	if c.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, loc)).IsZero() {
		return nil, fmt.Errorf("cron expression %q never fires", schedule)
	}
	return &Timetable{kind: kindCron, cron: c, loc: loc}, nil
}

// NormalizeDuration returns the normalised schedule string of a duration.
func NormalizeDuration(d time.Duration) string { return EveryPrefix + d.String() }

// IsScheduled reports whether the timetable creates runs by itself.
func (t *Timetable) IsScheduled() bool { return t.kind != kindNone }

// Next returns the next scheduled data interval and the time after which its
// run may be created, given the last automated (scheduled or backfill)
// interval (nil if none), the DAG's start and end dates, catchup and now.
// ok is false when there is no further run (end date passed, @once done, no
// schedule).
func (t *Timetable) Next(last *Interval, start time.Time, end *time.Time, catchup bool, now time.Time) (iv Interval, runAfter time.Time, ok bool) {
	start, now = start.In(t.loc), now.In(t.loc)
	switch {
	case t.kind == kindEvents:
		return t.nextEvent(last)
	case t.kind == kindContinuous:
		return nextContinuous(last, start, end, now)
	case t.trigger:
		return t.nextTrigger(last, start, end, catchup, now)
	}
	switch t.kind {
	case kindNone:
		return Interval{}, time.Time{}, false
	case kindOnce:
		if last != nil {
			return Interval{}, time.Time{}, false
		}
		if end != nil && start.After(*end) {
			return Interval{}, time.Time{}, false
		}
		return Interval{Start: start.UTC(), End: start.UTC()}, start.UTC(), true
	}
	var earliest time.Time
	if catchup {
		earliest = t.alignNext(start)
	} else {
		earliest = t.skipToLatest(start, now)
	}
	var s time.Time
	if last == nil {
		s = earliest
	} else {
		s = t.alignPrev(last.End.In(t.loc))
		if earliest.After(s) {
			s = earliest
		}
	}
	if end != nil && s.After(*end) {
		return Interval{}, time.Time{}, false
	}
	e := t.next(s)
	if e.IsZero() {
		return Interval{}, time.Time{}, false
	}
	return Interval{Start: s.UTC(), End: e.UTC()}, e.UTC(), true
}

// InferManual returns the data interval of a manual run at logical date at:
// for cron, the last complete period before it; for a duration, the period
// ending at it; otherwise [at, at].
func (t *Timetable) InferManual(at time.Time) Interval {
	at = at.In(t.loc)
	switch {
	case t.kind == kindEvents:
		return t.manualEvent(at)
	case t.trigger:
		return Interval{Start: at.Add(-t.interval).UTC(), End: at.UTC()}
	}
	switch t.kind {
	case kindCron:
		end := t.alignPrev(at)
		return Interval{Start: t.prev(end).UTC(), End: end.UTC()}
	case kindDelta:
		return Interval{Start: at.Add(-t.delta).UTC(), End: at.UTC()}
	default:
		return Interval{Start: at.UTC(), End: at.UTC()}
	}
}

// next is the first schedule point strictly after x.
func (t *Timetable) next(x time.Time) time.Time {
	if t.kind == kindDelta {
		return x.Add(t.delta)
	}
	return t.cron.Next(x)
}

// prev is the last schedule point strictly before x.
func (t *Timetable) prev(x time.Time) time.Time {
	if t.kind == kindDelta {
		return x.Add(-t.delta)
	}
	// robfig/cron only walks forward: walk from ever earlier points until a
	// tick before x is found, then keep the last one before x.
	for w := time.Hour; w < 40*366*24*time.Hour; w *= 2 {
		var found time.Time
		for c := t.cron.Next(x.Add(-w)); !c.IsZero() && c.Before(x); c = t.cron.Next(c) {
			found = c
		}
		if !found.IsZero() {
			return found
		}
	}
	return time.Time{}
}

// alignNext returns x if it is a schedule point, else the next one.
func (t *Timetable) alignNext(x time.Time) time.Time {
	if t.kind == kindDelta {
		return x
	}
	n := t.cron.Next(x.Add(-time.Second))
	if n.Equal(x) {
		return x
	}
	return t.cron.Next(x)
}

// alignPrev returns x if it is a schedule point, else the previous one.
func (t *Timetable) alignPrev(x time.Time) time.Time {
	if t.kind == kindDelta {
		return x
	}
	if t.cron.Next(x.Add(-time.Second)).Equal(x) {
		return x
	}
	return t.prev(x)
}

// skipToLatest is the start of the latest complete interval before now, or
// the aligned start date if that is later (Airflow's _skip_to_latest).
func (t *Timetable) skipToLatest(start, now time.Time) time.Time {
	var latest time.Time
	if t.kind == kindDelta {
		latest = now.Add(-t.delta)
		if start.After(latest) {
			return start
		}
		return latest
	}
	lastStart := t.prev(now)
	if t.next(lastStart).Equal(now) {
		latest = lastStart
	} else {
		latest = t.prev(lastStart)
	}
	if a := t.alignNext(start); a.After(latest) {
		return a
	}
	return latest
}

// MaxBackfillIntervals bounds Between, so that a typo in a date range does
// not create millions of runs.
const MaxBackfillIntervals = 10000

// Between returns the data intervals whose start lies in [start, end], as
// Airflow's backfill enumerates them. Only cron and duration timetables have
// intervals to enumerate.
func (t *Timetable) Between(start, end time.Time) ([]Interval, error) {
	if t.kind == kindEvents {
		return t.eventsBetween(start, end), nil
	}
	if t.kind != kindCron && t.kind != kindDelta {
		return nil, fmt.Errorf("the DAG has no periodic schedule (none, @once or @continuous): there are no intervals to backfill")
	}
	start, end = start.In(t.loc), end.In(t.loc)
	if t.trigger {
		return t.triggersBetween(start, end)
	}
	var out []Interval
	for s := t.alignNext(start); !s.IsZero() && !s.After(end); {
		e := t.next(s)
		if e.IsZero() {
			break
		}
		if len(out) == MaxBackfillIntervals {
			return nil, fmt.Errorf("more than %d intervals between %s and %s", MaxBackfillIntervals, start.Format(time.RFC3339), end.Format(time.RFC3339))
		}
		out = append(out, Interval{Start: s.UTC(), End: e.UTC()})
		s = e
	}
	return out, nil
}
