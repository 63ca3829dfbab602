package pydag

import (
	"context"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestTaskGroups reads Python task groups: TaskGroup as a context manager
// (nested, with tooltip and default_args), dependencies on groups bound to
// their roots and leaves, and @task_group called twice (its ids suffixed
// __1, its return value what the next call depends on).
func TestTaskGroups(t *testing.T) {
	p, dir := newParser(t)
	src, err := os.ReadFile("testdata/task_groups.py")
	if err != nil {
		t.Fatal(err)
	}
	path := write(t, dir, "task_groups.py", string(src))
	res, err := p.Parse(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.DAGs) != 1 {
		t.Fatalf("DAGs = %d", len(res.DAGs))
	}
	d := res.DAGs[0]
	got := map[string]string{}
	for _, task := range d.Tasks {
		got[task.TaskID] = strings.Join(task.Upstream, ",") + " group=" + task.TaskGroup + " retries=" + strconv.Itoa(task.Retries)
	}
	want := map[string]string{
		"start":                            " group= retries=1",
		"section_1.task_1":                 "start group=section_1 retries=4",
		"section_1.task_2":                 "section_1.task_1 group=section_1 retries=4",
		"section_1.task_3":                 "section_1.task_1 group=section_1 retries=0",
		"section_2.task_1":                 "section_1.task_2,section_1.task_3 group=section_2 retries=1",
		"section_2.inner_section_2.task_2": "section_1.task_2,section_1.task_3 group=section_2.inner_section_2 retries=1",
		"section_2.inner_section_2.task_3": "section_1.task_2,section_1.task_3 group=section_2.inner_section_2 retries=1",
		"section_2.inner_section_2.task_4": "section_2.inner_section_2.task_2,section_2.inner_section_2.task_3 group=section_2.inner_section_2 retries=1",
		"end":                              "section_2.inner_section_2.task_4,section_2.task_1 group= retries=1",
		"one":                              " group= retries=1",
		"grp.add":                          "one group=grp retries=1",
		"grp__1.add":                       "grp.add group=grp__1 retries=1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tasks:\n got %v\nwant %v", got, want)
	}
	var groups []string
	for _, g := range d.TaskGroups {
		groups = append(groups, g.GroupID+"<"+g.Parent+">"+g.Tooltip)
	}
	wantGroups := []string{"grp<>a group docstring", "grp__1<>a group docstring", "section_1<>Tasks for section_1",
		"section_2<>Tasks for section_2", "section_2.inner_section_2<section_2>Tasks for inner_section2"}
	if !reflect.DeepEqual(groups, wantGroups) {
		t.Errorf("groups = %q, want %q", groups, wantGroups)
	}

	// A task id that is a group's is an import error, as in Airflow.
	path = write(t, dir, "dup.py", "from airflow.sdk import DAG, TaskGroup\nfrom airflow.providers.standard.operators.empty import EmptyOperator\n"+
		"with DAG('dup'):\n    with TaskGroup('g'):\n        EmptyOperator(task_id='a')\n    EmptyOperator(task_id='g')\n")
	if _, err := p.Parse(context.Background(), path); err == nil || !strings.Contains(err.Error(), "DuplicateTaskIdFound") {
		t.Errorf("a task with a group's id: %v, want DuplicateTaskIdFound", err)
	}
}

// TestMappedTaskGroups reads @task_group(...).expand / .partial /
// .expand_kwargs: every task of the group mapped over the group's source,
// that source upstream of the group's roots only, MappedArguments in the
// tasks' arguments, and the group marked mapped.
func TestMappedTaskGroups(t *testing.T) {
	p, dir := newParser(t)
	src, err := os.ReadFile("testdata/mapped_group.py")
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Parse(context.Background(), write(t, dir, "mapped_group.py", string(src)))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.DAGs) != 2 {
		t.Fatalf("parse: %d DAGs", len(res.DAGs))
	}
	d := res.DAGs[0]
	if g := d.Group("transform"); g == nil || !g.IsMapped {
		t.Fatalf("group transform: %+v, want a mapped group", g)
	}
	got := map[string]string{}
	for _, task := range d.Tasks {
		into := ""
		if task.Expand != nil {
			into = task.Expand.Into
		}
		got[task.TaskID] = strings.Join(task.Upstream, ",") + " mapped_group=" + task.MappedGroup + " into=" + into
	}
	want := map[string]string{
		"files":              " mapped_group= into=",
		"transform.announce": "files mapped_group=transform into=group",
		"transform.convert":  "transform.announce mapped_group=transform into=group",
		"transform.size":     "transform.convert mapped_group=transform into=group",
		"total":              "transform.size mapped_group= into=",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tasks:\n got %v\nwant %v", got, want)
	}
	conv := d.Task("transform.convert")
	if kw := conv.Python.OpArgs; len(kw) != 2 || !reflect.DeepEqual(kw[0], map[string]any{"__gust_mapped_arg__": "filename"}) || kw[1] != ".yaml" {
		t.Errorf("convert's arguments: %v, want filename mapped and suffix partial", kw)
	}
	if a := conv.Expand.Args; len(a) != 1 || a[0].Name != "filename" {
		t.Errorf("convert's expansion: %+v, want the group's filename", a)
	}
	k := res.DAGs[1].Task("product.multiply")
	if k == nil || k.Expand == nil || k.Expand.Kwargs == nil || k.MappedGroup != "product" {
		t.Errorf("an expand_kwargs group's task: %+v", k)
	}
}

// TestMappedTaskGroupErrors: what gust cannot map inside a mapped task
// group is an import error naming it.
func TestMappedTaskGroupErrors(t *testing.T) {
	p, dir := newParser(t)
	for name, body := range map[string]string{
		"nested_group": "@task_group\ndef inner(y):\n    show(y)\n\n@task_group\ndef outer(x):\n    inner.expand(y=[1])\n\nwith DAG('d', schedule=None):\n    outer.expand(x=[1, 2])\n",
		"mapped_task":  "@task_group\ndef outer(x):\n    show.expand(v=[1, 2])\n\nwith DAG('d', schedule=None):\n    outer.expand(x=[1, 2])\n",
	} {
		src := "from airflow.sdk import DAG, task, task_group\n\n@task\ndef show(v):\n    print(v)\n\n" + body
		_, err := p.Parse(context.Background(), write(t, dir, name+".py", src))
		if err == nil || !strings.Contains(err.Error(), "is not supported by gust yet") {
			t.Errorf("%s: %v, want an import error naming what gust lacks", name, err)
		}
	}
}
