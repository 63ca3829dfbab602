package worker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gust-sched/gust/common/connection"
	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/schedule"
	"github.com/gust-sched/gust/common/secrets"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
	"github.com/gust-sched/gust/templating"
)

// PythonRuntime is what Python tasks run with: the interpreter and gust's
// airflow package (the one the DAG processor parses with).
type PythonRuntime struct {
	Python string                 // [core] python_executable
	Shim   func() (string, error) // the unpacked airflow package's folder
	// DagsFolder goes on the callable's sys.path when this host has it, for
	// the modules a DAG file imports from it.
	DagsFolder string
	// MaxTasksPerChild bounds the tries one warm process runs (0: no
	// bound); FreshProcessPerTry forks the warm process for each try;
	// MemoryLimit caps a process's address space in bytes (0: none);
	// MaxIdle is how many warm processes wait for tries at most.
	MaxTasksPerChild   int
	FreshProcessPerTry bool
	MemoryLimit        int64
	MaxIdle            int

	resolve  sync.Once
	resolved string // the interpreter python_executable starts

	mu      sync.Mutex
	idle    []*pyProc // waiting for a try, longest idle first
	reaping bool
	closed  bool
}

// pyJob is what gust_run.py reads on stdin.
type pyJob struct {
	DagFile        string         `json:"dag_file"`
	Fileloc        string         `json:"fileloc"`
	DagsFolder     string         `json:"dags_folder,omitempty"`
	DagID          string         `json:"dag_id"`
	TaskID         string         `json:"task_id"`
	Kind           string         `json:"kind"`
	OpArgs         []any          `json:"op_args"`
	OpKwargs       map[string]any `json:"op_kwargs"`
	TemplatesDict  map[string]any `json:"templates_dict"`
	TemplateFields map[string]any `json:"template_fields,omitempty"`
	// MappedKwargs are a mapped python_class instance's arguments, with
	// which the runner builds the operator.
	MappedKwargs map[string]any `json:"mapped_kwargs,omitempty"`
	// MappedArgs are a mapped task group's arguments for the instance
	// (MappedArgument placeholders in the arguments).
	MappedArgs            map[string]any `json:"mapped_args,omitempty"`
	MultipleOutputs       bool           `json:"multiple_outputs"`
	ShowReturnValueInLogs bool           `json:"show_return_value_in_logs"`
	DoXcomPush            bool           `json:"do_xcom_push"`
	Context               map[string]any `json:"context"`
	// A YAML file's callable: Name in CallableFile, or in CallableModule.
	CallableName   string `json:"callable_name,omitempty"`
	CallableFile   string `json:"callable_file,omitempty"`
	CallableModule string `json:"callable_module,omitempty"`
	// Callback, when set, is the task's (or with DAGCallback the DAG's)
	// callback to call instead, with the Reason its try or run ended.
	Callback    string `json:"callback,omitempty"`
	Reason      string `json:"reason,omitempty"`
	DAGCallback bool   `json:"dag_callback,omitempty"`
	// Callables are a YAML file's Python callbacks for Callback, called
	// in order (none: the DAG file's own).
	Callables []dagspec.PyCallable `json:"callables,omitempty"`
	// Result is a post_execute hook's result argument.
	Result any `json:"result,omitempty"`
	// The try's environment and working directory, set for the callable.
	Env map[string]string `json:"env"`
	Cwd string            `json:"cwd"`
	// Inlets and Outlets are the task's assets and aliases (context's
	// inlets, inlet_events, outlets and outlet_events).
	Inlets  []dagspec.AssetRef `json:"inlets,omitempty"`
	Outlets []dagspec.AssetRef `json:"outlets,omitempty"`
	// MapIndexTemplate is a mapped instance's map_index_template: the
	// runner puts it in the context and reports what it renders with.
	MapIndexTemplate string `json:"map_index_template,omitempty"`
	// pushed is what the arguments' templates pushed (ti.xcom_push).
	pushed map[string]any
}

