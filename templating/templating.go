// Package templating renders a task's templated fields with Jinja (the
// maintained gonja/v2 engine) and Airflow's template context: ds, ts,
// logical_date, data_interval_start/end, run_id, dag_run.conf, params,
// ti.xcom_pull(...), var.value.X, var.json.X, conn.ID.host, macros.ds_add
// and macros.ds_format. As in Airflow, an undefined name is an error
// (StrictUndefined), not an empty string.
package templating

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nikolalohinski/gonja/v2"
	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"

	"github.com/gust-sched/gust/common/connection"
)

// Input is what a task's template context is built from.
type Input struct {
	DagID, TaskID, RunID, RunType string
	LogicalDate                   time.Time
	DataIntervalStart             time.Time
	DataIntervalEnd               time.Time
	// PrevSuccessStart/End: the data interval of the DAG's latest
	// successful run before this one (nil if none).
	PrevSuccessStart, PrevSuccessEnd *time.Time
	TryNumber, MapIndex              int
	Conf                             map[string]any
	Params                           map[string]any // resolved: defaults overridden by conf
	Owner                            string
	// Variable returns a variable's value; ok false when it does not exist.
	Variable func(key string) (val string, ok bool, err error)
	// Connection returns a connection; nil when it does not exist.
	Connection func(connID string) (*connection.Connection, error)
	// XCom returns the value a task of this run (or dagID's run with the same
	// logical date) pushed under key; ok false when none.
	XCom func(dagID, taskID, key string) (val any, ok bool, err error)
	// TriggeringAssetEvents are an asset-triggered run's events by asset
	// URI (Airflow's triggering_asset_events), nil for other runs.
	TriggeringAssetEvents map[string]any
	// Inlets are the task's inlets: asset URIs by URI and by name, and
	// alias names (Airflow's inlet_events reads only those).
	InletAssets  map[string]string
	InletAliases []string
	// AssetEvents returns an asset's (by URI) or an alias's events,
	// oldest first (inlet_events).
	AssetEvents func(uri, alias string) ([]any, error)
}

// Renderer renders strings with one context.
type Renderer struct {
	values map[string]any // the context's names
	ctx    *exec.Context
	cfg    *config.Config
	env    *exec.Environment
	ti     *taskInstance
}

// Pushed is what templates pushed with ti.xcom_push(key=..., value=...),
// by key, for the try to store as its XComs.
func (r *Renderer) Pushed() map[string]any { return r.ti.pushed }

