package pydag

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/common/dagspec"
)

func newParser(t *testing.T) (*Parser, string) {
	t.Helper()
	dir := t.TempDir()
	return &Parser{Python: "python3", DagsFolder: dir, CacheDir: filepath.Join(t.TempDir(), "cache")}, dir
}

func write(t *testing.T, dir, name, src string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMightContainDAG(t *testing.T) {
	for src, want := range map[string]bool{"from airflow import DAG": true, "import Airflow\nmy_dag = 1": true,
		"print('airflow')": false, "dag = 1": false} {
		if got := MightContainDAG([]byte(src)); got != want {
			t.Errorf("MightContainDAG(%q) = %v", src, got)
		}
	}
}

// TestAirflow2Tutorial: Airflow 2's tutorial, its imports unchanged.
func TestAirflow2Tutorial(t *testing.T) {
	p, dir := newParser(t)
	path := write(t, dir, "tutorial.py", `
from datetime import datetime, timedelta
from textwrap import dedent

import pendulum
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.dummy import DummyOperator
from airflow.utils.edgemodifier import Label
from airflow.utils.trigger_rule import TriggerRule

with DAG(
    "tutorial",
    default_args={"depends_on_past": False, "email": ["airflow@example.com"], "email_on_failure": False,
                  "retries": 1, "retry_delay": timedelta(minutes=5)},
    description="A simple tutorial DAG",
    schedule_interval=timedelta(days=1),
    start_date=pendulum.datetime(2021, 1, 1, tz="Europe/Paris"),
    catchup=False,
    tags=["example"],
) as dag:
    t1 = BashOperator(task_id="print_date", bash_command="date")
    t2 = BashOperator(task_id="sleep", depends_on_past=False, bash_command="sleep 5", retries=3)
    t1.doc_md = "docs"
    templated_command = dedent("""
    {% for i in range(5) %}
        echo "{{ ds }}"
    {% endfor %}
    """)
    t3 = BashOperator(task_id="templated", depends_on_past=False, bash_command=templated_command)
    end = DummyOperator(task_id="end", trigger_rule=TriggerRule.ALL_DONE)
    t1 >> [t2, t3]
    [t2, t3] >> Label("then") >> end
    print("printed while parsing")
`)
	res, err := p.Parse(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.DAGs) != 1 || len(res.Files) != 1 || res.Files[0] != path {
		t.Fatalf("result = %+v", res)
	}
	d := res.DAGs[0]
	if d.DagID != "tutorial" || d.Line != 12 || d.Timezone != "Europe/Paris" || d.Schedule == "" || d.Catchup == nil || *d.Catchup ||
		d.StartDate == nil || !d.StartDate.Equal(time.Date(2020, 12, 31, 23, 0, 0, 0, time.UTC)) || d.Description != "A simple tutorial DAG" {
		t.Errorf("DAG = %+v (start %v)", d, d.StartDate)
	}
	if len(d.Tasks) != 4 {
		t.Fatalf("tasks = %d", len(d.Tasks))
	}
	if s := d.Task("sleep"); s.Retries != 3 || s.RetryDelaySec != 300 || strings.Join(s.Upstream, ",") != "print_date" {
		t.Errorf("sleep = %+v", s)
	}
	if e := d.Task("end"); e.Operator != dagspec.OperatorEmpty || e.TriggerRule != "all_done" || strings.Join(e.Upstream, ",") != "sleep,templated" {
		t.Errorf("end = %+v", e)
	}
	if !strings.Contains(d.Task("templated").BashCommand, `echo "{{ ds }}"`) {
		t.Errorf("templated = %q", d.Task("templated").BashCommand)
	}
}

// TestAirflow3File: airflow.sdk's imports, @dag called with and without
// keeping the result, dag=, chain and cross_downstream, a module of the DAG
// folder, several DAGs per file.
func TestAirflow3File(t *testing.T) {
	p, dir := newParser(t)
	write(t, dir, "common/settings.py", "OWNER = 'data-team'\nCMD = 'echo shared'\n")
	write(t, dir, "common/__init__.py", "")
	path := write(t, dir, "many.py", `
import datetime
from airflow.sdk import DAG, dag, chain, cross_downstream, Param
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from common.settings import OWNER, CMD

@dag(schedule="@daily", start_date=datetime.datetime(2024, 1, 1), catchup=False, tags=["a"],
     params={"n": Param(5, type="integer", minimum=1, description="how many")})
def decorated(x: int = 3):
    """Doc of the DAG."""
    a = BashOperator(task_id="a", bash_command=CMD, owner=OWNER)
    b = EmptyOperator(task_id="b")
    c = EmptyOperator(task_id="c")
    d = EmptyOperator(task_id="d")
    chain(a, [b, c], [d, EmptyOperator(task_id="e")])

decorated()

plain = DAG("plain", schedule=None, start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
x1 = EmptyOperator(task_id="x1", dag=plain)
x2 = EmptyOperator(task_id="x2", dag=plain)
y1 = EmptyOperator(task_id="y1", dag=plain)
y2 = EmptyOperator(task_id="y2", dag=plain)
cross_downstream([x1, x2], [y1, y2])
y2.trigger_rule = "all_done"  # set after the task was built, as example_sensors does
y2.retries = 4
`)
	res, err := p.Parse(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.DAGs) != 2 || len(res.Files) != 3 {
		t.Fatalf("DAGs %d, files %v", len(res.DAGs), res.Files)
	}
	dec := res.DAGs[0]
	if dec.DagID != "decorated" || dec.Schedule != "@daily" || dec.Params["x"] != 3 || dagspec.ParamSchema(dec.Params["n"]) == nil {
		t.Errorf("decorated = %+v", dec)
	}
	if a := dec.Task("a"); a.Owner != "data-team" || a.BashCommand != "echo shared" {
		t.Errorf("a = %+v", a)
	}
	if d, e := dec.Task("d"), dec.Task("e"); strings.Join(d.Upstream, ",") != "b" || strings.Join(e.Upstream, ",") != "c" {
		t.Errorf("chain of two lists: d <- %v, e <- %v", d.Upstream, e.Upstream)
	}
	if y := res.DAGs[1].Task("y2"); y == nil || strings.Join(y.Upstream, ",") != "x1,x2" || y.TriggerRule != "all_done" || y.Retries != 4 {
		t.Errorf("cross_downstream and attributes set after: %+v", y)
	}
}

// TestImportErrors: what is not a DAG file stays silent; a file that
// raises, imports something missing, uses what gust lacks, hangs, eats
// memory or exits is an import error that says so.
func TestImportErrors(t *testing.T) {
	p, dir := newParser(t)
	p.Timeout = 3 * time.Second
	p.MemoryLimit = 512 << 20
	head := "from airflow import DAG\nfrom airflow.operators.bash import BashOperator\n"
	cases := map[string]struct{ src, want string }{
		"raises.py":    {head + "x = 1\nraise ValueError('no luck')\n", "ValueError: no luck"},
		"missing.py":   {head + "import no_such_module_here\n", "No module named 'no_such_module_here'"},
		"notimpl.py":   {head + "from airflow.providers.amazon.aws.operators.s3 import S3CreateBucketOperator\n", "No module named 'airflow.providers.amazon'"},
		"deferred.py":  {head + "from airflow.providers.standard.operators.bash import BashOperator\nwith DAG('p'):\n    BashOperator(task_id='t', bash_command='true', deferrable=True)\n", "deferrable operators (BashOperator with deferrable=True) is not supported by gust yet"},
		"weight.py":    {head + "from airflow.providers.standard.operators.empty import EmptyOperator\nclass W: pass\nwith DAG('p'):\n    EmptyOperator(task_id='t', weight_rule=W())\n", "custom priority weight strategies (weight_rule=W) is not supported by gust yet"},
		"venv.py":      {head + "from airflow.operators.python import PythonVirtualenvOperator\nwith DAG('p'):\n    PythonVirtualenvOperator(task_id='t', python_callable=print)\n", "PythonVirtualenvOperator (virtualenv operators) is not supported by gust yet"},
		"notcall.py":   {head + "from airflow.operators.python import PythonOperator\nwith DAG('p'):\n    PythonOperator(task_id='t', python_callable='print')\n", "`python_callable` param must be callable"},
		"group.py":     {head + "from airflow.decorators import task_group\n@task_group\ndef tg(x):\n    BashOperator.partial(task_id='t').expand(bash_command=['a'])\nwith DAG('g'):\n    tg.expand(x=[1])\n", "dynamic task mapping (a mapped task inside a mapped task group) is not supported by gust yet"},
		"mapboth.py":   {head + "with DAG('m'):\n    BashOperator.partial(task_id='t', bash_command='x').expand(bash_command=['a'])\n", "argument 'bash_command' is both partial and mapped"},
		"mapfn.py":     {head + "from airflow.decorators import task\n@task\ndef f(x):\n    return x\nwith DAG('m'):\n    f.expand(x=f.override(task_id='g')(1).map(str).zip(f.override(task_id='h')(2)))\n", "XComArg.zip of an XComArg.map is not supported"},
		"mapwhat.py":   {head + "with DAG('m'):\n    BashOperator.partial(task_id='t').expand(bash_command='echo')\n", "cannot map over \"echo\""},
		"mapnoid.py":   {head + "with DAG('m'):\n    BashOperator.partial(bash_command='x').expand(env=[{}])\n", "BashOperator.partial() needs a task_id"},
		"unknown.py":   {head + "with DAG('u'):\n    BashOperator(task_id='t', bash_command='x', colour='red')\n", `unknown`},
		"badarg.py":    {head + "with DAG('b', scheduel='@daily'):\n    pass\n", "unexpected keyword argument 'scheduel'"},
		"hangs.py":     {head + "import time\ntime.sleep(60)\n", "took longer than 3s ([core] dagbag_import_timeout)"},
		"memory.py":    {head + "x = bytearray(2 << 30)\n", "MemoryError"},
		"exits.py":     {head + "import sys\nsys.exit(3)\n", "SystemExit: 3"},
		"callback.py":  {head + "with DAG('c'):\n    BashOperator(task_id='t', bash_command='x', on_execute_callback=print)\n", "Python callbacks other than"},
		"duplicate.py": {head + "a = DAG('same')\nb = DAG('same')\n", "defined twice"},
	}
	for name, c := range cases {
		path := write(t, dir, name, c.src)
		start := time.Now()
		_, err := p.Parse(context.Background(), path)
		var pe *dagspec.ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) || pe.File != path {
			t.Errorf("%s: %v, want a ParseError containing %q", name, err, c.want)
		}
		if time.Since(start) > 10*time.Second {
			t.Errorf("%s took %s", name, time.Since(start))
		}
	}
	// The traceback points at the file's line.
	_, err := p.Parse(context.Background(), filepath.Join(dir, "raises.py"))
	var pe *dagspec.ParseError
	if errors.As(err, &pe) && (pe.Line != 4 || !strings.Contains(pe.Msg, "Traceback")) {
		t.Errorf("raises.py: line %d, %q", pe.Line, pe.Msg)
	}
	// Python that is missing is named.
	p2 := &Parser{Python: "no-such-python", DagsFolder: dir, CacheDir: p.CacheDir}
	if _, err := p2.Parse(context.Background(), filepath.Join(dir, "raises.py")); err == nil || !strings.Contains(err.Error(), "[core] python_executable") {
		t.Errorf("missing interpreter: %v", err)
	}
}