// pyMessage is one line from gust_run.py: a request, or the result.
type pyMessage struct {
	Op string `json:"op"`
	// requests
	Key    string `json:"key"`
	TaskID string `json:"task_id"`
	DagID  string `json:"dag_id"`
	RunID  string `json:"run_id"`
	ConnID string `json:"conn_id"`
	// MapIndex, when set, is the instance whose XCom to pull (xcom_pull
	// with map_indexes=i).
	MapIndex *int `json:"map_index"`
	// Template is a string to render with the try's context (render).
	Template string `json:"template"`
	// trigger_dag_run: the run to create
	Conf        map[string]any `json:"conf"`
	LogicalDate string         `json:"logical_date"`
	Reset       bool           `json:"reset"`
	FailPaused  bool           `json:"fail_when_paused"`
	// result
	State     string         `json:"state"`
	NoRetry   bool           `json:"no_retry"`
	Error     string         `json:"error"`
	XComs     map[string]any `json:"xcoms"`
	Branch    []string       `json:"branch"`
	Skip      []string       `json:"skip"` // tasks a python_class task skips (SkipMixin.skip)
	Condition *bool          `json:"condition"`
	Retire    bool           `json:"retire"` // the process is not fit for another try
	// RetryDelay, in seconds, is a retry policy's delay before the next try.
	RetryDelay *float64 `json:"retry_delay"`
	// Value is what an XComArg.map callable returned.
	Value any `json:"value"`
	// OutletEvents are the extras and alias events of the try's outlets.
	OutletEvents []pyOutletEvent `json:"outlet_events"`
	// MapIndexContext is what a mapped try's map_index_template renders
	// with: the template as the try left it in its context and the
	// names the try added to the context.
	MapIndexContext *pyMapIndexContext `json:"map_index_context"`
	// asset_events: the asset (URI) or alias whose events to read
	// (inlet_events).
	URI   string          `json:"uri"`
	Alias string          `json:"alias"`
	Raw   json.RawMessage `json:"-"`
}

// pyMapIndexContext is a Python try's part of its map_index_template's
// context.
type pyMapIndexContext struct {
	Template *string        `json:"template"`
	Vars     map[string]any `json:"vars"`
}

// pyCallback names a Python callback to run instead of the task's callable:
// Key (on_failure_callback, ...) of the task, or of the DAG when the task
// is nil, with the reason the try or run ended.
type pyCallback struct {
	Key, Reason string
	DAGLevel    bool
	Callables   []dagspec.PyCallable // a YAML file's; none for a Python file's own
	// Result is what post_execute gets: the try's return value.
	Result any
}

