package dagspec

import (
	"sort"
	"strings"
)

// The operator registry: every operator gust runs, the names files may give
// it, and what the parser needs to know of it. Adding an operator is one
// line in operatorDefs (plus its constant and its execution in the worker);
// the parser's checks, IsSensor, RunsBash and the unknown-operator message
// all derive from the registry.

// Operator names after normalisation: the short names files use, and the
// names the serialized model and the worker know.
const (
	OperatorBash  = "bash"
	OperatorEmpty = "empty"
	// OperatorBranch runs bash; the last line of its output names the
	// direct downstream task ids to follow (comma or space separated, or a
	// JSON list); the other direct downstream tasks are skipped.
	OperatorBranch = "branch"
	// OperatorShortCircuit runs bash; when the last line of its output is
	// falsy ("", false, 0, none, no, [] or {}), its downstream tasks are
	// skipped: all of them, or with ignore_downstream_trigger_rules false
	// only the direct ones, leaving the rest to their trigger rules.
	OperatorShortCircuit = "short_circuit"
)

// Python operators: they run the task's python_callable, which only a
// Python DAG file can give (the worker imports the file to find it).
// branch_python follows the task ids the callable returns and skips the
// other direct downstream tasks; short_circuit_python skips downstream
// when it returns a falsy value, as short_circuit does.
const (
	OperatorPython             = "python"
	OperatorBranchPython       = "branch_python"
	OperatorShortCircuitPython = "short_circuit_python"
)

// Operators of a Python DAG file's own classes (and the ones gust's airflow
// package writes in Python): python_class calls the task's execute(context)
// on a worker, following the task ids it branches to when it branches;
// python_sensor is a sensor whose poke(context) runs in Python, each poke
// a call on the worker's warm processes. Their template_fields' values are
// rendered as other templated arguments are, and set on the task before
// the call.
const (
	OperatorPythonClass  = "python_class"
	OperatorPythonSensor = "python_sensor"
)

// Sensors and HTTP, with Airflow's names for their arguments.
const (
	OperatorFileSensor         = "file_sensor"
	OperatorTimeDeltaSensor    = "time_delta_sensor"
	OperatorDateTimeSensor     = "date_time_sensor"
	OperatorExternalTaskSensor = "external_task_sensor"
	OperatorExternalTaskMarker = "external_task_marker"
	OperatorHTTPSensor         = "http_sensor"
	OperatorHTTP               = "http"
)

// operatorDef describes one operator.
type operatorDef struct {
	name    string   // gust's name, also a short name files may use
	aliases []string // other short names, and Airflow class paths
	bash    bool     // runs bash_command (takes env, cwd, append_env, skip_on_exit_code)
	sensor  bool     // pokes (takes poke_interval, timeout, mode, soft_fail)
	http    bool     // calls an HTTP endpoint (takes http_conn_id, endpoint, method, ...)
	python  bool     // calls python_callable (takes op_args, op_kwargs, templates_dict, ...)
	// init sets the defaults of the operator's own arguments.
	init func(t *Task)
}

func sensorDefaults(t *Task) {
	t.Sensor = &Sensor{PokeInterval: 60, Timeout: 7 * 24 * 3600, Mode: "poke"}
}

var operatorDefs = []operatorDef{
	{name: OperatorPython, python: true, aliases: []string{"PythonOperator", "airflow.operators.python.PythonOperator",
		"airflow.operators.python_operator.PythonOperator", "airflow.providers.standard.operators.python.PythonOperator"}},
	{name: OperatorBranchPython, python: true, aliases: []string{"BranchPythonOperator", "airflow.operators.python.BranchPythonOperator",
		"airflow.providers.standard.operators.python.BranchPythonOperator"}},
	{name: OperatorShortCircuitPython, python: true, aliases: []string{"ShortCircuitOperator", "airflow.operators.python.ShortCircuitOperator",
		"airflow.providers.standard.operators.python.ShortCircuitOperator"},
		init: func(t *Task) { t.IgnoreDownstreamTriggerRules = true }},
	{name: OperatorPythonClass, python: true},
	{name: OperatorPythonSensor, python: true, sensor: true, init: sensorDefaults, aliases: []string{"PythonSensor",
		"airflow.sensors.python.PythonSensor", "airflow.providers.standard.sensors.python.PythonSensor"}},
	{name: OperatorBash, bash: true, aliases: []string{"BashOperator",
		"airflow.operators.bash.BashOperator", "airflow.operators.bash_operator.BashOperator",
		"airflow.providers.standard.operators.bash.BashOperator"}},
	{name: OperatorEmpty, aliases: []string{"dummy", "EmptyOperator", "DummyOperator",
		"airflow.operators.empty.EmptyOperator", "airflow.operators.dummy.DummyOperator",
		"airflow.operators.dummy_operator.DummyOperator", "airflow.providers.standard.operators.empty.EmptyOperator"}},
	{name: OperatorBranch, bash: true, aliases: []string{"bash_branch"}},
	{name: OperatorShortCircuit, bash: true, aliases: []string{"bash_short_circuit"},
		init: func(t *Task) { t.IgnoreDownstreamTriggerRules = true }},
	{name: OperatorFileSensor, sensor: true, init: sensorDefaults, aliases: []string{"FileSensor",
		"airflow.sensors.filesystem.FileSensor", "airflow.providers.standard.sensors.filesystem.FileSensor"}},
	{name: OperatorTimeDeltaSensor, sensor: true, init: sensorDefaults, aliases: []string{"TimeDeltaSensor",
		"airflow.sensors.time_delta.TimeDeltaSensor", "airflow.providers.standard.sensors.time_delta.TimeDeltaSensor"}},
	{name: OperatorDateTimeSensor, sensor: true, init: sensorDefaults, aliases: []string{"DateTimeSensor",
		"airflow.sensors.date_time.DateTimeSensor", "airflow.providers.standard.sensors.date_time.DateTimeSensor"}},
	{name: OperatorExternalTaskSensor, sensor: true, init: sensorDefaults, aliases: []string{"ExternalTaskSensor",
		"airflow.sensors.external_task.ExternalTaskSensor", "airflow.sensors.external_task_sensor.ExternalTaskSensor",
		"airflow.providers.standard.sensors.external_task.ExternalTaskSensor"}},
	{name: OperatorExternalTaskMarker, aliases: []string{"ExternalTaskMarker",
		"airflow.sensors.external_task.ExternalTaskMarker", "airflow.sensors.external_task_sensor.ExternalTaskMarker",
		"airflow.providers.standard.sensors.external_task.ExternalTaskMarker"},
		init: func(t *Task) { t.Marker = &Marker{RecursionDepth: 10} }},
	{name: OperatorHTTPSensor, sensor: true, http: true, aliases: []string{"HttpSensor",
		"airflow.providers.http.sensors.http.HttpSensor"},
		init: func(t *Task) { sensorDefaults(t); t.HTTP = &HTTP{ConnID: "http_default", Method: "GET"} }},
	{name: OperatorHTTP, http: true, aliases: []string{"HttpOperator", "SimpleHttpOperator",
		"airflow.providers.http.operators.http.HttpOperator", "airflow.providers.http.operators.http.SimpleHttpOperator"},
		init: func(t *Task) { t.HTTP = &HTTP{ConnID: "http_default", Method: "POST"} }},
}

