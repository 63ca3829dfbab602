package dagspec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gust-sched/gust/common/schedule"
)

// ParseError is an import error: what is wrong with a DAG file, and where.
type ParseError struct {
	File string
	Line int // 0 when unknown
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Defaults that Airflow 2 applies to a BaseOperator.
const (
	DefaultPool          = "default_pool"
	DefaultRetryDelaySec = 300
	DefaultSkipExitCode  = 99
	// DefaultSchedule is Airflow 2's schedule for a DAG that names none:
	// timedelta(days=1).
	DefaultSchedule = schedule.EveryPrefix + "24h0m0s"
	maxIDLength     = 250
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.\-]+$`)

// operators maps every accepted operator name to gust's operator.
var operators = map[string]string{
	"bash":                                OperatorBash,
	"BashOperator":                        OperatorBash,
	"airflow.operators.bash.BashOperator": OperatorBash,
	"airflow.operators.bash_operator.BashOperator":           OperatorBash,
	"airflow.providers.standard.operators.bash.BashOperator": OperatorBash,
	"branch":                                OperatorBranch,
	"bash_branch":                           OperatorBranch,
	"short_circuit":                         OperatorShortCircuit,
	"bash_short_circuit":                    OperatorShortCircuit,
	"file_sensor":                           OperatorFileSensor,
	"FileSensor":                            OperatorFileSensor,
	"airflow.sensors.filesystem.FileSensor": OperatorFileSensor,
	"time_delta_sensor":                     OperatorTimeDeltaSensor,
	"TimeDeltaSensor":                       OperatorTimeDeltaSensor,
	"airflow.sensors.time_delta.TimeDeltaSensor":              OperatorTimeDeltaSensor,
	"date_time_sensor":                                        OperatorDateTimeSensor,
	"DateTimeSensor":                                          OperatorDateTimeSensor,
	"airflow.sensors.date_time.DateTimeSensor":                OperatorDateTimeSensor,
	"external_task_sensor":                                    OperatorExternalTaskSensor,
	"ExternalTaskSensor":                                      OperatorExternalTaskSensor,
	"airflow.sensors.external_task.ExternalTaskSensor":        OperatorExternalTaskSensor,
	"airflow.sensors.external_task_sensor.ExternalTaskSensor": OperatorExternalTaskSensor,
	"http_sensor":                                             OperatorHTTPSensor,
	"HttpSensor":                                              OperatorHTTPSensor,
	"airflow.providers.http.sensors.http.HttpSensor":          OperatorHTTPSensor,
	"http":               OperatorHTTP,
	"HttpOperator":       OperatorHTTP,
	"SimpleHttpOperator": OperatorHTTP,
	"airflow.providers.http.operators.http.HttpOperator":       OperatorHTTP,
	"airflow.providers.http.operators.http.SimpleHttpOperator": OperatorHTTP,
	"empty":                                 OperatorEmpty,
	"dummy":                                 OperatorEmpty,
	"EmptyOperator":                         OperatorEmpty,
	"DummyOperator":                         OperatorEmpty,
	"airflow.operators.empty.EmptyOperator": OperatorEmpty,
	"airflow.operators.dummy.DummyOperator": OperatorEmpty,
	"airflow.operators.dummy_operator.DummyOperator":           OperatorEmpty,
	"airflow.providers.standard.operators.empty.EmptyOperator": OperatorEmpty,
}

var triggerRules = map[string]bool{
	TriggerAllSuccess: true, TriggerAllFailed: true, TriggerAllDone: true, TriggerAllSkipped: true,
	TriggerOneSuccess: true, TriggerOneFailed: true, TriggerOneDone: true, TriggerNoneFailed: true,
	TriggerNoneFailedMinOneSuccess: true, TriggerNoneSkipped: true, TriggerAlways: true,
	"none_failed_or_skipped": true, // Airflow's deprecated alias
}

// ignoredKeys are Airflow arguments gust accepts and does not act on (yet):
// they describe people, docs or features outside gust's scope, so a file
// written for Airflow still imports.
var ignoredKeys = map[string]bool{
	"email": true, "email_on_failure": true, "email_on_retry": true, "sla": true, "sla_secs": true,
	"doc": true, "doc_md": true, "doc_json": true, "doc_yaml": true, "doc_rst": true,
	"owner_links": true, "executor_config": true, "run_as_user": true, "task_display_name": true,
	"output_encoding": true, "inlets": true, "outlets": true, "resources": true,
	"on_execute_callback": true, "on_skipped_callback": true, "start_date": true, "end_date": true,
}

var dagIgnoredKeys = map[string]bool{
	"doc_md": true, "orientation": true, "default_view": true, "access_control": true,
	"render_template_as_native_obj": true, "template_searchpath": true, "owner_links": true,
	"dag_display_name":  true,
	"sla_miss_callback": true, "jinja_environment_kwargs": true, "user_defined_macros": true,
	"user_defined_filters": true, "fail_stop": true, "auto_register": true,
}

// ParseFile reads and parses one DAG file.
func ParseFile(path string) ([]*DAG, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ParseError{File: path, Msg: fmt.Sprintf("cannot read: %v", err)}
	}
	return Parse(path, data)
}

// Parse parses the DAGs of one file. Any error makes the whole file an
// import error, as in Airflow; the error is a *ParseError.
func Parse(fileloc string, data []byte) ([]*DAG, error) {
	p := &parser{file: fileloc}
	dags, err := p.parse(data)
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			return nil, pe
		}
		return nil, &ParseError{File: fileloc, Msg: err.Error()}
	}
	return dags, nil
}

type parser struct {
	file string
}

func (p *parser) errf(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &ParseError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// field is one key of a YAML mapping with its value node.
type field struct {
	key  string
	knod *yaml.Node
	val  *yaml.Node
}

// fields returns the pairs of a mapping, resolving aliases and merge keys
// (<<), refusing duplicate keys.
func (p *parser) fields(n *yaml.Node, what string) ([]field, error) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, "%s must be a mapping", what)
	}
	var out []field
	seen := map[string]bool{}
	var merged []field
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" || (k.Value == "<<" && k.Kind == yaml.ScalarNode && k.Style == 0) {
			srcs := []*yaml.Node{resolve(v)}
			if srcs[0].Kind == yaml.SequenceNode {
				srcs = srcs[0].Content
			}
			for _, s := range srcs {
				fs, err := p.fields(s, what+" (merged)")
				if err != nil {
					return nil, err
				}
				merged = append(merged, fs...)
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return nil, p.errf(k, "%s: keys must be strings", what)
		}
		if seen[k.Value] {
			return nil, p.errf(k, "%s: duplicate key %q", what, k.Value)
		}
		seen[k.Value] = true
		out = append(out, field{key: k.Value, knod: k, val: v})
	}
	for _, f := range merged {
		if !seen[f.key] {
			seen[f.key] = true
			out = append(out, f)
		}
	}
	return out, nil
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return resolve(n.Content[0])
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func (p *parser) parse(data []byte) ([]*DAG, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		msg := err.Error()
		if m := regexp.MustCompile(`line (\d+)`).FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		return nil, &ParseError{File: p.file, Line: line, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
	}
	root := resolve(&doc)
	if root == nil || (root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
		return nil, nil // an empty file defines no DAG
	}
	top, err := p.fields(root, "the file")
	if err != nil {
		return nil, err
	}
	var def []field
	for _, f := range top {
		if f.key == "default" {
			if def, err = p.fields(f.val, "default"); err != nil {
				return nil, err
			}
		}
	}
	var dags []*DAG
	for _, f := range top {
		if f.key == "default" {
			continue
		}
		d, err := p.dag(f, def)
		if err != nil {
			return nil, err
		}
		dags = append(dags, d)
	}
	return dags, nil
}

// merge returns base overridden key by key by over.
func merge(base, over []field) []field {
	out := append([]field(nil), over...)
	seen := map[string]bool{}
	for _, f := range over {
		seen[f.key] = true
	}
	for _, f := range base {
		if !seen[f.key] {
			out = append(out, f)
		}
	}
	return out
}

func get(fs []field, key string) (field, bool) {
	for _, f := range fs {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}

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

	d := &DAG{DagID: id, Fileloc: p.file}
	where := "DAG " + id
	var tasksField *field
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
		case "on_success_callback":
			if d.OnSuccessCallback, err = p.callback(f.val, ctx); err != nil {
				return nil, err
			}
		case "on_failure_callback":
			if d.OnFailureCallback, err = p.callback(f.val, ctx); err != nil {
				return nil, err
			}
		case "task_groups", "timetable":
			return nil, p.errf(f.knod, "%s: %s is not supported by gust yet", where, f.key)
		default:
			if !dagIgnoredKeys[f.key] {
				return nil, p.errf(f.knod, "%s: unknown DAG argument %q", where, f.key)
			}
		}
	}
	schedField, hasSchedule, err := p.scheduleField(own, def, where)
	if err != nil {
		return nil, err
	}
	d.Schedule = DefaultSchedule
	if hasSchedule {
		if d.Schedule, err = p.schedule(schedField.val, where+": "+schedField.key); err != nil {
			return nil, err
		}
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
	if _, err := schedule.New(d.Schedule, d.Timezone); err != nil {
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
	if f, ok := get(args, "owner"); ok {
		if d.Owner, err = p.str(f.val, where+": default_args.owner"); err != nil {
			return nil, err
		}
	}
	if tasksField == nil || isNull(tasksField.val) {
		return nil, p.errf(df.knod, "%s: has no tasks", where)
	}
	if err := p.tasks(d, *tasksField, args); err != nil {
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

func checkID(id string) error {
	if id == "" {
		return errors.New("must not be empty")
	}
	if len(id) > maxIDLength {
		return fmt.Errorf("longer than %d characters", maxIDLength)
	}
	if !idPattern.MatchString(id) {
		return errors.New("may contain only letters, digits, '_', '-' and '.'")
	}
	return nil
}

func (p *parser) tasks(d *DAG, tf field, args []field) error {
	where := "DAG " + d.DagID
	n := resolve(tf.val)
	type rawTask struct {
		id   string
		knod *yaml.Node
		fs   []field
	}
	var raws []rawTask
	switch n.Kind {
	case yaml.MappingNode:
		entries, err := p.fields(n, where+": tasks")
		if err != nil {
			return err
		}
		for _, e := range entries {
			fs, err := p.fields(e.val, where+": task "+e.key)
			if err != nil {
				return err
			}
			if f, ok := get(fs, "task_id"); ok {
				if s, _ := p.str(f.val, ""); s != e.key {
					return p.errf(f.knod, "%s: task %s: task_id %q differs from its key", where, e.key, s)
				}
			}
			raws = append(raws, rawTask{id: e.key, knod: e.knod, fs: fs})
		}
	case yaml.SequenceNode:
		seen := map[string]bool{}
		for _, item := range n.Content {
			fs, err := p.fields(item, where+": task")
			if err != nil {
				return err
			}
			f, ok := get(fs, "task_id")
			if !ok {
				return p.errf(item, "%s: a task in the tasks list has no task_id", where)
			}
			id, err := p.str(f.val, where+": task_id")
			if err != nil {
				return err
			}
			if seen[id] {
				return p.errf(f.val, "%s: duplicate task id %q", where, id)
			}
			seen[id] = true
			raws = append(raws, rawTask{id: id, knod: f.val, fs: fs})
		}
	default:
		return p.errf(n, "%s: tasks must be a mapping of task id to task, or a list of tasks with task_id", where)
	}
	if len(raws) == 0 {
		return p.errf(n, "%s: has no tasks", where)
	}
	byID := map[string]*Task{}
	deps := map[string][]field{}
	var tasks []*Task
	for _, r := range raws {
		if err := checkID(r.id); err != nil {
			return p.errf(r.knod, "%s: task id %q: %v", where, r.id, err)
		}
		t, dep, err := p.task(d, r.id, r.fs, args)
		if err != nil {
			return err
		}
		byID[r.id] = t
		tasks = append(tasks, t)
		if dep != nil {
			deps[r.id] = append(deps[r.id], *dep)
		}
	}
	for id, fs := range deps {
		for _, f := range fs {
			var ups []string
			if err := p.decode(f.val, &ups, where+": task "+id+": dependencies", "a list of task ids"); err != nil {
				return err
			}
			seen := map[string]bool{}
			for _, u := range ups {
				if byID[u] == nil {
					return p.errf(f.val, "%s: task %s depends on unknown task %q", where, id, u)
				}
				if u == id {
					return p.errf(f.val, "%s: task %s depends on itself", where, id)
				}
				if !seen[u] {
					seen[u] = true
					byID[id].Upstream = append(byID[id].Upstream, u)
				}
			}
			sort.Strings(byID[id].Upstream)
		}
	}
	ordered, err := topoSort(tasks)
	if err != nil {
		return p.errf(n, "%s: %v", where, err)
	}
	d.Tasks = ordered
	computePriorities(d)
	return nil
}

// task builds one task from its own fields over default_args. It returns the
// dependencies field for resolution once every task is known.
func (p *parser) task(d *DAG, id string, own, args []field) (*Task, *field, error) {
	where := "DAG " + d.DagID + ": task " + id
	t := &Task{
		TaskID:         id,
		RetryDelaySec:  DefaultRetryDelaySec,
		TriggerRule:    TriggerAllSuccess,
		Pool:           DefaultPool,
		PoolSlots:      1,
		PriorityWeight: 1,
		WeightRule:     WeightDownstream,
		DoXcomPush:     true,
		Owner:          d.Owner,
	}

	opField, ok := get(own, "operator")
	if !ok {
		return nil, nil, p.errf(nil, "%s: has no operator", where)
	}
	opName, err := p.str(opField.val, where+": operator")
	if err != nil {
		return nil, nil, err
	}
	if t.Operator, ok = operators[opName]; !ok {
		return nil, nil, p.errf(opField.val, "%s: unknown operator %q (gust knows bash, empty, branch and short_circuit, or their Airflow class paths)", where, opName)
	}
	t.IgnoreDownstreamTriggerRules = t.Operator == OperatorShortCircuit
	if IsSensor(t.Operator) {
		t.Sensor = &Sensor{PokeInterval: 60, Timeout: 7 * 24 * 3600, Mode: "poke"}
	}
	if t.Operator == OperatorHTTP || t.Operator == OperatorHTTPSensor {
		t.HTTP = &HTTP{ConnID: "http_default", Method: "POST"}
		if t.Operator == OperatorHTTPSensor {
			t.HTTP.Method = "GET"
		}
	}
	// Operator-specific arguments are read from the task itself; the
	// BaseOperator ones from the task, else from default_args.
	var dep *field
	var bashSet bool
	apply := func(f field, fromArgs bool) error {
		ctx := where + ": " + f.key
		switch f.key {
		case "operator", "task_id":
			return nil
		case "dependencies":
			if fromArgs {
				return p.errf(f.knod, "%s: dependencies cannot be a default argument", where)
			}
			f := f
			dep = &f
		case "bash_command":
			if !RunsBash(t.Operator) {
				break
			}
			bashSet = true
			t.BashCommand, err = p.str(f.val, ctx)
		case "env":
			if !RunsBash(t.Operator) {
				break
			}
			var m map[string]any
			if err = p.decode(f.val, &m, ctx, "a mapping of names to values"); err == nil && m != nil {
				t.Env = map[string]string{}
				for k, v := range m {
					t.Env[k] = scalarString(v)
				}
			}
		case "append_env":
			if RunsBash(t.Operator) {
				t.AppendEnv, err = p.boolean(f.val, ctx)
			}
		case "cwd":
			if RunsBash(t.Operator) {
				t.Cwd, err = p.str(f.val, ctx)
			}
		case "skip_on_exit_code", "skip_exit_code":
			if !RunsBash(t.Operator) {
				break
			}
			if isNull(f.val) {
				t.SkipOnExitCode = []int{}
				break
			}
			var one int
			if resolve(f.val).Kind == yaml.ScalarNode {
				if err = p.decode(f.val, &one, ctx, "an exit code or a list of them"); err == nil {
					t.SkipOnExitCode = []int{one}
				}
			} else {
				err = p.decode(f.val, &t.SkipOnExitCode, ctx, "an exit code or a list of them")
			}
		case "ignore_downstream_trigger_rules":
			if t.Operator != OperatorShortCircuit {
				return p.errf(f.knod, "%s: ignore_downstream_trigger_rules applies to the short_circuit operator only", where)
			}
			t.IgnoreDownstreamTriggerRules, err = p.boolean(f.val, ctx)
		case "on_success_callback":
			t.OnSuccessCallback, err = p.callback(f.val, ctx)
		case "on_failure_callback":
			t.OnFailureCallback, err = p.callback(f.val, ctx)
		case "on_retry_callback":
			t.OnRetryCallback, err = p.callback(f.val, ctx)
		case "poke_interval", "timeout", "mode", "soft_fail", "filepath", "delta", "target_time", "external_dag_id",
			"external_task_id", "allowed_states", "failed_states", "execution_delta", "http_conn_id", "endpoint",
			"method", "data", "headers", "response_check_contains", "fs_conn_id", "check_existence", "exponential_backoff":
			err = p.sensorArg(t, f, ctx, fromArgs)
		case "owner":
			t.Owner, err = p.str(f.val, ctx)
		case "retries":
			t.Retries, err = p.nonNegative(f.val, ctx)
		case "retry_delay_sec", "retry_delay":
			t.RetryDelaySec, err = p.seconds(f.val, ctx)
		case "retry_exponential_backoff":
			t.RetryExponentialBackoff, err = p.boolean(f.val, ctx)
		case "max_retry_delay_sec", "max_retry_delay":
			t.MaxRetryDelaySec, err = p.seconds(f.val, ctx)
		case "execution_timeout_secs", "execution_timeout_sec", "execution_timeout":
			t.ExecutionTimeoutSec, err = p.seconds(f.val, ctx)
		case "trigger_rule":
			var r string
			if r, err = p.str(f.val, ctx); err == nil {
				if !triggerRules[r] {
					return p.errf(f.val, "%s: unknown trigger rule %q", where, r)
				}
				if r == "none_failed_or_skipped" {
					r = TriggerNoneFailedMinOneSuccess
				}
				t.TriggerRule = r
			}
		case "pool":
			t.Pool, err = p.str(f.val, ctx)
			if err == nil && t.Pool == "" {
				t.Pool = DefaultPool
			}
		case "pool_slots":
			t.PoolSlots, err = p.positive(f.val, ctx)
		case "queue":
			t.Queue, err = p.str(f.val, ctx)
		case "priority_weight":
			t.PriorityWeight, err = p.integer(f.val, ctx)
		case "weight_rule":
			var r string
			if r, err = p.str(f.val, ctx); err == nil {
				if r != WeightDownstream && r != WeightUpstream && r != WeightAbsolute {
					return p.errf(f.val, "%s: unknown weight rule %q (downstream, upstream or absolute)", where, r)
				}
				t.WeightRule = r
			}
		case "depends_on_past":
			t.DependsOnPast, err = p.boolean(f.val, ctx)
		case "wait_for_downstream":
			t.WaitForDownstream, err = p.boolean(f.val, ctx)
			if t.WaitForDownstream {
				t.DependsOnPast = true // as Airflow: wait_for_downstream implies depends_on_past
			}
		case "max_active_tis_per_dag", "task_concurrency":
			t.MaxActiveTIsPerDag, err = p.positive(f.val, ctx)
		case "do_xcom_push":
			t.DoXcomPush, err = p.boolean(f.val, ctx)
		case "timezone":
			if !fromArgs {
				return p.errf(f.knod, "%s: unknown argument %q", where, f.key)
			}
		default:
			if ignoredKeys[f.key] {
				return nil
			}
			if fromArgs {
				// Airflow passes default_args only to operators that accept
				// them; an argument of another operator is not an error.
				if f.key == "bash_command" || f.key == "env" || f.key == "cwd" || f.key == "append_env" {
					return nil
				}
				return p.errf(f.knod, "DAG %s: default_args: unknown argument %q", d.DagID, f.key)
			}
			return p.errf(f.knod, "%s: unknown argument %q for operator %s", where, f.key, t.Operator)
		}
		return err
	}
	for _, f := range args {
		if _, overridden := get(own, f.key); overridden {
			continue
		}
		switch f.key {
		case "bash_command", "env", "append_env", "cwd", "skip_on_exit_code", "skip_exit_code":
			continue // operator arguments in default_args apply as in Airflow only when passed explicitly
		}
		if err := apply(f, true); err != nil {
			return nil, nil, err
		}
	}
	for _, f := range own {
		if t.Operator == OperatorEmpty {
			switch f.key {
			case "bash_command", "env", "append_env", "cwd", "skip_on_exit_code":
				return nil, nil, p.errf(f.knod, "%s: unknown argument %q for operator empty", where, f.key)
			}
		}
		if err := apply(f, false); err != nil {
			return nil, nil, err
		}
	}
	if s := t.Sensor; s != nil {
		switch {
		case t.Operator == OperatorFileSensor && s.Filepath == "":
			return nil, nil, p.errf(opField.knod, "%s: file_sensor needs filepath", where)
		case t.Operator == OperatorDateTimeSensor && s.TargetTime == "":
			return nil, nil, p.errf(opField.knod, "%s: date_time_sensor needs target_time", where)
		case t.Operator == OperatorExternalTaskSensor && s.ExternalDagID == "":
			return nil, nil, p.errf(opField.knod, "%s: external_task_sensor needs external_dag_id", where)
		case s.PokeInterval <= 0:
			return nil, nil, p.errf(opField.knod, "%s: poke_interval must be positive", where)
		}
		if t.Operator == OperatorExternalTaskSensor && len(s.AllowedStates) == 0 {
			s.AllowedStates = []string{"success"}
		}
	}
	if RunsBash(t.Operator) {
		if !bashSet || strings.TrimSpace(t.BashCommand) == "" {
			return nil, nil, p.errf(opField.knod, "%s: the bash operator needs a non-empty bash_command", where)
		}
		if t.SkipOnExitCode == nil {
			t.SkipOnExitCode = []int{DefaultSkipExitCode}
		}
	}
	return t, dep, nil
}

// topoSort orders tasks topologically, ties by task id, or reports a cycle.
func topoSort(tasks []*Task) ([]*Task, error) {
	byID := map[string]*Task{}
	indeg := map[string]int{}
	down := map[string][]string{}
	for _, t := range tasks {
		byID[t.TaskID] = t
		indeg[t.TaskID] = len(t.Upstream)
		for _, u := range t.Upstream {
			down[u] = append(down[u], t.TaskID)
		}
	}
	var ready []string
	for id, n := range indeg {
		if n == 0 {
			ready = append(ready, id)
		}
	}
	sort.Strings(ready)
	out := make([]*Task, 0, len(tasks))
	for len(ready) > 0 {
		id := ready[0]
		ready = ready[1:]
		out = append(out, byID[id])
		added := false
		for _, dn := range down[id] {
			indeg[dn]--
			if indeg[dn] == 0 {
				ready = append(ready, dn)
				added = true
			}
		}
		if added {
			sort.Strings(ready)
		}
	}
	if len(out) != len(tasks) {
		var cyc []string
		for id, n := range indeg {
			if n > 0 {
				cyc = append(cyc, id)
			}
		}
		sort.Strings(cyc)
		return nil, fmt.Errorf("dependency cycle among tasks %s", strings.Join(cyc, ", "))
	}
	return out, nil
}

// computePriorities sets EffectivePriority by Airflow's weight rules:
// downstream sums the weights of the task and all its descendants, upstream
// of the task and all its ancestors, absolute is the task's own.
func computePriorities(d *DAG) {
	up := map[string][]string{}
	down := map[string][]string{}
	byID := map[string]*Task{}
	for _, t := range d.Tasks {
		byID[t.TaskID] = t
		up[t.TaskID] = t.Upstream
		for _, u := range t.Upstream {
			down[u] = append(down[u], t.TaskID)
		}
	}
	reach := func(start string, edges map[string][]string) int {
		seen := map[string]bool{start: true}
		stack := []string{start}
		sum := 0
		for len(stack) > 0 {
			id := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			sum = clampAdd(sum, byID[id].PriorityWeight)
			for _, n := range edges[id] {
				if !seen[n] {
					seen[n] = true
					stack = append(stack, n)
				}
			}
		}
		return sum
	}
	for _, t := range d.Tasks {
		switch t.WeightRule {
		case WeightUpstream:
			t.EffectivePriority = reach(t.TaskID, up)
		case WeightAbsolute:
			t.EffectivePriority = t.PriorityWeight
		default:
			t.EffectivePriority = reach(t.TaskID, down)
		}
	}
}

// clampAdd adds within Postgres' int4 range, as Airflow does for weights.
func clampAdd(a, b int) int {
	s := int64(a) + int64(b)
	if s > math.MaxInt32 {
		return math.MaxInt32
	}
	if s < math.MinInt32 {
		return math.MinInt32
	}
	return int(s)
}

// sensorArg reads one sensor or HTTP argument.
func (p *parser) sensorArg(t *Task, f field, ctx string, fromArgs bool) error {
	s, h := t.Sensor, t.HTTP
	wrong := func() error {
		if fromArgs {
			return nil // default_args apply to the operators that take them
		}
		return p.errf(f.knod, "%s: argument %q does not apply to operator %s", ctx, f.key, t.Operator)
	}
	var err error
	switch f.key {
	case "poke_interval", "timeout", "mode", "soft_fail", "exponential_backoff":
		if s == nil {
			return wrong()
		}
		switch f.key {
		case "poke_interval":
			s.PokeInterval, err = p.seconds(f.val, ctx)
		case "timeout":
			s.Timeout, err = p.seconds(f.val, ctx)
		case "soft_fail":
			s.SoftFail, err = p.boolean(f.val, ctx)
		case "exponential_backoff":
			_, err = p.boolean(f.val, ctx)
		case "mode":
			if s.Mode, err = p.str(f.val, ctx); err == nil && s.Mode != "poke" && s.Mode != "reschedule" {
				return p.errf(f.val, "%s: mode must be poke or reschedule, got %q", ctx, s.Mode)
			}
		}
	case "filepath", "fs_conn_id":
		if t.Operator != OperatorFileSensor {
			return wrong()
		}
		if f.key == "filepath" {
			s.Filepath, err = p.str(f.val, ctx)
		}
	case "check_existence":
		if t.Operator != OperatorExternalTaskSensor {
			return wrong()
		}
		_, err = p.boolean(f.val, ctx)
	case "delta":
		if t.Operator != OperatorTimeDeltaSensor {
			return wrong()
		}
		s.Delta, err = p.seconds(f.val, ctx)
	case "target_time":
		if t.Operator != OperatorDateTimeSensor {
			return wrong()
		}
		s.TargetTime, err = p.str(f.val, ctx)
	case "external_dag_id", "external_task_id", "allowed_states", "failed_states", "execution_delta":
		if t.Operator != OperatorExternalTaskSensor {
			return wrong()
		}
		switch f.key {
		case "external_dag_id":
			s.ExternalDagID, err = p.str(f.val, ctx)
		case "external_task_id":
			s.ExternalTaskID, err = p.str(f.val, ctx)
		case "allowed_states":
			err = p.decode(f.val, &s.AllowedStates, ctx, "a list of states")
		case "failed_states":
			err = p.decode(f.val, &s.FailedStates, ctx, "a list of states")
		case "execution_delta":
			s.ExecutionDelta, err = p.seconds(f.val, ctx)
		}
	case "http_conn_id", "endpoint", "method", "data", "headers", "response_check_contains":
		if h == nil {
			return wrong()
		}
		switch f.key {
		case "http_conn_id":
			h.ConnID, err = p.str(f.val, ctx)
		case "endpoint":
			h.Endpoint, err = p.str(f.val, ctx)
		case "method":
			if h.Method, err = p.str(f.val, ctx); err == nil {
				h.Method = strings.ToUpper(h.Method)
			}
		case "response_check_contains":
			h.ResponseCheck, err = p.str(f.val, ctx)
		case "headers":
			var m map[string]any
			if err = p.decode(f.val, &m, ctx, "a mapping of header names to values"); err == nil {
				h.Headers = map[string]string{}
				for k, v := range m {
					h.Headers[k] = scalarString(v)
				}
			}
		case "data":
			n := resolve(f.val)
			if n.Kind == yaml.ScalarNode {
				h.Data, err = p.str(n, ctx)
			} else {
				var v any
				if err = p.decode(n, &v, ctx, "a string or a mapping"); err == nil {
					b, _ := json.Marshal(v)
					h.Data = string(b)
				}
			}
		}
	}
	return err
}

// callback reads a callback: a bash command, or a list of them (run in
// order, joined with newlines).
func (p *parser) callback(n *yaml.Node, ctx string) (string, error) {
	n = resolve(n)
	if n.Kind == yaml.SequenceNode {
		var cmds []string
		if err := p.decode(n, &cmds, ctx, "a bash command or a list of them"); err != nil {
			return "", err
		}
		return strings.Join(cmds, "\n"), nil
	}
	return p.str(n, ctx+" (a bash command)")
}

// Value decoders, each with a clear message.

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
	}
	return time.Time{}, p.errf(n, "%s: want a date like 2024-01-01 or a datetime like 2024-01-01T06:00:00+00:00", ctx)
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

// Serialize returns a DAG's canonical JSON and its hash (hex SHA-256). The
// same DAG always gives the same bytes.
func Serialize(d *DAG) ([]byte, string, error) {
	data, err := json.Marshal(d)
	if err != nil {
		return nil, "", fmt.Errorf("serialize DAG %s: %w", d.DagID, err)
	}
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:]), nil
}

// Deserialize reads a DAG written by Serialize.
func Deserialize(data []byte) (*DAG, error) {
	var d DAG
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("deserialize DAG: %w", err)
	}
	if d.DagID == "" || len(d.Tasks) == 0 {
		return nil, errors.New("deserialize DAG: no dag_id or no tasks")
	}
	return &d, nil
}