// callPython runs a Python try (or, with cb, a callback) on a warm process
// and returns its result, the masker of its output and the rendered
// arguments; an error is why it could not run or did not finish, logged.
func callPython(ctx context.Context, tl *taskLog, store Store, py *PythonRuntime, task *dagspec.Task, dag *dagspec.DAG,
	run *metadb.DagRun, ti *metadb.TaskInstance, cb *pyCallback) (pyMessage, *secrets.Masker, map[string]any, error) {
	masker := &secrets.Masker{}
	fail := func(format string, args ...any) (pyMessage, *secrets.Masker, map[string]any, error) {
		return pyMessage{}, masker, nil, fmt.Errorf(format, args...)
	}
	if py == nil || py.Shim == nil {
		return fail("this process cannot run Python (no Python runtime)")
	}
	shim, err := py.Shim()
	if err != nil {
		return fail("%v", err)
	}
	file, root, err := store.DAGFile(ctx, dag, run.DagHash)
	if err != nil {
		return fail("cannot get the DAG file: %v", err)
	}
	job, err := pythonJob(ctx, store, masker, task, dag, run, ti)
	if err != nil {
		return fail("template error: %v", err)
	}
	job.DagFile = file
	if cb != nil {
		job.Callback, job.Reason, job.DAGCallback, job.Result = cb.Key, cb.Reason, cb.DAGLevel, cb.Result
		for _, c := range cb.Callables {
			if c.File != "" && root != "" {
				c.File = filepath.Join(root, filepath.FromSlash(dagspec.CallableFileKey(c.File)))
			}
			job.Callables = append(job.Callables, c)
		}
	} else if p := task.Python; p != nil && (p.File != "" || p.Module != "") {
		job.CallableName, job.CallableModule, job.CallableFile = p.Name, p.Module, p.File
		if p.File != "" && root != "" {
			job.CallableFile = filepath.Join(root, filepath.FromSlash(dagspec.CallableFileKey(p.File)))
		}
	}
	if root != "" {
		job.DagsFolder = root // the modules of this version
	} else if py.DagsFolder != "" {
		if fi, err := os.Stat(py.DagsFolder); err == nil && fi.IsDir() {
			job.DagsFolder = py.DagsFolder
		}
	}
	rendered := map[string]any{"op_args": maskAny(masker, job.OpArgs), "op_kwargs": maskAny(masker, job.OpKwargs)}
	if job.TemplatesDict != nil {
		rendered["templates_dict"] = maskAny(masker, job.TemplatesDict)
	}
	if job.TemplateFields != nil {
		// A class's own fields: what Airflow shows as rendered.
		rendered = map[string]any{}
		for k, v := range job.TemplateFields {
			rendered[k] = maskAny(masker, v)
		}
	}
	sc, err := takeScratch(ctx)
	if err != nil {
		return fail("%v", err)
	}
	defer sc.Release()
	job.Cwd = sc.dir
	job.Env = map[string]string{}
	for _, kv := range append(taskEnv(task, nil, nil, dag, run, ti), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			job.Env[k] = v
		}
	}
	input, err := json.Marshal(job)
	if err != nil {
		return fail("encode the task for Python: %v", err)
	}
	var renderer *templating.Renderer
	render := func(s string) (string, error) {
		if renderer == nil {
			r, _, err := Renderer(ctx, store, dag, run, ti, masker)
			if err != nil {
				return "", err
			}
			renderer = r
		}
		return renderer.Render(task.TaskID, s)
	}
	res, err := py.run(ctx, tl, store, masker, shim, task, dag, run, job, input, render)
	if err != nil {
		tl.Errorf("%v", err)
		return pyMessage{}, masker, rendered, err
	}
	if res.State == tistate.Success && len(job.pushed) > 0 {
		if res.XComs == nil {
			res.XComs = map[string]any{}
		}
		addMissing(res.XComs, job.pushed)
	}
	return res, masker, rendered, nil
}

// executePython runs one try of a Python task: gust_run.py imports the DAG
// file (as stored with the DAG's version) and calls the task's callable with
// Airflow's context, asking this worker for XComs, variables and
// connections; its output is the try's log, masked.
func executePython(ctx context.Context, tl *taskLog, store Store, py *PythonRuntime, task *dagspec.Task, dag *dagspec.DAG,
	run *metadb.DagRun, ti *metadb.TaskInstance) outcome {
	res, masker, rendered, err := callPython(ctx, tl, store, py, task, dag, run, ti, nil)
	if err != nil {
		return outcome{state: tistate.Failed, reason: err.Error(), rendered: rendered}
	}
	o := outcome{state: res.State, reason: masker.Mask(res.Error), noRetry: res.NoRetry, rendered: rendered, retryDelay: res.RetryDelay,
		mapIndexContext: res.MapIndexContext}
	switch res.State {
	case tistate.Success:
		if err := checkXComs(res.XComs); err != nil {
			return outcome{state: tistate.Failed, reason: err.Error(), rendered: rendered}
		}
		o.xcoms, o.events = res.XComs, res.OutletEvents
		switch task.Operator {
		case dagspec.OperatorBranchPython:
			b, _ := json.Marshal(res.Branch)
			o.last = string(b)
		case dagspec.OperatorShortCircuitPython:
			o.last = "false"
			if res.Condition != nil && *res.Condition {
				o.last = "true"
			}
		case dagspec.OperatorPythonClass:
			o.branch = res.Branch // a branch operator's choice (nil: it did not branch)
			for _, id := range res.Skip {
				if dag.Task(id) == nil {
					return outcome{state: tistate.Failed, reason: "the task skips " + id + ", which is not in the DAG", rendered: rendered}
				}
			}
			o.skip = res.Skip
		}
	case tistate.Skipped, tistate.Failed:
	default:
		return outcome{state: tistate.Failed, reason: "the Python runner answered state " + res.State, rendered: rendered}
	}
	return o
}