// operatorsByName indexes the registry by every name a file may use. It is
// built once and only read.
var operatorsByName = func() map[string]*operatorDef {
	m := map[string]*operatorDef{}
	for i := range operatorDefs {
		d := &operatorDefs[i]
		for _, n := range append([]string{d.name}, d.aliases...) {
			m[n] = d
		}
	}
	return m
}()

// lookupOperator returns the operator a file names (short name or class
// path), or nil.
func lookupOperator(name string) *operatorDef { return operatorsByName[name] }

// operatorNames lists gust's operator names, sorted, for messages.
func operatorNames() string { return strings.Join(OperatorNames(), ", ") }

// OperatorNames lists gust's operator names (what task instances store), sorted.
func OperatorNames() []string {
	names := make([]string, 0, len(operatorDefs))
	for _, d := range operatorDefs {
		names = append(names, d.name)
	}
	sort.Strings(names)
	return names
}

// IsSensor reports whether an operator is a sensor.
func IsSensor(op string) bool {
	d := operatorsByName[op]
	return d != nil && d.name == op && d.sensor
}

// RunsPython reports whether an operator calls a Python callable.
func RunsPython(op string) bool {
	d := operatorsByName[op]
	return d != nil && d.name == op && d.python
}

// RunsBash reports whether an operator runs a bash command.
func RunsBash(op string) bool {
	d := operatorsByName[op]
	return d != nil && d.name == op && d.bash
}

// OperatorClass is the Airflow class path that stands for an operator in
// listings and the API (Airflow 3's providers.standard path where there is
// one); gust's own operators are named gust.operators.<name>.
func OperatorClass(name string) string {
	for _, d := range operatorDefs {
		if d.name != name {
			continue
		}
		first := ""
		for _, a := range d.aliases {
			if strings.HasPrefix(a, "airflow.providers.") {
				return a
			}
			if first == "" && strings.Contains(a, ".") {
				first = a
			}
		}
		if first != "" {
			return first
		}
	}
	return "gust.operators." + name
}

// TemplateFields lists an operator's templated arguments, as Airflow's
// template_fields.
func TemplateFields(name string) []string {
	for _, d := range operatorDefs {
		if d.name != name {
			continue
		}
		switch {
		case d.bash:
			return []string{"bash_command", "env", "cwd"}
		case d.python:
			return []string{"templates_dict", "op_args", "op_kwargs"}
		case d.http && d.sensor:
			return []string{"endpoint", "request_params", "headers"}
		case d.http:
			return []string{"endpoint", "data", "headers"}
		case name == OperatorFileSensor:
			return []string{"filepath"}
		case name == OperatorDateTimeSensor:
			return []string{"target_time"}
		case name == OperatorExternalTaskSensor:
			return []string{"external_dag_id", "external_task_id", "external_task_ids"}
		case name == OperatorExternalTaskMarker:
			return []string{"external_dag_id", "external_task_id", "logical_date"}
		}
	}
	return []string{}
}

// DoesNothing reports whether an operator's tries do nothing, so that the
// scheduler marks them success without a worker, as Airflow does for
// EmptyOperator and its subclasses.
func DoesNothing(op string) bool { return op == OperatorEmpty || op == OperatorExternalTaskMarker }