// New builds the template context.
func New(in Input) *Renderer {
	cfg := config.New()
	cfg.StrictUndefined = true
	cfg.KeepTrailingNewline = false
	ld := DateTime{in.LogicalDate.UTC()}
	ds := ld.T.Format("2006-01-02")
	ti := &taskInstance{in: in, pushed: map[string]any{}}
	dagRun := map[string]any{
		"run_id": in.RunID, "run_type": in.RunType, "conf": Normalize(orEmpty(in.Conf)), "logical_date": ld,
		"execution_date": ld, "data_interval_start": DateTime{in.DataIntervalStart.UTC()},
		"data_interval_end": DateTime{in.DataIntervalEnd.UTC()}, "dag_id": in.DagID,
	}
	values := map[string]any{
		"ds":                               ds,
		"ds_nodash":                        strings.ReplaceAll(ds, "-", ""),
		"ts":                               ld.isoformat(),
		"ts_nodash":                        ld.T.Format("20060102T150405"),
		"ts_nodash_with_tz":                ld.T.Format("20060102T150405-0700"),
		"logical_date":                     ld,
		"execution_date":                   ld,
		"data_interval_start":              DateTime{in.DataIntervalStart.UTC()},
		"data_interval_end":                DateTime{in.DataIntervalEnd.UTC()},
		"prev_data_interval_start_success": optDate(in.PrevSuccessStart),
		"prev_data_interval_end_success":   optDate(in.PrevSuccessEnd),
		"run_id":                           in.RunID,
		"task_instance_key_str":            in.DagID + "__" + in.TaskID + "__" + strings.ReplaceAll(ds, "-", ""),
		"dag_run":                          dagRun,
		"params":                           Normalize(orEmpty(in.Params)),
		"triggering_asset_events":          Normalize(orEmpty(in.TriggeringAssetEvents)),
		"triggering_dataset_events":        Normalize(orEmpty(in.TriggeringAssetEvents)),
		"task_instance":                    ti,
		"ti":                               ti,
		"inlet_events":                     &inletEvents{in: in},
		"task":                             map[string]any{"task_id": in.TaskID, "dag_id": in.DagID, "owner": in.Owner},
		"dag":                              map[string]any{"dag_id": in.DagID},
		"var":                              map[string]any{"value": &variables{in: in}, "json": &variables{in: in, json: true}},
		"conn":                             &connections{in: in},
		"macros": map[string]any{
			"ds_add":    dsAdd,
			"ds_format": dsFormat,
		},
		"map_index_template": nil,
	}
	return &Renderer{values: values, ctx: exec.NewContext(values), cfg: cfg, env: environment(), ti: ti}
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func optDate(t *time.Time) any {
	if t == nil {
		return nil
	}
	return DateTime{t.UTC()}
}

// With returns a renderer whose context also has values (replacing the
// names they share), with the same task instance: a mapped instance's
// map_index_template sees what its try put in its context.
func (r *Renderer) With(values map[string]any) *Renderer {
	all := maps.Clone(r.values)
	for k, v := range values {
		all[k] = Normalize(v)
	}
	return &Renderer{values: all, ctx: exec.NewContext(all), cfg: r.cfg, env: r.env, ti: r.ti}
}

// Render renders one template string.
func (r *Renderer) Render(name, tpl string) (string, error) {
	if !strings.Contains(tpl, "{{") && !strings.Contains(tpl, "{%") && !strings.Contains(tpl, "{#") {
		return tpl, nil
	}
	sum := sha256.Sum256([]byte(tpl))
	root := fmt.Sprintf("%s-%x", name, sum[:6])
	loader, err := loaders.NewFileSystemLoader("")
	if err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	shifted, err := loaders.NewShiftedLoader(root, bytes.NewReader([]byte(tpl)), loader)
	if err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	t, err := exec.NewTemplate(root, r.cfg, shifted, r.env)
	if err != nil {
		return "", fmt.Errorf("template %s: %s", name, cleanErr(err))
	}
	out, err := t.ExecuteToString(r.ctx)
	if err != nil {
		return "", fmt.Errorf("template %s: %s", name, cleanErr(err))
	}
	return out, nil
}

// cleanErr drops the engine's internal template name from messages.
func cleanErr(err error) string {
	return strings.TrimSpace(err.Error())
}

// RenderFields renders a task's templated fields, in name order.
func (r *Renderer) RenderFields(fields map[string]string) (map[string]string, error) {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make(map[string]string, len(fields))
	for _, n := range names {
		s, err := r.Render(n, fields[n])
		if err != nil {
			return nil, err
		}
		out[n] = s
	}
	return out, nil
}

// DateTime renders as pendulum's str() (ISO 8601 with a T) and has the
// methods templates use most.
type DateTime struct{ T time.Time }

func (d DateTime) String() string { return d.isoformat() }

func (d DateTime) isoformat() string {
	if d.T.Nanosecond()/1000 != 0 {
		return d.T.Format("2006-01-02T15:04:05.000000-07:00")
	}
	return d.T.Format("2006-01-02T15:04:05-07:00")
}

// GetAttribute gives strftime, isoformat, and the date parts.
func (d DateTime) GetAttribute(name string) (*exec.Value, bool) {
	switch name {
	case "strftime":
		return exec.AsValue(func(format string) (string, error) { return strftime(d.T, format) }), true
	case "isoformat":
		return exec.AsValue(func() string { return d.isoformat() }), true
	case "year":
		return exec.AsValue(d.T.Year()), true
	case "month":
		return exec.AsValue(int(d.T.Month())), true
	case "day":
		return exec.AsValue(d.T.Day()), true
	case "hour":
		return exec.AsValue(d.T.Hour()), true
	case "minute":
		return exec.AsValue(d.T.Minute()), true
	case "second":
		return exec.AsValue(d.T.Second()), true
	case "timestamp":
		return exec.AsValue(func() float64 { return float64(d.T.UnixNano()) / 1e9 }), true
	}
	return exec.AsValue(nil), false
}

// inletEvents is Airflow's inlet_events: for_asset(name=, uri=) and
// for_asset_alias(name=) give the events of one of the task's inlets,
// oldest first.
type inletEvents struct{ in Input }

func (e *inletEvents) GetAttribute(name string) (*exec.Value, bool) {
	switch name {
	case "for_asset":
		return exec.AsValue(e.forAsset), true
	case "for_asset_alias":
		return exec.AsValue(e.forAlias), true
	}
	return exec.AsValue(nil), false
}

func (e *inletEvents) forAsset(va *exec.VarArgs) (any, error) {
	args := va.Expect(0, []*exec.KwArg{{Name: "name", Default: nil}, {Name: "uri", Default: nil}})
	if args.IsError() {
		return nil, fmt.Errorf("inlet_events.for_asset: %s", args.Error())
	}
	var key string
	for _, k := range []string{"uri", "name"} {
		if v := args.KwArgs[k]; v != nil && !v.IsNil() && key == "" {
			key = v.String()
		}
	}
	if len(va.Args) > 0 && key == "" {
		key = va.Args[0].String()
	}
	uri, ok := e.in.InletAssets[key]
	if !ok {
		return nil, fmt.Errorf("inlet_events.for_asset: %q is not an inlet of the task", key)
	}
	return e.events(uri, "")
}

func (e *inletEvents) forAlias(va *exec.VarArgs) (any, error) {
	args := va.Expect(0, []*exec.KwArg{{Name: "name", Default: nil}})
	if args.IsError() {
		return nil, fmt.Errorf("inlet_events.for_asset_alias: %s", args.Error())
	}
	name := ""
	if v := args.KwArgs["name"]; v != nil && !v.IsNil() {
		name = v.String()
	} else if len(va.Args) > 0 {
		name = va.Args[0].String()
	}
	if !slices.Contains(e.in.InletAliases, name) {
		return nil, fmt.Errorf("inlet_events.for_asset_alias: %q is not an inlet of the task", name)
	}
	return e.events("", name)
}

func (e *inletEvents) events(uri, alias string) (any, error) {
	if e.in.AssetEvents == nil {
		return []any{}, nil
	}
	evs, err := e.in.AssetEvents(uri, alias)
	if err != nil {
		return nil, err
	}
	return Normalize(evs), nil
}

// taskInstance is `ti` / `task_instance`.
type taskInstance struct {
	in     Input
	pushed map[string]any // ti.xcom_push's
}

func (t *taskInstance) GetAttribute(name string) (*exec.Value, bool) {
	switch name {
	case "try_number":
		return exec.AsValue(t.in.TryNumber), true
	case "task_id":
		return exec.AsValue(t.in.TaskID), true
	case "dag_id":
		return exec.AsValue(t.in.DagID), true
	case "run_id":
		return exec.AsValue(t.in.RunID), true
	case "map_index":
		return exec.AsValue(t.in.MapIndex), true
	case "xcom_pull":
		return exec.AsValue(t.xcomPull), true
	case "xcom_push":
		return exec.AsValue(t.xcomPush), true
	}
	return exec.AsValue(nil), false
}

// xcomPush is Airflow's ti.xcom_push(key, value): the value is the try's
// XCom under key (it renders as nothing).
func (t *taskInstance) xcomPush(va *exec.VarArgs) (any, error) {
	args := va.Expect(0, []*exec.KwArg{{Name: "key", Default: nil}, {Name: "value", Default: nil}})
	if args.IsError() {
		return nil, fmt.Errorf("xcom_push: %s", args.Error())
	}
	key, value := args.KwArgs["key"], args.KwArgs["value"]
	if len(va.Args) > 0 {
		key = va.Args[0]
	}
	if len(va.Args) > 1 {
		value = va.Args[1]
	}
	if key == nil || key.IsNil() || key.String() == "" {
		return nil, errors.New("xcom_push: needs a key")
	}
	var v any
	if value != nil && !value.IsNil() {
		v = value.ToGoSimpleType(false)
		if e, isErr := v.(error); isErr {
			return nil, fmt.Errorf("xcom_push: the value of %s: %w", key.String(), e)
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("xcom_push: the value of %s is not JSON: %w", key.String(), err)
	}
	var back any
	_ = json.Unmarshal(b, &back)
	t.pushed[key.String()] = back
	return "", nil
}

// xcomPull is Airflow's ti.xcom_pull(task_ids=None, key='return_value',
// dag_id=None): a string task id gives one value, a list gives a list.
func (t *taskInstance) xcomPull(va *exec.VarArgs) (any, error) {
	args := va.Expect(0, []*exec.KwArg{{Name: "task_ids", Default: nil}, {Name: "key", Default: "return_value"},
		{Name: "dag_id", Default: nil}, {Name: "include_prior_dates", Default: false}, {Name: "map_indexes", Default: nil}})
	if args.IsError() {
		return nil, fmt.Errorf("xcom_pull: %s", args.Error())
	}
	taskIDs := args.KwArgs["task_ids"]
	if len(va.Args) > 0 {
		taskIDs = va.Args[0]
	}
	key := "" // None is any key, as in Airflow 2
	if k := args.KwArgs["key"]; !k.IsNil() {
		key = k.String()
	}
	dagID := t.in.DagID
	if d := args.KwArgs["dag_id"]; !d.IsNil() {
		dagID = d.String()
	}
	pull := func(task string) (any, error) {
		v, ok, err := t.in.XCom(dagID, task, key)
		if err != nil || !ok {
			return nil, err
		}
		return Normalize(v), nil
	}
	switch {
	case taskIDs == nil || taskIDs.IsNil():
		return pull("")
	case taskIDs.IsList():
		var out []any
		for i := 0; i < taskIDs.Len(); i++ {
			item, _ := taskIDs.GetItem(i)
			v, err := pull(item.String())
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	default:
		return pull(taskIDs.String())
	}
}

// variables is var.value / var.json.
type variables struct {
	in   Input
	json bool
}

func (v *variables) GetAttribute(name string) (*exec.Value, bool) {
	val, ok, err := v.in.Variable(name)
	if err != nil {
		return exec.AsValue(err), true
	}
	if !ok {
		return exec.AsValue(fmt.Errorf("variable %s does not exist", name)), true
	}
	if !v.json {
		return exec.AsValue(val), true
	}
	var x any
	if err := json.Unmarshal([]byte(val), &x); err != nil {
		return exec.AsValue(fmt.Errorf("variable %s is not JSON: %v", name, err)), true
	}
	return exec.AsValue(Normalize(x)), true
}

// GetItem supports var.value['name'] and var.value.get('name').
func (v *variables) GetItem(key any) (*exec.Value, bool) { return v.GetAttribute(fmt.Sprint(key)) }

// connections is conn.<id>.
type connections struct{ in Input }

func (c *connections) GetAttribute(name string) (*exec.Value, bool) {
	cn, err := c.in.Connection(name)
	if err != nil {
		return exec.AsValue(err), true
	}
	if cn == nil {
		return exec.AsValue(fmt.Errorf("the conn_id `%s` isn't defined", name)), true
	}
	return exec.AsValue(map[string]any{
		"conn_id": cn.ConnID, "conn_type": cn.ConnType, "host": cn.Host, "schema": cn.Schema, "login": cn.Login,
		"password": cn.Password, "port": cn.Port, "extra": cn.Extra, "extra_dejson": cn.ExtraMap(), "description": cn.Description,
		"uri": cn.URI(),
	}), true
}

func (c *connections) GetItem(key any) (*exec.Value, bool) { return c.GetAttribute(fmt.Sprint(key)) }

// dsAdd is macros.ds_add(ds, days).
func dsAdd(ds string, days int) (string, error) {
	t, err := time.Parse("2006-01-02", ds)
	if err != nil {
		return "", fmt.Errorf("ds_add: %q is not a YYYY-MM-DD date", ds)
	}
	return t.AddDate(0, 0, days).Format("2006-01-02"), nil
}

// dsFormat is macros.ds_format(ds, input_format, output_format).
func dsFormat(ds, in, out string) (string, error) {
	t, err := strptime(ds, in)
	if err != nil {
		return "", fmt.Errorf("ds_format: %w", err)
	}
	return strftime(t, out)
}

// Normalize makes JSON-decoded numbers look as Python's json module gives
// them: an integral number is an int (renders "2", not "2.0").
func Normalize(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int64(x)) && x > -1e15 && x < 1e15 {
			return int64(x)
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Normalize(e)
		}
		return out
	default:
		return v
	}
}

// environment is gonja's default environment plus Airflow's date filters
// (ds, ds_nodash, ts, ts_nodash, ts_nodash_with_tz).
func environment() *exec.Environment {
	format := func(f func(time.Time) string) exec.FilterFunction {
		return func(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
			switch v := in.Interface().(type) {
			case DateTime:
				return exec.AsValue(f(v.T))
			case string:
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					return exec.AsValue(fmt.Errorf("%q is not a date-time", v))
				}
				return exec.AsValue(f(t))
			}
			return exec.AsValue(fmt.Errorf("date filter applied to %s", in.String()))
		}
	}
	filters := exec.NewFilterSet(map[string]exec.FilterFunction{
		"ds":                format(func(t time.Time) string { return t.Format("2006-01-02") }),
		"ds_nodash":         format(func(t time.Time) string { return t.Format("20060102") }),
		"ts":                format(func(t time.Time) string { return DateTime{t}.isoformat() }),
		"ts_nodash":         format(func(t time.Time) string { return t.Format("20060102T150405") }),
		"ts_nodash_with_tz": format(func(t time.Time) string { return t.Format("20060102T150405-0700") }),
	})
	filters.Update(builtins.Filters)
	return &exec.Environment{
		Context:           gonja.DefaultContext,
		Filters:           filters,
		Tests:             builtins.Tests,
		ControlStructures: builtins.ControlStructures,
		Methods:           builtins.Methods,
	}
}