// run hands the try to a warm Python process and holds the conversation
// until its result: the callable's output goes to the try's log, masked;
// its requests are answered from this worker's store. The process goes
// back to the pool after a clean try and is killed (with its group) on a
// timeout, a stop, or anything unclean.
func (py *PythonRuntime) run(ctx context.Context, tl *taskLog, store Store, masker *secrets.Masker, shim string,
	task *dagspec.Task, dag *dagspec.DAG, run *metadb.DagRun, job *pyJob, input []byte, render func(string) (string, error)) (pyMessage, error) {
	proc, err := py.checkout(shim, job)
	if err != nil {
		return pyMessage{}, err
	}
	clean := false
	defer func() {
		if clean {
			py.checkin(proc)
		} else {
			proc.kill()
		}
	}()
	pipes, err := newTryPipes()
	if err != nil {
		return pyMessage{}, err
	}
	defer pipes.close()
	if err := proc.sendTry(pipes.outW, pipes.reqW, pipes.respR); err != nil {
		return pyMessage{}, err
	}
	pipes.closeTheirs()
	tl.Infof("Running %s with Python (%s)", job.pyCallable(task), py.python())

	out := masker.Writer(tl)
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		_, _ = io.Copy(out, pipes.outR)
	}()
	// The conversation: the job, then requests until the result.
	results := make(chan pyMessage, 1)
	go func() {
		defer close(results)
		if _, err := pipes.respW.Write(append(input, '\n')); err != nil {
			return
		}
		sc := bufio.NewScanner(pipes.reqR)
		sc.Buffer(make([]byte, 64<<10), 2*metadb.MaxXComBytes+(1<<20))
		enc := json.NewEncoder(pipes.respW)
		for sc.Scan() {
			var m pyMessage
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				results <- pyMessage{Op: "done", State: tistate.Failed, Error: "the Python runner sent garbage: " + err.Error()}
				return
			}
			if m.Op == "done" {
				results <- m
				return
			}
			_ = enc.Encode(answer(ctx, store, masker, dag, run, render, m))
		}
	}()
	var timeout <-chan time.Time
	if d := secs(task.ExecutionTimeoutSec); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	stopped := func(why string) (pyMessage, error) {
		proc.kill()
		<-logged
		_ = out.Flush()
		return pyMessage{}, fmt.Errorf("%s; killed the task's process group", why)
	}
	var res pyMessage
	var ok bool
	select {
	case res, ok = <-results:
	case <-timeout:
		return stopped(fmt.Sprintf("execution_timeout of %s exceeded", secs(task.ExecutionTimeoutSec)))
	case <-ctx.Done():
		return stopped("task stopped: " + context.Cause(ctx).Error())
	}
	if !ok {
		// No result: the process died (or closed its pipes) mid-try.
		select {
		case <-proc.done:
		case <-time.After(killGrace):
		}
		proc.kill()
		<-logged
		_ = out.Flush()
		return pyMessage{}, errors.New(proc.exitReason())
	}
	// The output ends when the process lets go of the try's pipe; what
	// the callable left running in the background holding it is stopped.
	select {
	case <-logged:
		clean = !res.Retire
	case <-time.After(killGrace):
		proc.kill()
		<-logged
	}
	_ = out.Flush()
	return res, nil
}

func (j *pyJob) pyCallable(task *dagspec.Task) string {
	if task.Python != nil && task.Python.Callable != "" {
		return task.Python.Callable
	}
	return task.TaskID
}