// TestParseTimeVariables: a top-level Variable.get is answered from
// AIRFLOW_VAR_* in the environment, as Airflow's first secrets backend
// does, or its default; a missing one without a default is an import
// error that says where gust looks.
func TestParseTimeVariables(t *testing.T) {
	t.Setenv("AIRFLOW_VAR_GUST_PARSE_TAG", "from-env")
	p, dir := newParser(t)
	head := "from airflow import DAG\nfrom airflow.models import Variable\nfrom airflow.operators.empty import EmptyOperator\n"
	path := write(t, dir, "vars.py", head+
		"with DAG('v', tags=[Variable.get('gust_parse_tag'), Variable.get('gust_not_set', default_var='dflt')]):\n    EmptyOperator(task_id='e')\n")
	res, err := p.Parse(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.DAGs) != 1 || strings.Join(res.DAGs[0].Tags, ",") != "from-env,dflt" {
		t.Fatalf("DAGs = %+v, want tags from-env,dflt", res.DAGs)
	}
	path = write(t, dir, "novar.py", head+"Variable.get('gust_not_set')\nwith DAG('n'):\n    EmptyOperator(task_id='e')\n")
	if _, err := p.Parse(context.Background(), path); err == nil || !strings.Contains(err.Error(), "AIRFLOW_VAR_") {
		t.Errorf("a missing variable: %v, want an import error naming AIRFLOW_VAR_", err)
	}
}

