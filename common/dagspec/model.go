// Package dagspec is gust's model of a DAG file: the dag-factory-style YAML
// format users write, its validation, and the normalised, serialisable DAG
// that the DAG processor stores in the metadata database and that schedulers
// and workers read back.
package dagspec

import (
	"path/filepath"
	"slices"

	"github.com/gust-sched/gust/common/schedule"
	"sort"
	"strings"
	"time"
)

// Sensor holds a sensor's arguments.
type Sensor struct {
	PokeInterval float64 `json:"poke_interval"` // seconds
	Timeout      float64 `json:"timeout"`       // seconds since the try's first poke
	Mode         string  `json:"mode"`          // poke | reschedule
	SoftFail     bool    `json:"soft_fail,omitempty"`
	// file_sensor
	Filepath string `json:"filepath,omitempty"`
	// time_delta_sensor: wait until data_interval_end + delta.
	Delta float64 `json:"delta,omitempty"`
	// date_time_sensor: wait until target_time (templated).
	TargetTime string `json:"target_time,omitempty"`
	// external_task_sensor: the run of external_dag_id with the same logical
	// date (minus execution_delta) has its task (or the run itself) in one of
	// allowed_states; failed_states fail the sensor.
	ExternalDagID  string `json:"external_dag_id,omitempty"`
	ExternalTaskID string `json:"external_task_id,omitempty"`
	// ExternalTaskGroupID waits for every task of that group of the
	// external DAG (its latest version) instead of one task.
	ExternalTaskGroupID string   `json:"external_task_group_id,omitempty"`
	AllowedStates       []string `json:"allowed_states,omitempty"`
	FailedStates        []string `json:"failed_states,omitempty"`
	ExecutionDelta      float64  `json:"execution_delta,omitempty"`
}

// Marker is an external_task_marker's (Airflow's ExternalTaskMarker):
// clearing the task clears ExternalTaskID, and what follows it, in the run
// of ExternalDagID whose logical date is LogicalDate ("" is the marker's
// own run's; else an ISO 8601 date and time), up to RecursionDepth markers
// deep. The task itself does nothing.
type Marker struct {
	ExternalDagID  string `json:"external_dag_id"`
	ExternalTaskID string `json:"external_task_id"`
	LogicalDate    string `json:"logical_date,omitempty"`
	RecursionDepth int    `json:"recursion_depth"`
}

// Python holds a Python operator's arguments. The callable itself stays in
// the DAG file, which the worker imports; strings in OpArgs, OpKwargs and
// TemplatesDict are templates, and {"__gust_xcomarg__": {task_id, key}}
// stands for an XComArg, pulled when the try runs.
type Python struct {
	Callable string `json:"python_callable"` // its name, for the log
	// A YAML file names the callable as dag-factory does: Name in File
	// (python_callable_name and python_callable_file, made absolute), or
	// Name in the importable Module (python_callable: module.function).
	Name                  string         `json:"python_callable_name,omitempty"`
	File                  string         `json:"python_callable_file,omitempty"`
	Module                string         `json:"python_callable_module,omitempty"`
	OpArgs                []any          `json:"op_args,omitempty"`
	OpKwargs              map[string]any `json:"op_kwargs,omitempty"`
	TemplatesDict         map[string]any `json:"templates_dict,omitempty"`
	MultipleOutputs       bool           `json:"multiple_outputs,omitempty"`
	HideReturnValueInLogs bool           `json:"hide_return_value_in_logs,omitempty"`
	// TemplateFields holds a python_class or python_sensor task's
	// template_fields and their values as the DAG file set them.
	TemplateFields map[string]any `json:"template_fields,omitempty"`
	// Class is the operator's class for python_class and python_sensor
	// (module.Class as the DAG file defines it), for listings and the API.
	Class string `json:"operator_class,omitempty"`
	// The instance's mapped arguments, set on a mapped task's copy when
	// it runs (never stored): MappedKwargs rebuild a python_class
	// operator with them; UnrenderedKwargs are TaskFlow arguments from
	// XComs, which are not templates.
	MappedKwargs     map[string]any `json:"-"`
	UnrenderedKwargs map[string]any `json:"-"`
	// GroupArgs are a mapped task group's arguments for the instance, by
	// name, for the task's MappedArguments.
	GroupArgs map[string]any `json:"-"`
}