// answer serves one request of the callable.
func answer(ctx context.Context, store Store, masker *secrets.Masker, dag *dagspec.DAG, run *metadb.DagRun,
	render func(string) (string, error), m pyMessage) map[string]any {
	switch m.Op {
	case "next_data_interval":
		next := nextInterval(dag, run)
		if next == nil {
			return map[string]any{"value": nil}
		}
		return map[string]any{"value": []string{next.Start.Format(time.RFC3339Nano), next.End.Format(time.RFC3339Nano)}}
	case "trigger_dag_run":
		req := TriggerRun{DagID: m.DagID, RunID: m.RunID, Conf: m.Conf, Reset: m.Reset, TriggeredBy: "task:" + run.DagID + "." + m.TaskID,
			FailWhenPaused: m.FailPaused}
		if m.LogicalDate != "" {
			t, err := time.Parse(time.RFC3339Nano, m.LogicalDate)
			if err != nil {
				return map[string]any{"error": fmt.Sprintf("logical_date %q is not an ISO 8601 date and time: %v", m.LogicalDate, err)}
			}
			req.LogicalDate = &t
		}
		id, logical, exists, err := store.TriggerRun(ctx, req)
		if err != nil {
			return map[string]any{"error": err.Error()}
		}
		return map[string]any{"value": map[string]any{"run_id": id, "logical_date": logical.UTC().Format(time.RFC3339Nano), "exists": exists}}
	case "dag_run_state":
		state, found, err := store.RunState(ctx, m.DagID, m.RunID)
		if err != nil {
			return map[string]any{"error": err.Error()}
		}
		if !found {
			return map[string]any{"value": nil}
		}
		return map[string]any{"value": state}
	case "render":
		out, err := render(m.Template)
		if err != nil {
			return map[string]any{"error": "template error: " + err.Error()}
		}
		return map[string]any{"value": out}
	case "xcom_pull":
		runID := m.RunID
		if runID == "" {
			runID = run.RunID
		}
		var v any
		var found bool
		var err error
		if m.MapIndex != nil {
			v, found, err = store.XComAt(ctx, m.DagID, runID, m.TaskID, m.Key, *m.MapIndex)
		} else {
			v, found, err = store.XCom(ctx, m.DagID, runID, m.TaskID, m.Key)
		}
		if err != nil {
			return map[string]any{"error": err.Error()}
		}
		if !found {
			return map[string]any{"value": nil}
		}
		return map[string]any{"value": v}
	case "variable":
		vars, err := store.Variables(ctx)
		if err != nil {
			return map[string]any{"error": err.Error()}
		}
		v, ok := vars[m.Key]
		if !ok {
			return map[string]any{"value": nil}
		}
		if secrets.IsSensitiveName(m.Key) {
			masker.Add(v)
		}
		return map[string]any{"value": v}
	case "prev_success":
		start, end, err := store.PrevSuccess(ctx, run.DagID, run.LogicalDate)
		if err != nil {
			return map[string]any{"error": err.Error()}
		}
		iso := func(t *time.Time) any {
			if t == nil {
				return nil
			}
			return t.UTC().Format(time.RFC3339Nano)
		}
		return map[string]any{"value": map[string]any{"prev_data_interval_start_success": iso(start),
			"prev_data_interval_end_success": iso(end)}}
	case "asset_events":
		events, err := store.AssetEvents(ctx, m.URI, m.Alias)
		if err != nil {
			return map[string]any{"error": err.Error()}
		}
		return map[string]any{"value": events}
	case "connection":
		conns, err := store.Connections(ctx)
		if err != nil {
			return map[string]any{"error": err.Error()}
		}
		for _, c := range conns {
			if c.ConnID == m.ConnID {
				masker.Add(c.Password)
				return map[string]any{"value": connJSON(c)}
			}
		}
		return map[string]any{"value": nil}
	}
	return map[string]any{"error": "unknown request " + m.Op}
}

func connJSON(c *connection.Connection) map[string]any {
	return map[string]any{"conn_id": c.ConnID, "conn_type": c.ConnType, "host": c.Host, "login": c.Login,
		"password": c.Password, "schema": c.Schema, "port": c.Port, "extra": c.Extra, "uri": c.URI()}
}

