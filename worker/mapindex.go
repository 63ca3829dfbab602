package worker

import (
	"context"
	"maps"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/secrets"
	"github.com/gust-sched/gust/metadb"
)

// labelMapIndex renders a mapped instance's map_index_template when its
// try has ended, whatever its state (Airflow renders it in the task
// runner's finally), into out.label: Airflow's rendered_map_index, the
// instance's name in the API and the UI. The template sees the try's
// context, with task holding the task's rendered fields (task.env,
// task.op_kwargs, ...) and what a Python try added to its context
// (get_current_context()["name"] = ...). A template that does not render
// leaves the instance named by its index; the try's log says why.
func labelMapIndex(ctx context.Context, tl *taskLog, store Store, task *dagspec.Task, dag *dagspec.DAG, run *metadb.DagRun,
	ti *metadb.TaskInstance, out *outcome) {
	if ti.MapIndex < 0 {
		return
	}
	tpl := task.MapIndexTemplate
	var vars map[string]any
	if c := out.mapIndexContext; c != nil {
		if c.Template != nil {
			tpl = *c.Template
		}
		vars = c.Vars
	}
	if tpl == "" {
		return
	}
	masker := &secrets.Masker{}
	r, _, err := Renderer(ctx, store, dag, run, ti, masker, tpl)
	if err != nil {
		tl.Errorf("cannot render map_index_template: %v", err)
		return
	}
	t := map[string]any{"task_id": ti.TaskID, "dag_id": ti.DagID, "owner": dag.Owner}
	maps.Copy(t, out.rendered)
	values := map[string]any{}
	maps.Copy(values, vars)
	values["task"] = t
	label, err := r.With(values).Render("map_index_template", tpl)
	if err != nil {
		tl.Errorf("cannot render map_index_template: %v", err)
		return
	}
	label = masker.Mask(label)
	out.label = &label
}
