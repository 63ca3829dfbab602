package dagspec

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// Airflow arguments that gust does not act on. An argument is accepted and
// ignored only when ignoring it cannot change what a task does; when a user
// may still expect an effect, the DAG gets a warning that says so. An
// argument whose effect gust cannot give yet is an import error that names
// it. DAG arguments written in default_args are accepted with a warning:
// Airflow passes default_args only to operator arguments, so they have no
// effect there either.

// Warning types, as the dag_warning table holds them. NonExistentPool is
// one of Airflow's (DagWarningType); Airflow's fixed enum has no kind for
// an argument that has no effect, so gust names its own.
const (
	WarningNonExistentPool = "non-existent pool"
	WarningIgnoredArgument = "ignored argument"
)

// Warning is a DAG warning: a problem that does not fail the DAG's import.
type Warning struct {
	Type    string `json:"warning_type"`
	Message string `json:"message"`
}

// Why an argument is ignored; "" ignores it quietly (it is cosmetic).
const (
	whyEmail       = "gust sends no email"
	whySLA         = "SLAs were removed in Airflow 3"
	whyAccess      = "gust has no per-DAG access control"
	whyDefaultArgs = "DAG arguments have no effect in default_args, in Airflow neither: set them on the DAG"
)

// taskIgnored are BaseOperator arguments accepted and not acted on.
var taskIgnored = map[string]string{
	"doc": "", "doc_md": "", "doc_json": "", "doc_yaml": "", "doc_rst": "", "owner_links": "",
	"task_display_name": "",
	// Only other executors read these; Airflow's Celery executor ignores them too.
	"executor_config": "", "resources": "",
	"email": whyEmail, "email_on_failure": "", "email_on_retry": "",
	"sla": whySLA, "sla_secs": whySLA,
}

// taskUnsupported are task arguments that would change what a task does.
var taskUnsupported = map[string]string{
	"run_as_user": "tasks run as the worker's user",
}

// dagIgnored are DAG arguments accepted and not acted on.
var dagIgnored = map[string]string{
	"doc_md": "", "orientation": "", "default_view": "", "owner_links": "", "dag_display_name": "",
	"auto_register":     "",
	"access_control":    whyAccess,
	"sla_miss_callback": whySLA,
}

// dagUnsupported are DAG arguments that would change what tasks do.
var dagUnsupported = map[string]string{
	"user_defined_macros":             "templates that use them would fail at run time",
	"user_defined_filters":            "templates that use them would fail at run time",
	"jinja_environment_kwargs":        "they change how templates render",
	"template_searchpath":             "templates cannot read files yet",
	"render_template_as_native_obj":   "templates render to strings",            // only true
	"fail_stop":                       "a failed task does not stop the others", // only true
	"fail_fast":                       "a failed task does not stop the others", // only true
	"max_consecutive_failed_dag_runs": "a DAG is not paused after failed runs",
}

// dagUnsupportedIfTrue are the dagUnsupported switches that are fine off.
var dagUnsupportedIfTrue = map[string]bool{"render_template_as_native_obj": true, "fail_stop": true, "fail_fast": true}

// dagArguments are the DAG's own arguments that are no operator's: in
// default_args they have no effect.
var dagArguments = map[string]bool{
	"schedule": true, "schedule_interval": true, "catchup": true, "description": true, "tags": true,
	"max_active_runs": true, "max_active_tasks": true, "concurrency": true, "dagrun_timeout": true,
	"dagrun_timeout_sec": true, "is_paused_upon_creation": true, "orientation": true, "default_view": true,
	"dag_display_name": true, "auto_register": true, "access_control": true, "sla_miss_callback": true,
	"user_defined_macros": true, "user_defined_filters": true, "jinja_environment_kwargs": true,
	"template_searchpath": true, "render_template_as_native_obj": true, "fail_stop": true, "fail_fast": true,
	"max_consecutive_failed_dag_runs": true, "timetable": true, "task_groups": true, "tasks": true,
}

// ignoredArg is one ignored argument: where it is (default_args.catchup,
// tasks.load.sla) and why it has no effect.
type ignoredArg struct{ what, why string }

// ignore records an ignored argument of the DAG being read, once.
func (p *parser) ignore(what, why string) {
	if why == "" {
		return
	}
	for _, a := range p.ignored {
		if a.what == what {
			return
		}
	}
	p.ignored = append(p.ignored, ignoredArg{what, why})
}

// takeWarnings returns the DAG warnings of the DAG being read and forgets
// them: one "ignored argument" warning that lists every ignored argument,
// grouped by reason.
func (p *parser) takeWarnings() []Warning {
	if len(p.ignored) == 0 {
		return nil
	}
	var whys []string
	byWhy := map[string][]string{}
	for _, a := range p.ignored {
		if byWhy[a.why] == nil {
			whys = append(whys, a.why)
		}
		byWhy[a.why] = append(byWhy[a.why], a.what)
	}
	parts := make([]string, 0, len(whys))
	for _, why := range whys {
		parts = append(parts, "ignored "+strings.Join(byWhy[why], ", ")+" ("+why+")")
	}
	p.ignored = nil
	return []Warning{{Type: WarningIgnoredArgument, Message: strings.Join(parts, "; ")}}
}

// isEmpty reports whether a value is null or an empty string, list or
// mapping.
func isEmpty(n *yaml.Node) bool {
	n = resolve(n)
	switch {
	case isNull(n):
		return true
	case n.Kind == yaml.ScalarNode:
		return strings.TrimSpace(n.Value) == ""
	default:
		return len(n.Content) == 0
	}
}
