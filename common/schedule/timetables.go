package schedule

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Airflow 3's other timetables: the trigger ones (a run at each point of a
// cron or duration schedule, or of several crons), EventsTimetable and
// ContinuousTimetable.

// Continuous is Airflow's "@continuous" schedule: a new run as soon as the
// last one ends (the DAG must allow one active run).
const Continuous = "@continuous"

// Timetable kinds a Spec names.
const (
	SpecTrigger      = "trigger"       // CronTriggerTimetable, DeltaTriggerTimetable, MultipleCronTriggerTimetable
	SpecDataInterval = "data_interval" // CronDataIntervalTimetable, DeltaDataIntervalTimetable
	SpecEvents       = "events"        // EventsTimetable
)

// Spec is the timetable a DAG chose for its schedule, kept in the
// serialized DAG. With Kind trigger the schedule's cron expression (or
// Crons, several, the earliest next point first) or duration gives the
// points; IntervalSec is the data interval before each point (0: none).
type Spec struct {
	Kind             string      `json:"kind"`
	Crons            []string    `json:"crons,omitempty"`
	IntervalSec      float64     `json:"interval_sec,omitempty"`
	Events           []time.Time `json:"events,omitempty"`
	RestrictToEvents bool        `json:"restrict_to_events,omitempty"`
	Description      string      `json:"description,omitempty"`
}

// apply makes t the timetable spec describes.
func (t *Timetable) apply(spec *Spec) (*Timetable, error) {
	switch spec.Kind {
	case SpecDataInterval:
		if t.kind != kindCron && t.kind != kindDelta {
			return nil, fmt.Errorf("a data interval timetable needs a cron expression or a duration")
		}
	case SpecTrigger:
		if len(spec.Crons) > 0 {
			var set multiCron
			for _, c := range spec.Crons {
				one, err := newTimetable(c, "")
				if err != nil {
					return nil, err
				}
				if one.kind != kindCron {
					return nil, fmt.Errorf("MultipleCronTriggerTimetable: %q is not a cron expression", c)
				}
				set = append(set, one.cron)
			}
			t.kind, t.cron = kindCron, set
		}
		if t.kind != kindCron && t.kind != kindDelta {
			return nil, fmt.Errorf("a trigger timetable needs a cron expression or a duration")
		}
		if spec.IntervalSec < 0 {
			return nil, fmt.Errorf("a trigger timetable's interval must not be negative")
		}
		t.trigger, t.interval = true, time.Duration(spec.IntervalSec*float64(time.Second))
	case SpecEvents:
		if len(spec.Events) == 0 {
			return nil, fmt.Errorf("EventsTimetable needs at least one event date")
		}
		t.kind, t.restrict = kindEvents, spec.RestrictToEvents
		t.events = slices.Clone(spec.Events)
		slices.SortFunc(t.events, func(a, b time.Time) int { return a.Compare(b) })
	default:
		return nil, fmt.Errorf("unknown timetable kind %q", spec.Kind)
	}
	return t, nil
}

// multiCron is several cron schedules as one: the earliest next point.
type multiCron []cron.Schedule

func (m multiCron) Next(x time.Time) time.Time {
	var best time.Time
	for _, c := range m {
		if n := c.Next(x); !n.IsZero() && (best.IsZero() || n.Before(best)) {
			best = n
		}
	}
	return best
}

// nextTrigger is Airflow's _TriggerTimetable.next_dagrun_info: with catchup
// the point after the last run's (or the first at or after start_date);
// without, the latest point at or before now unless the last run's next or
// start_date is later.
func (t *Timetable) nextTrigger(last *Interval, start time.Time, end *time.Time, catchup bool, now time.Time) (Interval, time.Time, bool) {
	var next time.Time
	switch {
	case catchup && last != nil:
		next = t.next(last.End.In(t.loc))
	case catchup:
		next = t.alignNext(start)
	default:
		next = t.alignPrev(now)
		if last != nil {
			if n := t.next(last.End.In(t.loc)); n.After(next) {
				next = n
			}
		}
		if a := t.alignNext(start); a.After(next) {
			next = a
		}
	}
	if next.IsZero() || (end != nil && next.After(*end)) {
		return Interval{}, time.Time{}, false
	}
	return Interval{Start: next.Add(-t.interval).UTC(), End: next.UTC()}, next.UTC(), true
}

// triggersBetween are the trigger points in [start, end], each with its
// data interval, for a backfill.
func (t *Timetable) triggersBetween(start, end time.Time) ([]Interval, error) {
	var out []Interval
	for p := t.alignNext(start); !p.IsZero() && !p.After(end); p = t.next(p) {
		if len(out) == MaxBackfillIntervals {
			return nil, fmt.Errorf("more than %d runs between %s and %s", MaxBackfillIntervals, start.Format(time.RFC3339), end.Format(time.RFC3339))
		}
		out = append(out, Interval{Start: p.Add(-t.interval).UTC(), End: p.UTC()})
	}
	return out, nil
}

// nextEvent is EventsTimetable's: the first event after the last run's.
func (t *Timetable) nextEvent(last *Interval) (Interval, time.Time, bool) {
	for _, e := range t.events {
		if last == nil || e.After(last.End) {
			return Interval{Start: e.UTC(), End: e.UTC()}, e.UTC(), true
		}
	}
	return Interval{}, time.Time{}, false
}

// manualEvent is EventsTimetable's manual data interval: with
// restrict_to_events the latest event at or before at, else at itself.
func (t *Timetable) manualEvent(at time.Time) Interval {
	if t.restrict {
		for i := len(t.events) - 1; i >= 0; i-- {
			if !t.events[i].After(at) {
				return Interval{Start: t.events[i].UTC(), End: t.events[i].UTC()}
			}
		}
	}
	return Interval{Start: at.UTC(), End: at.UTC()}
}

func (t *Timetable) eventsBetween(start, end time.Time) []Interval {
	var out []Interval
	for _, e := range t.events {
		if !e.Before(start) && !e.After(end) {
			out = append(out, Interval{Start: e.UTC(), End: e.UTC()})
		}
	}
	return out
}

// nextContinuous is ContinuousTimetable's: from the last run's end (or
// start_date) to now.
func nextContinuous(last *Interval, start time.Time, end *time.Time, now time.Time) (Interval, time.Time, bool) {
	if end != nil && now.After(*end) {
		return Interval{}, time.Time{}, false
	}
	s, e := start, now
	if last != nil {
		s = last.End
	} else if start.After(now) {
		e = start
	}
	return Interval{Start: s.UTC(), End: e.UTC()}, e.UTC(), true
}

// IsContinuous reports whether the timetable is @continuous.
func (t *Timetable) IsContinuous() bool { return t.kind == kindContinuous }

// SpecSummary is Summary for a DAG with a chosen timetable: several crons
// joined as Airflow's MultipleCronTriggerTimetable summary, an events
// timetable's description or its event count.
func SpecSummary(schedule string, spec *Spec) string {
	switch {
	case spec == nil:
		return Summary(schedule)
	case len(spec.Crons) > 0:
		return strings.Join(spec.Crons, ", ")
	case spec.Kind == SpecEvents && spec.Description != "":
		return spec.Description
	case spec.Kind == SpecEvents:
		return fmt.Sprintf("%d events", len(spec.Events))
	}
	return Summary(schedule)
}
