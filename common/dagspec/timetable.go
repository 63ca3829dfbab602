package dagspec

import (
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gust-sched/gust/common/schedule"
)

// Timetables given as objects, in dag-factory's form for Python objects
// (`__type__: airflow.timetables.trigger.CronTriggerTimetable`, positional
// `__args__`, keyword arguments beside them), which gust's Python reader
// writes too.

// Options are the [scheduler] settings that decide what a schedule means.
type Options struct {
	// CronDataIntervals is [scheduler] create_cron_data_intervals: a cron
	// expression or duration gives Airflow 2's data interval timetables.
	// Airflow 3's default, false, gives its trigger timetables: a run at
	// each point whose logical date is that point.
	CronDataIntervals bool
	// DeltaDataIntervals is create_delta_data_intervals, the same for a
	// duration schedule.
	DeltaDataIntervals bool
	// Now is the clock for relative dates ("2 days"); nil is time.Now.
	Now func() time.Time
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// timetableObject reads a schedule written as a timetable object: the
// schedule string, the timetable's spec and its timezone ("" if none).
func (p *parser) timetableObject(n *yaml.Node, ctx string) (string, *schedule.Spec, string, error) {
	fs, err := p.fields(n, ctx)
	if err != nil {
		return "", nil, "", err
	}
	var class string
	var args []*yaml.Node
	kw := map[string]*yaml.Node{}
	for _, f := range fs {
		switch f.key {
		case "__type__":
			if class, err = p.str(f.val, ctx+": __type__"); err != nil {
				return "", nil, "", err
			}
		case "__args__":
			a := resolve(f.val)
			if a.Kind != yaml.SequenceNode {
				return "", nil, "", p.errf(f.val, "%s: __args__ must be a list", ctx)
			}
			args = a.Content
		default:
			kw[f.key] = f.val
		}
	}
	name := class[strings.LastIndex(class, ".")+1:]
	if !strings.HasPrefix(class, "airflow.") {
		return "", nil, "", p.errf(n, "%s: unknown timetable %q (gust knows Airflow's: CronTriggerTimetable, CronDataIntervalTimetable, DeltaTriggerTimetable, DeltaDataIntervalTimetable, MultipleCronTriggerTimetable, EventsTimetable, ContinuousTimetable)", ctx, class)
	}
	// arg is the i-th positional argument or the keyword one.
	arg := func(i int, key string) *yaml.Node {
		if i >= 0 && i < len(args) {
			return args[i]
		}
		return kw[key]
	}
	tz := ""
	if z := kw["timezone"]; z != nil && !isNull(z) {
		if tz, err = p.str(z, ctx+": timezone"); err != nil {
			return "", nil, "", err
		}
	}
	interval := func() (float64, error) {
		if v := kw["interval"]; v != nil && !isNull(v) {
			return p.seconds(v, ctx+": interval")
		}
		return 0, nil
	}
	cronArg := func(i int, key string) (string, error) {
		v := arg(i, key)
		if v == nil {
			return "", p.errf(n, "%s: %s needs a cron expression", ctx, name)
		}
		s, err := p.schedule(v, ctx+": "+key)
		if err == nil && (s == "" || strings.HasPrefix(s, schedule.EveryPrefix)) {
			return "", p.errf(v, "%s: %s needs a cron expression", ctx, name)
		}
		return s, err
	}
	deltaArg := func() (string, error) {
		v := arg(0, "delta")
		if v == nil {
			return "", p.errf(n, "%s: %s needs a delta", ctx, name)
		}
		secs, err := p.seconds(v, ctx+": delta")
		if err != nil || secs <= 0 {
			return "", p.errf(v, "%s: %s needs a positive delta", ctx, name)
		}
		return schedule.NormalizeDuration(time.Duration(secs * float64(time.Second))), nil
	}
	switch name {
	case "CronTriggerTimetable", "CronDataIntervalTimetable":
		s, err := cronArg(0, "cron")
		if err != nil {
			return "", nil, "", err
		}
		if name == "CronDataIntervalTimetable" {
			return s, &schedule.Spec{Kind: schedule.SpecDataInterval}, tz, nil
		}
		iv, err := interval()
		return s, &schedule.Spec{Kind: schedule.SpecTrigger, IntervalSec: iv}, tz, err
	case "DeltaTriggerTimetable", "DeltaDataIntervalTimetable":
		s, err := deltaArg()
		if err != nil {
			return "", nil, "", err
		}
		if name == "DeltaDataIntervalTimetable" {
			return s, &schedule.Spec{Kind: schedule.SpecDataInterval}, tz, nil
		}
		iv, err := interval()
		return s, &schedule.Spec{Kind: schedule.SpecTrigger, IntervalSec: iv}, tz, err
	case "MultipleCronTriggerTimetable":
		crons := []string{}
		for i := range args {
			c, err := cronArg(i, "")
			if err != nil {
				return "", nil, "", err
			}
			crons = append(crons, c)
		}
		if len(crons) == 0 {
			return "", nil, "", p.errf(n, "%s: MultipleCronTriggerTimetable needs at least one cron expression", ctx)
		}
		iv, err := interval()
		return crons[0], &schedule.Spec{Kind: schedule.SpecTrigger, Crons: crons, IntervalSec: iv}, tz, err
	case "EventsTimetable":
		v := arg(0, "event_dates")
		if v == nil || resolve(v).Kind != yaml.SequenceNode {
			return "", nil, "", p.errf(n, "%s: EventsTimetable needs event_dates, a list of dates", ctx)
		}
		spec := &schedule.Spec{Kind: schedule.SpecEvents}
		loc := time.UTC
		if tz != "" {
			if loc, err = time.LoadLocation(tz); err != nil {
				return "", nil, "", p.errf(n, "%s: unknown timezone %q", ctx, tz)
			}
		}
		for _, e := range resolve(v).Content {
			t, err := p.date(e, ctx+": event_dates", loc)
			if err != nil {
				return "", nil, "", err
			}
			spec.Events = append(spec.Events, t.UTC())
		}
		if len(spec.Events) == 0 {
			return "", nil, "", p.errf(v, "%s: EventsTimetable needs at least one event date", ctx)
		}
		if r := arg(1, "restrict_to_events"); r != nil {
			if spec.RestrictToEvents, err = p.boolean(r, ctx+": restrict_to_events"); err != nil {
				return "", nil, "", err
			}
		}
		if d := arg(3, "description"); d != nil && !isNull(d) {
			if spec.Description, err = p.str(d, ctx+": description"); err != nil {
				return "", nil, "", err
			}
		}
		return "", spec, tz, nil
	case "ContinuousTimetable":
		return schedule.Continuous, nil, tz, nil
	case "NullTimetable":
		return "", nil, tz, nil
	case "OnceTimetable":
		return "@once", nil, tz, nil
	}
	return "", nil, "", p.errf(n, "%s: timetable %s is not supported by gust yet (gust has CronTriggerTimetable, CronDataIntervalTimetable, DeltaTriggerTimetable, DeltaDataIntervalTimetable, MultipleCronTriggerTimetable, EventsTimetable, ContinuousTimetable)", ctx, name)
}

// NewTimetable returns the DAG's timetable.
func (d *DAG) NewTimetable() (*schedule.Timetable, error) {
	return schedule.NewSpec(d.Schedule, d.TimetableSpec, d.Timezone)
}

// ScheduleSummary is the DAG's schedule as Airflow 3 summarises its
// timetable.
func (d *DAG) ScheduleSummary() string {
	if d.AssetSchedule != nil {
		if d.Schedule != "" { // AssetOrTimeSchedule's
			return AssetScheduleName + " or " + schedule.SpecSummary(d.Schedule, d.TimetableSpec)
		}
		return AssetScheduleName
	}
	return schedule.SpecSummary(d.Schedule, d.TimetableSpec)
}

// isTimetableObject reports whether a schedule mapping is an object other
// than a timedelta.
func isTimetableObject(n *yaml.Node) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "__type__" {
			v := resolve(n.Content[i+1]).Value
			return v != "datetime.timedelta" && v != "timedelta"
		}
	}
	return false
}