// HTTP holds the http operator's and http_sensor's arguments.
type HTTP struct {
	ConnID        string            `json:"http_conn_id"`
	Endpoint      string            `json:"endpoint,omitempty"`
	Method        string            `json:"method"`
	Data          string            `json:"data,omitempty"`
	Headers       map[string]string `json:"headers,omitempty"`
	ResponseCheck string            `json:"response_check_contains,omitempty"` // the body must contain this
}

// Trigger rules, with Airflow's names.
const (
	TriggerAllSuccess              = "all_success"
	TriggerAllFailed               = "all_failed"
	TriggerAllDone                 = "all_done"
	TriggerAllSkipped              = "all_skipped"
	TriggerOneSuccess              = "one_success"
	TriggerOneFailed               = "one_failed"
	TriggerOneDone                 = "one_done"
	TriggerNoneFailed              = "none_failed"
	TriggerNoneFailedMinOneSuccess = "none_failed_min_one_success"
	TriggerNoneSkipped             = "none_skipped"
	TriggerAlways                  = "always"
	// TriggerAllDoneSetupSuccess is a teardown's: every upstream done and,
	// when some are setups, at least one of those succeeded.
	TriggerAllDoneSetupSuccess = "all_done_setup_success"
	// TriggerAllDoneMinOneSuccess: every upstream that is not skipped done,
	// and at least one succeeded (Airflow 3).
	TriggerAllDoneMinOneSuccess = "all_done_min_one_success"
)

// Weight rules, with Airflow's names.
const (
	WeightDownstream = "downstream"
	WeightUpstream   = "upstream"
	WeightAbsolute   = "absolute"
)

// DAG is one parsed, validated and normalised DAG. It is what gets serialised
// (as JSON) into the metadata database; Hash identifies one version.
type DAG struct {
	DagID   string `json:"dag_id"`
	Fileloc string `json:"fileloc"`
	// Line is where the DAG is defined in its file (0: unknown), for
	// messages; it is not part of the serialized DAG.
	Line        int    `json:"-"`
	Description string `json:"description,omitempty"`
	// Schedule is the normalised schedule string: a cron expression, a preset
	// ("@daily", "@once", ...), a duration ("30m0s" style, see schedule
	// package) or "" for no schedule (YAML null / "None").
	Schedule string `json:"schedule"`
	// TimetableSpec is the timetable the DAG chose for its schedule (a
	// trigger or data interval timetable, events); nil for "", "@once" and
	// "@continuous".
	TimetableSpec *schedule.Spec `json:"timetable,omitempty"`
	// AssetSchedule, when set, is the asset condition the DAG runs on
	// (Schedule is then ""): a run is created when the assets updated
	// since its last asset-triggered run meet it.
	AssetSchedule *AssetCond `json:"asset_schedule,omitempty"`
	StartDate     *time.Time `json:"start_date,omitempty"`
	EndDate       *time.Time `json:"end_date,omitempty"`
	Timezone      string     `json:"timezone,omitempty"` // IANA name, "" means UTC
	// Catchup is nil when the file does not say, so that the scheduler applies
	// [scheduler] catchup_by_default.
	Catchup              *bool          `json:"catchup,omitempty"`
	Tags                 []string       `json:"tags,omitempty"`
	Params               map[string]any `json:"params,omitempty"`
	MaxActiveRuns        int            `json:"max_active_runs,omitempty"`  // 0: [core] max_active_runs_per_dag
	MaxActiveTasks       int            `json:"max_active_tasks,omitempty"` // 0: [core] max_active_tasks_per_dag
	DagrunTimeoutSec     float64        `json:"dagrun_timeout_sec,omitempty"`
	IsPausedUponCreation *bool          `json:"is_paused_upon_creation,omitempty"`
	// Owner is default_args' owner, which every task gets unless it names
	// its own; Airflow's default ("airflow") when default_args has none.
	Owner string `json:"owner,omitempty"`
	// DAG-level callbacks: bash commands run (templated) when a run ends
	// in success or failure.
	OnSuccessCallback string `json:"on_success_callback,omitempty"`
	OnFailureCallback string `json:"on_failure_callback,omitempty"`
	// PythonCallbacks are a YAML file's Python callbacks, by key
	// (on_failure_callback, ...), whose command is PythonCallback.
	PythonCallbacks map[string][]PyCallable `json:"python_callbacks,omitempty"`
	// SourceHash digests the Python file a DAG with Python tasks comes
	// from, so that a change to a callable makes a new DAG version (whose
	// stored source the workers import).
	SourceHash string `json:"source_hash,omitempty"`
	// Tasks in a deterministic order (topological, ties by task id).
	Tasks []*Task `json:"tasks"`
	// TaskGroups are the DAG's task groups, parents before their children
	// (ties by group id); a task names its group by TaskGroup.
	TaskGroups []*TaskGroup `json:"task_groups,omitempty"`
	// Warnings are the DAG warnings the file gives (arguments accepted with
	// no effect). They are not part of the serialized DAG: the DAG
	// processor stores them in dag_warning.
	Warnings []Warning `json:"-"`
}