// TestNamedUnsupported: what Airflow's example DAGs use and gust has not
// yet is an import error naming it, not an AttributeError or a missing
// module (example_setup_teardown_taskflow, example_assets,
// example_external_task_marker_dag); pendulum.time works
// (example_branch_datetime_operator).
func TestNamedUnsupported(t *testing.T) {
	p, dir := newParser(t)
	head := "from airflow.sdk import DAG, task\nfrom airflow.providers.standard.operators.empty import EmptyOperator\n"
	for name, c := range map[string]struct{ src, want string }{
		"timetable.py": {head + "from airflow.timetables.base import Timetable\n", "custom timetables (airflow.timetables.base.Timetable) is not supported by gust yet"},
		"hitl.py":      {head + "from airflow.providers.standard.operators.hitl import ApprovalOperator\n", "human-in-the-loop operators"},
		"plugins.py":   {head + "from airflow.plugins_manager import AirflowPlugin\n", "plugins (airflow.plugins_manager) is not supported"},
		"runner.py":    {head + "from airflow.sdk.execution_time.comms import GetXCom\n", "task runner (airflow.sdk.execution_time) is not supported"},
		"badconf.py":   {head + "from airflow.configuration import conf\nconf.get('nope', 'nothing')\n", "section/key [nope/nothing] not found in config"},
		"loop.py":      {head + "with DAG('l'):\n    @task\n    def r():\n        pass\n    r.loop(max_iterations=2)\n", "task loops (.loop) is not supported by gust yet"},
	} {
		path := write(t, dir, name, c.src)
		if _, err := p.Parse(context.Background(), path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an import error with %q", name, err, c.want)
		}
	}
	// The compat provider re-exports the SDK.
	path := write(t, dir, "compat.py", "from airflow.providers.common.compat.sdk import TriggerRule, AirflowOptionalProviderFeatureException, BaseOperator\n"+
		head+"with DAG('compat'):\n    EmptyOperator(task_id='e', trigger_rule=TriggerRule.ALL_DONE)\n")
	if res, err := p.Parse(context.Background(), path); err != nil || len(res.DAGs) != 1 || res.DAGs[0].Tasks[0].TriggerRule != "all_done" {
		t.Errorf("airflow.providers.common.compat.sdk: %v %+v", err, res)
	}
	// Airflow's lazy top-level names and its configuration work.
	path = write(t, dir, "toplevel.py", head+"from airflow import XComArg, Dataset\nfrom airflow.configuration import conf\n"+
		"with DAG('top', tags=[conf.get('core', 'default_timezone'), str(conf.getint('core', 'max_map_length'))]):\n    EmptyOperator(task_id='e')\n")
	if res, err := p.Parse(context.Background(), path); err != nil || len(res.DAGs) != 1 || strings.Join(res.DAGs[0].Tags, ",") != "utc,1024" {
		t.Errorf("from airflow import XComArg, Dataset; conf.get: %v %+v", err, res)
	}
	path = write(t, dir, "ptime.py", head+"import pendulum\nfrom airflow.providers.standard.operators.datetime import BranchDateTimeOperator\n"+
		"with DAG('pt'):\n    BranchDateTimeOperator(task_id='b', follow_task_ids_if_true='x', follow_task_ids_if_false='y',\n"+
		"        target_lower=pendulum.time(0, 0, 0), target_upper=pendulum.time(0, 1, 0)) >> [EmptyOperator(task_id='x'), EmptyOperator(task_id='y')]\n")
	if res, err := p.Parse(context.Background(), path); err != nil || len(res.DAGs) != 1 {
		t.Errorf("pendulum.time: %v", err)
	}
}