// pythonJob renders the task's templated arguments (the strings inside
// op_args, op_kwargs and templates_dict) and the context it gets.
func pythonJob(ctx context.Context, store Store, masker *secrets.Masker, task *dagspec.Task, dag *dagspec.DAG,
	run *metadb.DagRun, ti *metadb.TaskInstance) (*pyJob, error) {
	p := task.Python
	if p == nil {
		p = &dagspec.Python{}
	}
	var templates []string
	collectStrings(p.OpArgs, &templates)
	collectStrings(p.OpKwargs, &templates)
	collectStrings(p.TemplatesDict, &templates)
	collectStrings(p.TemplateFields, &templates)
	// The renderer (which loads connections) only for arguments that
	// are templates.
	var r *templating.Renderer
	for _, t := range templates {
		if strings.Contains(t, "{{") || strings.Contains(t, "{%") {
			var err error
			if r, _, err = Renderer(ctx, store, dag, run, ti, masker, templates...); err != nil {
				return nil, err
			}
			break
		}
	}
	job := &pyJob{Fileloc: dag.Fileloc, DagID: dag.DagID, TaskID: task.TaskID, Kind: task.Operator,
		MultipleOutputs: p.MultipleOutputs, ShowReturnValueInLogs: !p.HideReturnValueInLogs, DoXcomPush: task.DoXcomPush}
	if ti.MapIndex >= 0 {
		job.MapIndexTemplate = task.MapIndexTemplate
	}
	var rerr error
	render := func(s string) string {
		if rerr != nil || !strings.Contains(s, "{{") && !strings.Contains(s, "{%") {
			return s
		}
		out, err := r.Render(task.TaskID, s)
		if err != nil {
			rerr = err
		}
		return out
	}
	args, _ := renderAny(p.OpArgs, render).([]any)
	job.OpArgs = args
	if job.OpArgs == nil {
		job.OpArgs = []any{}
	}
	kw, _ := renderAny(p.OpKwargs, render).(map[string]any)
	job.OpKwargs = kw
	if p.TemplatesDict != nil {
		job.TemplatesDict, _ = renderAny(p.TemplatesDict, render).(map[string]any)
	}
	if p.TemplateFields != nil {
		job.TemplateFields, _ = renderAny(p.TemplateFields, render).(map[string]any)
	}
	if rerr != nil {
		return nil, rerr
	}
	if len(p.UnrenderedKwargs) > 0 {
		if job.OpKwargs == nil {
			job.OpKwargs = map[string]any{}
		}
		for k, v := range p.UnrenderedKwargs {
			job.OpKwargs[k] = v
		}
	}
	job.MappedKwargs, job.MappedArgs = p.MappedKwargs, p.GroupArgs
	if r != nil {
		job.pushed = r.Pushed()
	}
	job.Context = pythonContext(dag, run, ti)
	events, err := store.TriggeringEvents(ctx, run)
	if err != nil {
		return nil, err
	}
	if events != nil {
		job.Context["triggering_asset_events"] = events
	}
	job.Inlets, job.Outlets = task.Inlets, outletRefs(task)
	return job, nil
}

// addMissing adds what templates pushed (ti.xcom_push) to a try's XComs,
// under the keys the try did not push itself.
func addMissing(xcoms, pushed map[string]any) {
	for k, v := range pushed {
		if _, set := xcoms[k]; !set {
			xcoms[k] = v
		}
	}
}

func collectStrings(v any, out *[]string) {
	switch x := v.(type) {
	case string:
		*out = append(*out, x)
	case []any:
		for _, y := range x {
			collectStrings(y, out)
		}
	case map[string]any:
		for _, y := range x {
			collectStrings(y, out)
		}
	}
}

func renderAny(v any, render func(string) string) any {
	switch x := v.(type) {
	case string:
		return render(x)
	case []any:
		out := make([]any, len(x))
		for i, y := range x {
			out[i] = renderAny(y, render)
		}
		return out
	case map[string]any:
		if _, isXComArg := x["__gust_xcomarg__"]; isXComArg && len(x) == 1 {
			return x
		}
		out := make(map[string]any, len(x))
		for k, y := range x {
			out[k] = renderAny(y, render)
		}
		return out
	}
	return v
}

func maskAny(m *secrets.Masker, v any) any {
	return renderAny(v, m.Mask)
}