// Task is one task of a DAG with every default resolved.
type Task struct {
	TaskID   string `json:"task_id"`
	Operator string `json:"operator"` // OperatorBash, OperatorEmpty
	// Params are the task's own params (Airflow's operator params=), over
	// the DAG's for this task; a run's conf is over both.
	Params map[string]any `json:"params,omitempty"`
	// Upstream are the ids of the task's direct upstream tasks, sorted.
	Upstream []string `json:"upstream,omitempty"`
	// TaskGroup is the id of the innermost task group the task is in ("":
	// none, the DAG's root group).
	TaskGroup string `json:"task_group_id,omitempty"`

	// Operator arguments.
	BashCommand    string            `json:"bash_command,omitempty"`
	Env            map[string]string `json:"env,omitempty"`
	AppendEnv      bool              `json:"append_env,omitempty"`
	Cwd            string            `json:"cwd,omitempty"`
	SkipOnExitCode []int             `json:"skip_on_exit_code,omitempty"`
	// IgnoreDownstreamTriggerRules is the short_circuit operator's option
	// (default true).
	IgnoreDownstreamTriggerRules bool    `json:"ignore_downstream_trigger_rules,omitempty"`
	Sensor                       *Sensor `json:"sensor,omitempty"`
	HTTP                         *HTTP   `json:"http,omitempty"`
	Marker                       *Marker `json:"marker,omitempty"`
	Python                       *Python `json:"python,omitempty"`

	// BaseOperator arguments with Airflow's names.
	Owner                   string  `json:"owner,omitempty"`
	Retries                 int     `json:"retries"`
	RetryDelaySec           float64 `json:"retry_delay_sec"`
	RetryExponentialBackoff bool    `json:"retry_exponential_backoff,omitempty"`
	MaxRetryDelaySec        float64 `json:"max_retry_delay_sec,omitempty"`
	ExecutionTimeoutSec     float64 `json:"execution_timeout_secs,omitempty"`
	TriggerRule             string  `json:"trigger_rule"`
	Pool                    string  `json:"pool"`
	PoolSlots               int     `json:"pool_slots"`
	Queue                   string  `json:"queue,omitempty"` // "" means [celery] default_queue
	PriorityWeight          int     `json:"priority_weight"`
	WeightRule              string  `json:"weight_rule"`
	// EffectivePriority is PriorityWeight folded by WeightRule over the graph.
	EffectivePriority  int  `json:"effective_priority"`
	DependsOnPast      bool `json:"depends_on_past,omitempty"`
	WaitForDownstream  bool `json:"wait_for_downstream,omitempty"`
	MaxActiveTIsPerDag int  `json:"max_active_tis_per_dag,omitempty"`
	DoXcomPush         bool `json:"do_xcom_push"`
	// Callbacks are bash commands run (templated, with the task's context)
	// after a try ends in that state; a failing callback is only logged.
	OnSuccessCallback string `json:"on_success_callback,omitempty"`
	OnFailureCallback string `json:"on_failure_callback,omitempty"`
	OnRetryCallback   string `json:"on_retry_callback,omitempty"`
	// PythonCallbacks are a YAML file's Python callbacks, by key, whose
	// command is PythonCallback.
	PythonCallbacks map[string][]PyCallable `json:"python_callbacks,omitempty"`

	// Setup and teardown (Airflow 2.7's): a teardown runs when its setups
	// ran, whatever the work between did (all_done_setup_success), and its
	// failure fails the run only with OnFailureFailDagrun.
	IsSetup             bool `json:"is_setup,omitempty"`
	IsTeardown          bool `json:"is_teardown,omitempty"`
	OnFailureFailDagrun bool `json:"on_failure_fail_dagrun,omitempty"`
	// Setups are the task's indirect relevant setups (derived): setups
	// upstream of it, not direct upstreams, whose teardowns (if any) are
	// downstream of it. Each must succeed before the task runs.
	Setups []string `json:"setups,omitempty"`

	// Expand makes the task a mapped one (Airflow's dynamic task
	// mapping): one task instance per item, map_index 0..n-1, made when
	// its upstream is done; nil for a plain task.
	Expand *Expand `json:"expand,omitempty"`
	// MappedGroup is the mapped task group the task is in ("": none):
	// its Expand is the group's (Into "group"), and instance i of it
	// follows instance i of an upstream in the same group.
	MappedGroup string `json:"mapped_group,omitempty"`
	// MaxActiveTIsPerDagrun bounds the task's running instances in one
	// run (a mapped task's), 0: no bound.
	MaxActiveTIsPerDagrun int `json:"max_active_tis_per_dagrun,omitempty"`
	// MapIndexTemplate is the Jinja template that labels each mapped
	// instance, rendered when its try ends (Airflow's
	// map_index_template, shown as rendered_map_index).
	MapIndexTemplate string `json:"map_index_template,omitempty"`
	// Outlets are the assets a successful try updates: one asset event
	// each, recorded with the success.
	Outlets []Asset `json:"outlets,omitempty"`
	// OutletAliases are the aliases among its outlets: the try names the
	// assets of their events at run time (outlet_events[alias].add).
	OutletAliases []AssetAlias `json:"outlet_aliases,omitempty"`
	// ExecuteHooks are the pre_execute and post_execute callables a
	// Python DAG file gives the task (BaseOperator's hooks): the worker
	// calls them, from the imported file, around the operator.
	ExecuteHooks []string `json:"execute_hooks,omitempty"`
	// Inlets are the assets and aliases the task reads the events of
	// (Airflow's inlet_events), in the order given.
	Inlets []AssetRef `json:"inlets,omitempty"`

	// taskflow marks a task read in dag-factory's TaskFlow form
	// (decorator:), while it is read.
	taskflow bool
}

