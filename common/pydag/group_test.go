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
