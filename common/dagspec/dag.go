package dagspec

import (
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gust-sched/gust/common/schedule"
)

// The YAML reader's DAG level: a DAG's own arguments, its schedule and dates.

func (p *parser) dag(df field, def []field) (*DAG, error) {
	id := df.key
	if err := checkID(id); err != nil {
		return nil, p.errf(df.knod, "DAG id %q: %v", id, err)
	}
	own, err := p.fields(df.val, "DAG "+id)
	if err != nil {
		return nil, err
	}
	fs := merge(def, own)
	// default_args merge key by key: the DAG's own over the file default's.
	var args []field
	if f, ok := get(def, "default_args"); ok && !isNull(f.val) {
		if args, err = p.fields(f.val, "default.default_args"); err != nil {
			return nil, err
		}
	}
	if f, ok := get(own, "default_args"); ok && !isNull(f.val) {
		o, err := p.fields(f.val, "DAG "+id+": default_args")
		if err != nil {
			return nil, err
		}
		args = merge(args, o)
	}

	d := &DAG{DagID: id, Fileloc: p.file, Line: df.knod.Line}
	where := "DAG " + id
	p.ignored = nil
	var tasksField, groupsField *field
	var finalIDs bool
	for _, f := range fs {
		f := f
		ctx := where + ": " + f.key
		switch f.key {
		case "default_args":
		case "tasks":
			tasksField = &f
		case "schedule", "schedule_interval":
			// Resolved below: the DAG's own over the file default's.
		case "catchup":
			b, err := p.boolean(f.val, ctx)
			if err != nil {
				return nil, err
			}
			d.Catchup = &b
		case "description":
			if d.Description, err = p.str(f.val, ctx); err != nil {
				return nil, err
			}
		case "tags":
			if err := p.decode(f.val, &d.Tags, ctx, "a list of strings"); err != nil {
				return nil, err
			}
		case "params":
			if err := p.decode(f.val, &d.Params, ctx, "a mapping"); err != nil {
				return nil, err
			}
		case "max_active_runs":
			if d.MaxActiveRuns, err = p.positive(f.val, ctx); err != nil {
				return nil, err
			}
		case "max_active_tasks", "concurrency":
			if d.MaxActiveTasks, err = p.positive(f.val, ctx); err != nil {
				return nil, err
			}
		case "dagrun_timeout_sec", "dagrun_timeout":
			if d.DagrunTimeoutSec, err = p.seconds(f.val, ctx); err != nil {
				return nil, err
			}
		case "is_paused_upon_creation":
			b, err := p.boolean(f.val, ctx)
			if err != nil {
				return nil, err
			}
			d.IsPausedUponCreation = &b
		case "timezone":
			if d.Timezone, err = p.str(f.val, ctx); err != nil {
				return nil, err
			}
		case "start_date", "end_date":
			// Handled below, after the timezone is known.
		case "on_success_callback", "on_failure_callback":
			cmd, py, err := p.callback(f.val, ctx)
			if err != nil {
				return nil, err
			}
			d.setCallback(f.key, cmd, py)
		case "task_groups":
			groupsField = &f
		case FinalIDsKey:
			if finalIDs, err = p.boolean(f.val, ctx); err != nil {
				return nil, err
			}
		case "timetable":
			return nil, p.errf(f.knod, "%s: %s is not supported by gust yet", where, f.key)
		default:
			if key, ok := callbackPairKey(f.key); ok && (key == "on_success_callback" || key == "on_failure_callback") {
				if _, hasName := get(fs, key+"_name"); hasName && strings.HasSuffix(f.key, "_file") {
					continue // read with its _name
				}
				cb, _, err := p.callbackPair(fs, key, where)
				if err != nil {
					return nil, err
				}
				d.setCallback(key, PythonCallback, []PyCallable{*cb})
				continue
			}
			if why, ok := dagIgnored[f.key]; ok {
				p.ignore(f.key, why)
				continue
			}
			why, ok := dagUnsupported[f.key]
			if !ok {
				return nil, p.errf(f.knod, "%s: unknown DAG argument %q", where, f.key)
			}
			if dagUnsupportedIfTrue[f.key] {
				b, err := p.boolean(f.val, ctx)
				if err != nil {
					return nil, err
				}
				if !b {
					continue
				}
			}
			return nil, p.errf(f.knod, "%s: %s is not supported by gust yet (%s)", where, f.key, why)
		}
	}
	// Airflow merges default_args' params into the DAG's, over them.
	if f, ok := get(args, "params"); ok && !isNull(f.val) {
		var ps map[string]any
		if err := p.decode(f.val, &ps, where+": default_args.params", "a mapping"); err != nil {
			return nil, err
		}
		if d.Params == nil {
			d.Params = map[string]any{}
		}
		for k, v := range ps {
			d.Params[k] = v
		}
	}
	schedField, hasSchedule, err := p.scheduleField(own, def, where)
	if err != nil {
		return nil, err
	}
	d.Schedule = DefaultSchedule
	if hasSchedule {
		ctx := where + ": " + schedField.key
		cond, orTime, onAssets, err := p.assetSchedule(schedField.val, ctx)
		if err != nil {
			return nil, err
		}
		if onAssets {
			// Scheduled on assets: runs come from their events (and an
			// AssetOrTimeSchedule's timetable).
			d.Schedule, d.AssetSchedule = "", cond
		}
		timetable := orTime
		if timetable == nil && !onAssets {
			if n := resolve(schedField.val); n.Kind == yaml.MappingNode && isTimetableObject(n) {
				timetable = n
			}
		}
		switch {
		case timetable != nil:
			n := resolve(timetable)
			if n.Kind != yaml.MappingNode || !isTimetableObject(n) {
				return nil, p.errf(timetable, "%s: AssetOrTimeSchedule needs a timetable", ctx)
			}
			var tz string
			if d.Schedule, d.TimetableSpec, tz, err = p.timetableObject(n, ctx); err != nil {
				return nil, err
			}
			if tz != "" && d.Timezone == "" {
				d.Timezone = tz
			}
		case !onAssets:
			if d.Schedule, err = p.schedule(schedField.val, ctx); err != nil {
				return nil, err
			}
		}
	}
	if d.TimetableSpec == nil {
		// A bare cron expression or duration: Airflow 3 makes it a trigger
		// timetable unless [scheduler] create_*_data_intervals says otherwise.
		every := strings.HasPrefix(d.Schedule, schedule.EveryPrefix)
		cronLike := d.Schedule != "" && d.Schedule != "@once" && d.Schedule != schedule.Continuous && !every
		if (cronLike && !p.opts.CronDataIntervals) || (every && !p.opts.DeltaDataIntervals) {
			d.TimetableSpec = &schedule.Spec{Kind: schedule.SpecTrigger}
		}
	}
	if d.Schedule == schedule.Continuous && d.MaxActiveRuns != 1 {
		return nil, p.errf(schedField.knod, "%s: Invalid max_active_runs: ContinuousTimetable requires max_active_runs <= 1 (set max_active_runs: 1)", where)
	}
	if f, ok := get(args, "timezone"); ok && d.Timezone == "" {
		if d.Timezone, err = p.str(f.val, where+": default_args.timezone"); err != nil {
			return nil, err
		}
	}
	if strings.EqualFold(d.Timezone, "UTC") {
		d.Timezone = ""
	}
	loc := time.UTC
	if d.Timezone != "" {
		if loc, err = time.LoadLocation(d.Timezone); err != nil {
			return nil, p.errf(nil, "%s: unknown timezone %q", where, d.Timezone)
		}
	}
	if _, err := d.NewTimetable(); err != nil {
		return nil, p.errf(schedField.knod, "%s: %v", where, err)
	}
	for _, key := range []string{"start_date", "end_date"} {
		f, ok := get(fs, key)
		if !ok {
			f, ok = get(args, key)
		}
		if !ok || isNull(f.val) {
			continue
		}
		t, err := p.date(f.val, where+": "+key, loc)
		if err != nil {
			return nil, err
		}
		if key == "start_date" {
			d.StartDate = &t
		} else {
			d.EndDate = &t
		}
	}
	if d.StartDate != nil && d.EndDate != nil && d.EndDate.Before(*d.StartDate) {
		return nil, p.errf(nil, "%s: end_date %s is before start_date %s", where, d.EndDate.Format(time.RFC3339), d.StartDate.Format(time.RFC3339))
	}
	d.Owner = DefaultOwner
	if f, ok := get(args, "owner"); ok {
		if d.Owner, err = p.str(f.val, where+": default_args.owner"); err != nil {
			return nil, err
		}
	}
	if tasksField == nil || isNull(tasksField.val) {
		return nil, p.errf(df.knod, "%s: has no tasks", where)
	}
	var groups map[string]*groupDef
	if groupsField != nil && !isNull(groupsField.val) {
		if groups, err = p.taskGroups(d, *groupsField, finalIDs); err != nil {
			return nil, err
		}
	}
	if err := p.tasks(d, *tasksField, args, groups, finalIDs); err != nil {
		return nil, err
	}
	// A param schema must compile, and a default that is set must fit it.
	for n, v := range d.Params {
		if spec := ParamSchema(v); spec != nil {
			if _, err := compileParam(n, spec); err != nil {
				f, _ := get(fs, "params")
				return nil, p.errf(f.knod, "%s: param %s: invalid schema: %v", where, n, err)
			}
		}
	}
	if d.Schedule != "" && d.StartDate == nil {
		return nil, p.errf(df.knod, "%s: a scheduled DAG needs a start_date (in the DAG or its default_args)", where)
	}
	d.Warnings = p.takeWarnings()
	return d, nil
}

// scheduleField finds the DAG's schedule: its own schedule or
// schedule_interval (not both), else the file default's.
func (p *parser) scheduleField(own, def []field, where string) (field, bool, error) {
	for _, fs := range [][]field{own, def} {
		a, okA := get(fs, "schedule")
		b, okB := get(fs, "schedule_interval")
		if okA && okB {
			return field{}, false, p.errf(b.knod, "%s: give either schedule or schedule_interval, not both", where)
		}
		if okA {
			return a, true, nil
		}
		if okB {
			return b, true, nil
		}
	}
	return field{}, false, nil
}

// setCallback sets the DAG's callback key to cmd, with the Python callables
// py when cmd is PythonCallback.
func (d *DAG) setCallback(key, cmd string, py []PyCallable) {
	if key == "on_success_callback" {
		d.OnSuccessCallback = cmd
	} else {
		d.OnFailureCallback = cmd
	}
	setPythonCallbacks(&d.PythonCallbacks, key, py)
}