// Expand is how a mapped task expands. With Args (expand()), each
// argument's value is a source of items and there is one instance per
// combination of their items, the last argument varying fastest (Airflow's
// order); with Kwargs (expand_kwargs()), one instance per mapping of the
// source. A source is a list, an ordered mapping ({"__gust_dict__": [[k, v],
// ...]}, whose items are [k, v] pairs), an upstream's XCom
// ({"__gust_xcomarg__": {task_id, key}}: a mapped upstream's is the list of
// its instances' values) or a zip of sources ({"__gust_zip__": {args,
// longest, fillvalue}}).
type Expand struct {
	Args   []ExpandArg `json:"args,omitempty"`
	Kwargs any         `json:"kwargs,omitempty"`
	// Into says where the values go: "op_kwargs" for a TaskFlow
	// function's arguments, "" for the operator's own arguments, "group"
	// for a mapped task group's arguments (MappedArgument, by name).
	Into string `json:"into,omitempty"`
}

// ExpandArg is one argument of expand() and its source.
type ExpandArg struct {
	Name   string `json:"name"`
	Source any    `json:"source"`
}

// XComArgKey marks an upstream's XCom in arguments and mapping sources.
const XComArgKey = "__gust_xcomarg__"

// XComRef is an upstream's XCom an expansion reads.
type XComRef struct{ TaskID, Key string }

// Refs returns the XComs the expansion reads, each once, in the order its
// sources name them.
func (e *Expand) Refs() []XComRef {
	var out []XComRef
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x[XComArgKey].(map[string]any); ok {
				r := XComRef{}
				r.TaskID, _ = ref["task_id"].(string)
				if r.Key, _ = ref["key"].(string); r.Key == "" {
					r.Key = "return_value"
				}
				if r.TaskID != "" && !slices.Contains(out, r) {
					out = append(out, r)
				}
				return
			}
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(x[k])
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	for _, a := range e.Args {
		walk(a.Source)
	}
	walk(e.Kwargs)
	return out
}

// Upstreams returns the tasks whose XComs the expansion reads, each once.
func (e *Expand) Upstreams() []string {
	var out []string
	for _, r := range e.Refs() {
		if !slices.Contains(out, r.TaskID) {
			out = append(out, r.TaskID)
		}
	}
	return out
}