// pythonContext is what gust_run.py builds Airflow's context from.
func pythonContext(dag *dagspec.DAG, run *metadb.DagRun, ti *metadb.TaskInstance) map[string]any {
	ld := run.LogicalDate.UTC()
	ds := ld.Format("2006-01-02")
	iso := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	c := map[string]any{
		"ds": ds, "ds_nodash": strings.ReplaceAll(ds, "-", ""), "ts": ld.Format("2006-01-02T15:04:05-07:00"),
		"ts_nodash": ld.Format("20060102T150405"), "ts_nodash_with_tz": ld.Format("20060102T150405-0700"),
		"logical_date": ld.Format(time.RFC3339Nano), "data_interval_start": iso(run.DataIntervalStart),
		"data_interval_end": iso(run.DataIntervalEnd), "run_id": run.RunID, "run_type": run.RunType,
		"conf": run.Conf, "params": templating.Normalize(ResolveParams(dag, ti.TaskID, run.Conf)),
		"task_instance_key_str": dag.DagID + "__" + ti.TaskID + "__" + strings.ReplaceAll(ds, "-", ""),
		"try_number":            ti.TryNumber, "max_tries": ti.MaxTries, "map_index": ti.MapIndex,
	}
	return c
}

// nextInterval is the data interval the DAG's schedule gives after the
// run's (what LatestOnlyOperator compares now with), or nil.
func nextInterval(dag *dagspec.DAG, run *metadb.DagRun) *schedule.Interval {
	if run.DataIntervalStart == nil || run.DataIntervalEnd == nil {
		return nil
	}
	tt, err := dag.NewTimetable()
	if err != nil || !tt.IsScheduled() {
		return nil
	}
	cur := schedule.Interval{Start: *run.DataIntervalStart, End: *run.DataIntervalEnd}
	iv, _, ok := tt.Next(&cur, cur.Start, nil, true, time.Now())
	if !ok {
		return nil
	}
	return &iv
}

// materialise writes a DAG version's file (and the modules stored with
// it) under dir/dags/<hash>/, laid out as in the DAG folder, once; it
// returns the DAG file's path and, when the version carries its modules,
// the folder to import them from ("" for a version stored without them).
func materialise(dir, hash, fileloc string, load func() (metadb.DagVersionFiles, error)) (file, root string, err error) {
	root = filepath.Join(dir, "dags", hash)
	if b, err := os.ReadFile(filepath.Join(root, ".complete")); err == nil {
		rel, withModules, _ := strings.Cut(string(b), "\n")
		if withModules == "modules" {
			return filepath.Join(root, filepath.FromSlash(rel)), root, nil
		}
		return filepath.Join(root, filepath.FromSlash(rel)), "", nil
	}
	vf, err := load()
	if err != nil {
		return "", "", err
	}
	fail := func(err error) (string, string, error) {
		return "", "", fmt.Errorf("materialise the DAG file: %w", err)
	}
	rel := filepath.Base(fileloc)
	files := map[string]string{}
	marker := rel
	if vf.Files != nil {
		if vf.Files.Path != "" && filepath.IsLocal(filepath.FromSlash(vf.Files.Path)) {
			rel = vf.Files.Path
		}
		for m, text := range vf.Files.Modules {
			if !filepath.IsLocal(filepath.FromSlash(m)) || m == rel {
				continue
			}
			files[m] = text
		}
		marker = rel + "\nmodules"
	}
	files[rel] = vf.Source
	if err := os.MkdirAll(filepath.Dir(root), 0o700); err != nil {
		return fail(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(root), ".version-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(tmp)
	for name, text := range files {
		path := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return fail(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			return fail(err)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), []byte(marker), 0o600); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, root); err != nil {
		// Another try materialised the same version first, or an older
		// gust left this version's folder without its marker.
		if _, serr := os.Stat(filepath.Join(root, ".complete")); serr != nil {
			if rerr := os.RemoveAll(root); rerr != nil {
				return fail(rerr)
			}
			if err := os.Rename(tmp, root); err != nil {
				return fail(err)
			}
		}
	}
	return materialise(dir, hash, fileloc, load)
}
