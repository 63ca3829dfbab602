package dagspec

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The YAML reader's task level: tasks, their arguments over default_args, sensors, callbacks.

var triggerRules = map[string]bool{
	TriggerAllSuccess: true, TriggerAllFailed: true, TriggerAllDone: true, TriggerAllSkipped: true,
	TriggerOneSuccess: true, TriggerOneFailed: true, TriggerOneDone: true, TriggerNoneFailed: true,
	TriggerNoneFailedMinOneSuccess: true, TriggerNoneSkipped: true, TriggerAlways: true,
	"none_failed_or_skipped":   true, // Airflow's deprecated alias
	TriggerAllDoneSetupSuccess: true, TriggerAllDoneMinOneSuccess: true,
}

// tasks reads a DAG's tasks; groups are its task groups by name (final:
// task keys are full ids already, see FinalIDsKey).
func (p *parser) tasks(d *DAG, tf field, args []field, groups map[string]*groupDef, final bool) error {
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
	byName := map[string]*Task{} // by the document's name
	byID := map[string]*Task{}   // by full id
	deps := map[string][]field{}
	var tasks []*Task
	for _, r := range raws {
		id, targs := r.id, args
		var group *groupDef
		if f, ok := get(r.fs, "task_group_name"); ok && !isNull(f.val) {
			name, err := p.str(f.val, where+": task "+r.id+": task_group_name")
			if err != nil {
				return err
			}
			if group = groups[name]; group == nil {
				return p.errf(f.val, "%s: task %s: unknown task group %q", where, r.id, name)
			}
			if !final {
				id = childID(group.g, r.id)
			}
			targs = merge(args, group.args)
		}
		if groups[r.id] != nil {
			return p.errf(r.knod, "%s: %q is both a task and a task group", where, r.id)
		}
		if err := checkID(id); err != nil {
			return p.errf(r.knod, "%s: task id %q: %v", where, id, err)
		}
		if byID[id] != nil {
			return p.errf(r.knod, "%s: duplicate task id %q", where, id)
		}
		t, dep, err := p.task(d, id, r.fs, targs)
		if err != nil {
			return err
		}
		if group != nil {
			t.TaskGroup = group.g.GroupID
		}
		byName[r.id], byID[id] = t, t
		tasks = append(tasks, t)
		if dep != nil {
			deps[r.id] = append(deps[r.id], *dep)
		}
	}
	for i, t := range tasks {
		if t.Expand == nil && !t.taskflow {
			continue
		}
		bad, ok := bindExpand(t, func(name string) (string, bool) {
			if x := byName[name]; x != nil {
				return x.TaskID, true
			}
			if x := byID[name]; x != nil {
				return x.TaskID, true
			}
			return "", false
		})
		if !ok {
			return p.errf(raws[i].knod, "%s: task %s maps over (or takes) the output of unknown task %s", where, t.TaskID, bad)
		}
	}
	for _, g := range d.TaskGroups {
		if byID[g.GroupID] != nil {
			return p.errf(n, "%s: %q is the id of a task and of a task group", where, g.GroupID)
		}
	}
	for i, t := range tasks {
		if t.MappedGroup == "" {
			continue
		}
		if g := d.Group(t.MappedGroup); g == nil || !g.IsMapped || !d.InGroup(t, t.MappedGroup) {
			return p.errf(raws[i].knod, "%s: task %s: mapped_group %q is not a mapped task group it is in", where, t.TaskID, t.MappedGroup)
		}
	}
	// Dependencies on tasks first, then those on groups (bound to the
	// group's roots or leaves, as Airflow binds them when set), then the
	// groups' own, in the document's order.
	addUp := func(t *Task, ups ...string) {
		for _, u := range ups {
			if !slices.Contains(t.Upstream, u) {
				t.Upstream = append(t.Upstream, u)
			}
		}
	}
	type groupDep struct {
		task  *Task
		group string
		knod  *yaml.Node
	}
	var onGroups []groupDep
	for _, r := range raws {
		for _, f := range deps[r.id] {
			var ups []string
			if err := p.decode(f.val, &ups, where+": task "+r.id+": dependencies", "a list of task ids"); err != nil {
				return err
			}
			t := byName[r.id]
			for _, u := range ups {
				switch {
				case u == r.id:
					return p.errf(f.val, "%s: task %s depends on itself", where, r.id)
				case byName[u] != nil:
					addUp(t, byName[u].TaskID)
				case groups[u] != nil:
					onGroups = append(onGroups, groupDep{t, u, f.val})
				default:
					return p.errf(f.val, "%s: task %s depends on unknown task %q", where, r.id, u)
				}
			}
		}
	}
	gg := newGroupGraph(d, tasks, byID)
	for _, gd := range onGroups {
		g := groups[gd.group].g
		if d.InGroup(gd.task, g.GroupID) {
			return p.errf(gd.knod, "%s: task %s depends on its own group %s", where, gd.task.TaskID, gd.group)
		}
		addUp(gd.task, gg.leaves(g.GroupID)...)
	}
	for _, name := range sortedGroupNames(groups) {
		gd := groups[name]
		if gd.deps == nil {
			continue
		}
		var ups []string
		if err := p.decode(gd.deps.val, &ups, where+": task group "+name+": dependencies", "a list of task or group ids"); err != nil {
			return err
		}
		for _, u := range ups {
			var from []string
			switch {
			case u == name:
				return p.errf(gd.deps.val, "%s: task group %s depends on itself", where, name)
			case byName[u] != nil:
				if d.InGroup(byName[u], gd.g.GroupID) {
					return p.errf(gd.deps.val, "%s: task group %s depends on its own task %s", where, name, u)
				}
				from = []string{byName[u].TaskID}
			case groups[u] != nil:
				from = gg.leaves(groups[u].g.GroupID)
			default:
				return p.errf(gd.deps.val, "%s: task group %s depends on unknown task or group %q", where, name, u)
			}
			for _, root := range gg.roots(gd.g.GroupID) {
				addUp(byID[root], from...)
			}
		}
	}
	for _, t := range tasks {
		sort.Strings(t.Upstream)
	}
	relevantSetups(tasks)
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

	own, err := p.withPartial(own, where)
	if err != nil {
		return nil, nil, err
	}
	opField, ok := get(own, "operator")
	decorator, taskflow := get(own, "decorator")
	var opName string
	switch {
	case ok && taskflow:
		return nil, nil, p.errf(decorator.knod, "%s: give operator or decorator, not both", where)
	case taskflow:
		// dag-factory's TaskFlow form: the decorated function's
		// arguments are the task's other keys.
		name, err := p.str(decorator.val, where+": decorator")
		if err != nil {
			return nil, nil, err
		}
		if !taskDecorators[name] {
			return nil, nil, p.errf(decorator.val, "%s: decorator %q is not one gust has (airflow.sdk.task, airflow.decorators.task)", where, name)
		}
		opField, opName, t.taskflow = decorator, OperatorPython, true
	case !ok:
		return nil, nil, p.errf(nil, "%s: has no operator", where)
	default:
		if opName, err = p.str(opField.val, where+": operator"); err != nil {
			return nil, nil, err
		}
	}
	op := lookupOperator(opName)
	if op == nil {
		return nil, nil, p.errf(opField.val, "%s: unknown operator %q (gust knows %s, or their Airflow class paths)", where, opName, operatorNames())
	}
	t.Operator = op.name
	if op.init != nil {
		op.init(t)
	}
	if op.python {
		t.Python = &Python{}
	}
	// Operator-specific arguments are read from the task itself; the
	// BaseOperator ones from the task, else from default_args.
	var dep *field
	var bashSet, ruleSet bool
	apply := func(f field, fromArgs bool) error {
		// in names where an argument is: the task, or default_args.
		in := where
		if fromArgs {
			in = "DAG " + d.DagID + ": default_args"
		}
		ctx := in + ": " + f.key
		switch f.key {
		case "operator", "task_id", "decorator":
			return nil
		case "task_group_name":
			if fromArgs {
				return p.errf(f.knod, "%s: task_group_name cannot be a default argument", where)
			}
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
		case "python_callable", "op_args", "op_kwargs", "templates_dict", "multiple_outputs", "show_return_value_in_logs",
			"python_callable_name", "python_callable_file", "template_fields", "operator_class":
			if !RunsPython(t.Operator) {
				if fromArgs {
					return nil
				}
				return p.errf(f.knod, "%s: unknown argument %q for operator %s", where, f.key, t.Operator)
			}
			if fromArgs {
				return nil // operator arguments in default_args apply only when passed explicitly
			}
			err = p.pythonArg(t, f, ctx)
		case "logical_date", "execution_date", "recursion_depth":
			if t.Marker == nil {
				if fromArgs {
					return nil
				}
				return p.errf(f.knod, "%s: unknown argument %q for operator %s", where, f.key, t.Operator)
			}
			if fromArgs {
				return nil // operator arguments in default_args apply only when passed explicitly
			}
			if f.key == "recursion_depth" {
				t.Marker.RecursionDepth, err = p.positive(f.val, ctx)
				break
			}
			var s string
			if s, err = p.str(f.val, ctx); err == nil {
				t.Marker.LogicalDate, err = p.markerDate(f.val, s, ctx)
			}
		case "mapped_group":
			if fromArgs {
				return p.errf(f.knod, "%s: mapped_group cannot be a default argument", where)
			}
			t.MappedGroup, err = p.str(f.val, ctx)
		case "expand", "expand_kwargs", "map_into":
			if fromArgs {
				return p.errf(f.knod, "%s: %s cannot be a default argument", where, f.key)
			}
			err = p.expandArg(t, f, ctx)
		case "outlets":
			if fromArgs {
				return p.errf(f.knod, "%s: outlets cannot be a default argument", where)
			}
			var refs []AssetRef
			if refs, err = p.assetRefs(f.val, ctx); err == nil {
				t.Outlets, t.OutletAliases = nil, nil
				for _, r := range refs {
					if r.Alias != nil {
						t.OutletAliases = append(t.OutletAliases, *r.Alias)
					} else {
						t.Outlets = append(t.Outlets, *r.Asset)
					}
				}
			}
		case "inlets":
			if fromArgs {
				return p.errf(f.knod, "%s: inlets cannot be a default argument", where)
			}
			t.Inlets, err = p.assetRefs(f.val, ctx)
		case "max_active_tis_per_dagrun":
			t.MaxActiveTIsPerDagrun, err = p.positive(f.val, ctx)
		case "map_index_template":
			t.MapIndexTemplate, err = p.str(f.val, ctx)
		case "ignore_downstream_trigger_rules":
			if t.Operator != OperatorShortCircuit && t.Operator != OperatorShortCircuitPython {
				return p.errf(f.knod, "%s: ignore_downstream_trigger_rules applies to the short_circuit operator only", where)
			}
			t.IgnoreDownstreamTriggerRules, err = p.boolean(f.val, ctx)
		case "pre_execute", "post_execute":
			v := resolve(f.val)
			if !strings.HasSuffix(p.file, ".py") || v.Kind != yaml.MappingNode || len(v.Content) != 2 || v.Content[0].Value != "__gust_python__" {
				return p.errf(f.knod, "%s: %s is a Python callable of a Python DAG file's operator", where, f.key)
			}
			if !slices.Contains(t.ExecuteHooks, f.key) {
				t.ExecuteHooks = append(t.ExecuteHooks, f.key)
			}
		case "on_success_callback", "on_failure_callback", "on_retry_callback", "on_execute_callback", "on_skipped_callback":
			cmd, py, err := p.callback(f.val, ctx)
			if err != nil {
				return err
			}
			return p.setTaskCallback(t, f, in, cmd, py)
		case "poke_interval", "timeout", "mode", "soft_fail", "filepath", "delta", "target_time", "external_dag_id",
			"external_task_id", "external_task_group_id", "allowed_states", "failed_states", "execution_delta", "http_conn_id", "endpoint",
			"method", "data", "headers", "response_check_contains", "fs_conn_id", "check_existence", "exponential_backoff":
			err = p.sensorArg(t, f, ctx, fromArgs)
		case "params":
			if fromArgs {
				return nil // default_args' params are merged into the DAG's
			}
			err = p.decode(f.val, &t.Params, ctx, "a mapping")
			for n, v := range t.Params {
				if spec := ParamSchema(v); spec != nil && err == nil {
					if _, cerr := compileParam(n, spec); cerr != nil {
						err = p.errf(f.knod, "%s: param %s: invalid schema: %v", ctx, n, cerr)
					}
				}
			}
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
				ruleSet = true
			}
		case "is_setup", "is_teardown", "on_failure_fail_dagrun":
			var b bool
			if b, err = p.boolean(f.val, ctx); err == nil {
				switch f.key {
				case "is_setup":
					t.IsSetup = b
				case "is_teardown":
					t.IsTeardown = b
				default:
					t.OnFailureFailDagrun = b
				}
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
			// In default_args: the DAG's timezone.
			if !fromArgs {
				return p.errf(f.knod, "%s: unknown argument %q", where, f.key)
			}
		case "start_date", "end_date":
			// In default_args: the DAG's dates. A task's own dates decide
			// which runs include it, which gust does not do yet.
			if !fromArgs {
				return p.errf(f.knod, "%s: a task's own %s is not supported by gust yet (set it on the DAG or in default_args)", where, f.key)
			}
		case "output_encoding":
			var enc string
			if enc, err = p.str(f.val, ctx); err == nil {
				if e := strings.ReplaceAll(strings.ToLower(enc), "-", ""); e != "utf8" {
					return p.errf(f.val, "%s: output_encoding %q is not supported by gust (it reads output as UTF-8)", where, enc)
				}
			}
		default:
			argPath := "tasks." + id + "." + f.key
			if fromArgs {
				argPath = "default_args." + f.key
			}
			if why, ok := taskIgnored[f.key]; ok {
				if f.key != "email" || !isEmpty(f.val) {
					p.ignore(argPath, why)
				}
				return nil
			}
			if key, ok := callbackPairKey(f.key); ok && callbackKeys[key] {
				m := own
				if fromArgs {
					m = args
				}
				if _, hasName := get(m, key+"_name"); hasName && strings.HasSuffix(f.key, "_file") {
					return nil // read with its _name
				}
				cb, _, err := p.callbackPair(m, key, in)
				if err != nil {
					return err
				}
				return p.setTaskCallback(t, field{key: key, knod: f.knod, val: f.val}, in, PythonCallback, []PyCallable{*cb})
			}
			if why, ok := taskUnsupported[f.key]; ok {
				return p.errf(f.knod, "%s: %s is not supported by gust (%s)", in, f.key, why)
			}
			if t.taskflow && !fromArgs {
				return p.taskflowArg(t, f, ctx)
			}
			if fromArgs {
				// Airflow passes default_args only to operators that accept
				// them; an argument of another operator is not an error, and
				// the DAG's own arguments have no effect there.
				if dagArguments[f.key] {
					p.ignore(argPath, whyDefaultArgs)
					return nil
				}
				if f.key == "bash_command" || f.key == "env" || f.key == "cwd" || f.key == "append_env" {
					return nil
				}
				return p.errf(f.knod, "%s: unknown argument %q", in, f.key)
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
	switch {
	case t.IsSetup && t.IsTeardown:
		return nil, nil, p.errf(opField.knod, "%s: a task is a setup or a teardown, not both", where)
	case t.OnFailureFailDagrun && !t.IsTeardown:
		return nil, nil, p.errf(opField.knod, "%s: on_failure_fail_dagrun is for teardown tasks", where)
	case t.IsTeardown && !ruleSet:
		t.TriggerRule = TriggerAllDoneSetupSuccess // Airflow's as_teardown
	}
	if s := t.Sensor; s != nil {
		switch {
		case t.Operator == OperatorFileSensor && s.Filepath == "":
			return nil, nil, p.errf(opField.knod, "%s: file_sensor needs filepath", where)
		case t.Operator == OperatorDateTimeSensor && s.TargetTime == "":
			return nil, nil, p.errf(opField.knod, "%s: date_time_sensor needs target_time", where)
		case t.Operator == OperatorExternalTaskSensor && s.ExternalDagID == "":
			return nil, nil, p.errf(opField.knod, "%s: external_task_sensor needs external_dag_id", where)
		case s.ExternalTaskID != "" && s.ExternalTaskGroupID != "":
			return nil, nil, p.errf(opField.knod, "%s: give external_task_id or external_task_group_id, not both", where)
		case s.PokeInterval <= 0:
			return nil, nil, p.errf(opField.knod, "%s: poke_interval must be positive", where)
		}
		if t.Operator == OperatorExternalTaskSensor && len(s.AllowedStates) == 0 {
			s.AllowedStates = []string{"success"}
		}
	}
	if m := t.Marker; m != nil && (m.ExternalDagID == "" || m.ExternalTaskID == "") {
		return nil, nil, p.errf(opField.knod, "%s: external_task_marker needs external_dag_id and external_task_id", where)
	}
	if t.Python != nil && !strings.HasSuffix(p.file, ".py") {
		// dag-factory's ways to name the callable in a YAML file.
		py := t.Python
		switch {
		case t.Operator == OperatorPythonClass:
			return nil, nil, p.errf(opField.val, "%s: operator python_class is for a Python DAG file's own operator classes", where)
		case py.File != "" || py.Name != "":
			if py.File == "" || py.Name == "" {
				return nil, nil, p.errf(opField.knod, "%s: python_callable_name and python_callable_file go together", where)
			}
			if !filepath.IsAbs(py.File) {
				py.File = filepath.Join(filepath.Dir(p.file), py.File)
			}
			py.File = filepath.Clean(py.File)
			py.Callable = py.Name
		case py.Callable != "":
			mod, name, ok := cutLast(py.Callable, ".")
			if !ok || mod == "" || name == "" {
				return nil, nil, p.errf(opField.knod, "%s: python_callable %q must be a dotted path (module.function) in a YAML file", where, py.Callable)
			}
			py.Module, py.Name = mod, name
		default:
			return nil, nil, p.errf(opField.knod, "%s: operator %s needs python_callable_name and python_callable_file, or python_callable as a dotted path (module.function)", where, t.Operator)
		}
	}
	mappedCommand := false
	if t.Expand != nil && t.taskflow && t.Expand.Into != "group" {
		t.Expand.Into = "op_kwargs"
	}
	if t.MappedGroup != "" && (t.Expand == nil || t.Expand.Into != "group") {
		return nil, nil, p.errf(opField.knod, "%s: mapped_group needs expand or expand_kwargs with map_into group", where)
	}
	if t.Expand != nil {
		if err := p.checkExpand(t, own, opField.knod, where); err != nil {
			return nil, nil, err
		}
		mappedCommand = slices.ContainsFunc(t.Expand.Args, func(a ExpandArg) bool { return a.Name == "bash_command" })
	}
	if RunsBash(t.Operator) {
		if !mappedCommand && (!bashSet || strings.TrimSpace(t.BashCommand) == "") {
			return nil, nil, p.errf(opField.knod, "%s: the bash operator needs a non-empty bash_command", where)
		}
		if t.SkipOnExitCode == nil {
			t.SkipOnExitCode = []int{DefaultSkipExitCode}
		}
	}
	return t, dep, nil
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
	case "external_dag_id", "external_task_id", "external_task_group_id", "allowed_states", "failed_states", "execution_delta":
		if m := t.Marker; m != nil && (f.key == "external_dag_id" || f.key == "external_task_id") {
			if f.key == "external_dag_id" {
				m.ExternalDagID, err = p.str(f.val, ctx)
			} else {
				m.ExternalTaskID, err = p.str(f.val, ctx)
			}
			break
		}
		if t.Operator != OperatorExternalTaskSensor {
			return wrong()
		}
		switch f.key {
		case "external_dag_id":
			s.ExternalDagID, err = p.str(f.val, ctx)
		case "external_task_id":
			s.ExternalTaskID, err = p.str(f.val, ctx)
		case "external_task_group_id":
			s.ExternalTaskGroupID, err = p.str(f.val, ctx)
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

// setTaskCallback sets the task's callback f.key to cmd, with the Python
// callables py when cmd is PythonCallback.
func (p *parser) setTaskCallback(t *Task, f field, in, cmd string, py []PyCallable) error {
	switch f.key {
	case "on_success_callback":
		t.OnSuccessCallback = cmd
	case "on_failure_callback":
		t.OnFailureCallback = cmd
	case "on_retry_callback":
		t.OnRetryCallback = cmd
	default:
		if cmd == "" {
			return nil
		}
		return p.errf(f.knod, "%s: %s is not supported by gust yet (it runs on_success_callback, on_failure_callback and on_retry_callback)", in, f.key)
	}
	setPythonCallbacks(&t.PythonCallbacks, f.key, py)
	return nil
}

// setPythonCallbacks sets (or, with none, removes) the Python callables
// of callback key in *m.
func setPythonCallbacks(m *map[string][]PyCallable, key string, py []PyCallable) {
	delete(*m, key)
	if len(py) > 0 {
		if *m == nil {
			*m = map[string][]PyCallable{}
		}
		(*m)[key] = py
	}
}

// pythonArg reads one of a Python operator's own arguments.
func (p *parser) pythonArg(t *Task, f field, ctx string) error {
	switch f.key {
	case "python_callable":
		s, err := p.str(f.val, ctx)
		t.Python.Callable = s
		return err
	case "python_callable_name":
		s, err := p.str(f.val, ctx)
		t.Python.Name = s
		return err
	case "python_callable_file":
		s, err := p.str(f.val, ctx)
		t.Python.File = s
		return err
	case "op_args":
		return p.decode(f.val, &t.Python.OpArgs, ctx, "a list")
	case "op_kwargs":
		return p.decode(f.val, &t.Python.OpKwargs, ctx, "a mapping")
	case "templates_dict":
		return p.decode(f.val, &t.Python.TemplatesDict, ctx, "a mapping")
	case "template_fields":
		return p.decode(f.val, &t.Python.TemplateFields, ctx, "a mapping of field names to values")
	case "operator_class":
		s, err := p.str(f.val, ctx)
		t.Python.Class = s
		return err
	case "multiple_outputs":
		b, err := p.boolean(f.val, ctx)
		t.Python.MultipleOutputs = b
		return err
	case "show_return_value_in_logs":
		b, err := p.boolean(f.val, ctx)
		t.Python.HideReturnValueInLogs = !b
		return err
	}
	return nil
}

// cutLast splits s around the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// markerDateRE matches ExternalTaskMarker's default logical_date (and its
// equivalents): the marker's own run's.
var markerDateRE = regexp.MustCompile(`^\{\{\s*(logical_date|execution_date)(\.isoformat\(\))?\s*\}\}$|^\{\{\s*ts\s*\}\}$`)

// markerDate reads an external_task_marker's logical_date: its default
// template (the marker's own run's, "") or an ISO 8601 date and time.
func (p *parser) markerDate(n *yaml.Node, s, ctx string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || markerDateRE.MatchString(s) {
		return "", nil
	}
	if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return s, nil
	}
	return "", p.errf(n, "%s: %q: gust's external_task_marker takes the run's own logical date ({{ logical_date.isoformat() }}, the default) or an ISO 8601 date and time, not other templates yet", ctx, s)
}