// TaskGroup is Airflow's TaskGroup: a box of tasks and groups in the grid
// and graph, with no effect on scheduling. GroupID is the full id: when
// the parent group prefixes ids (PrefixGroupID), its id and a dot come
// first, as they do for the ids of the tasks inside.
type TaskGroup struct {
	GroupID       string `json:"group_id"`
	Parent        string `json:"parent_group_id,omitempty"` // "": the root group
	Tooltip       string `json:"tooltip,omitempty"`
	PrefixGroupID bool   `json:"prefix_group_id"`
	UIColor       string `json:"ui_color,omitempty"`
	UIFgColor     string `json:"ui_fgcolor,omitempty"`
	// IsMapped marks a mapped task group (@task_group.expand): its tasks
	// are mapped over its expansion.
	IsMapped bool `json:"is_mapped,omitempty"`
}

// Group returns the task group with the given id, or nil.
func (d *DAG) Group(id string) *TaskGroup {
	for _, g := range d.TaskGroups {
		if g.GroupID == id {
			return g
		}
	}
	return nil
}

// InGroup reports whether the task is inside the group groupID, directly
// or through nested groups.
func (d *DAG) InGroup(t *Task, groupID string) bool {
	parent := make(map[string]string, len(d.TaskGroups))
	for _, g := range d.TaskGroups {
		parent[g.GroupID] = g.Parent
	}
	for g, n := t.TaskGroup, 0; g != "" && n <= len(d.TaskGroups); g, n = parent[g], n+1 {
		if g == groupID {
			return true
		}
	}
	return false
}

// Label is what the grid and graph show for a task or group id: the id
// without its group's prefix, as Airflow's label.
func (d *DAG) Label(id, groupID string) string {
	if g := d.Group(groupID); g != nil && g.PrefixGroupID && strings.HasPrefix(id, g.GroupID+".") {
		return id[len(g.GroupID)+1:]
	}
	return id
}

// PyCallable is a Python callable a YAML file names as dag-factory does:
// Name in File (absolute), or in the importable Module, with Kwargs bound
// to it (a class with notify, an Airflow notifier, is built with them).
type PyCallable struct {
	Name   string         `json:"name"`
	File   string         `json:"file,omitempty"`
	Module string         `json:"module,omitempty"`
	Kwargs map[string]any `json:"kwargs,omitempty"`
}

// Owners is what Airflow shows as a DAG's owners: its tasks' owners,
// each once, sorted and joined with ", ".
func (d *DAG) Owners() string {
	seen := map[string]bool{}
	var owners []string
	for _, t := range d.Tasks {
		if t.Owner != "" && !seen[t.Owner] {
			seen[t.Owner] = true
			owners = append(owners, t.Owner)
		}
	}
	sort.Strings(owners)
	return strings.Join(owners, ", ")
}

// Task returns the task with the given id, or nil.
func (d *DAG) Task(id string) *Task {
	for _, t := range d.Tasks {
		if t.TaskID == id {
			return t
		}
	}
	return nil
}

// paramSchemaKeys are the keys of a param written as a JSON schema
// ({default: 5, type: integer, minimum: 1}).
var paramSchemaKeys = map[string]bool{
	"default": true, "type": true, "enum": true, "minimum": true, "maximum": true, "exclusiveMinimum": true,
	"exclusiveMaximum": true, "minLength": true, "maxLength": true, "pattern": true, "format": true,
	"description": true, "title": true, "items": true, "const": true, "multipleOf": true, "examples": true,
	"minItems": true, "maxItems": true, "uniqueItems": true, "properties": true, "required": true, "__type__": true,
}

// ParamMarker marks a param that a Python DAG file gave as a Param: a
// schema whatever its keys (Airflow's UI keys such as section and
// description_md among them).
const ParamMarker = "__gust_param__"

// ParamSchema returns a param's JSON schema when it is written as one (a
// mapping with "default" or "type" and only schema keys, or a Python
// file's Param), else nil.
func ParamSchema(v any) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if m[ParamMarker] == true {
		return m
	}
	_, hasDefault := m["default"]
	_, hasType := m["type"]
	if !hasDefault && !hasType {
		return nil
	}
	for k := range m {
		if !paramSchemaKeys[k] {
			return nil
		}
	}
	return m
}

// ParamDefault is the value a param has when the run's conf does not set
// it: its default when written as a schema, else the value itself.
func ParamDefault(v any) any {
	if s := ParamSchema(v); s != nil {
		return s["default"]
	}
	return v
}

// CallableFileKey is where a python_callable_file is stored with a DAG
// version, in the version's files: under _abs/, by its absolute path.
func CallableFileKey(abs string) string {
	return "_abs/" + strings.TrimPrefix(filepath.ToSlash(filepath.Clean(abs)), "/")
}
