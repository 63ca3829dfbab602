package dagspec

import (
	"strings"
	"testing"
)

// TestOperatorRegistry checks that every name of every operator parses to
// that operator, that no name is given twice, and that the unknown-operator
// message lists every operator gust runs, sensors and http included.
func TestOperatorRegistry(t *testing.T) {
	want := []string{"bash", "branch", "branch_python", "date_time_sensor", "empty", "external_task_marker", "external_task_sensor", "file_sensor",
		"http", "http_sensor", "python", "python_class", "python_sensor", "short_circuit", "short_circuit_python", "time_delta_sensor"}
	if got := operatorNames(); got != strings.Join(want, ", ") {
		t.Errorf("registry names = %s, want %s", got, strings.Join(want, ", "))
	}
	seen := map[string]string{}
	for _, d := range operatorDefs {
		for _, n := range append([]string{d.name}, d.aliases...) {
			if other, dup := seen[n]; dup {
				t.Errorf("name %q is given to both %s and %s", n, other, d.name)
			}
			seen[n] = d.name
			src := "d:\n  schedule: null\n  tasks:\n    a:\n      operator: " + n + "\n" + requiredArgs(d)
			file := "ops.yaml"
			if d.python {
				file = "ops.py" // what a Python DAG file's document gives
			}
			dags, err := Parse(file, []byte(src))
			if err != nil {
				t.Errorf("operator %s: %v", n, err)
				continue
			}
			if got := dags[0].Tasks[0].Operator; got != d.name {
				t.Errorf("operator %s parsed as %s, want %s", n, got, d.name)
			}
		}
		if d.name == OperatorPythonClass {
			// A class comes only from a Python DAG file.
			if _, err := Parse("ops.yaml", []byte("d:\n  schedule: null\n  tasks:\n    a: {operator: python_class, python_callable: m.f}\n")); err == nil ||
				!strings.Contains(err.Error(), "is for a Python DAG file's own operator classes") {
				t.Errorf("operator python_class in a YAML file: %v", err)
			}
		} else if d.python {
			// A YAML file names the callable as dag-factory does.
			if _, err := Parse("ops.yaml", []byte("d:\n  schedule: null\n  tasks:\n    a: {operator: "+d.name+"}\n")); err == nil ||
				!strings.Contains(err.Error(), "needs python_callable_name and python_callable_file") {
				t.Errorf("operator %s in a YAML file without a callable: %v", d.name, err)
			}
			dags, err := Parse("/dags/ops.yaml", []byte("d:\n  schedule: null\n  tasks:\n    a: {operator: "+d.name+
				", python_callable_name: go, python_callable_file: lib/calls.py}\n    b: {operator: "+d.name+", python_callable: pkg.mod.run}\n"))
			if err != nil {
				t.Errorf("operator %s in a YAML file: %v", d.name, err)
				continue
			}
			a, b := dags[0].Task("a").Python, dags[0].Task("b").Python
			if a.File != "/dags/lib/calls.py" || a.Name != "go" || b.Module != "pkg.mod" || b.Name != "run" {
				t.Errorf("operator %s in a YAML file: callables %+v and %+v", d.name, a, b)
			}
			for _, bad := range []string{"python_callable: run", "python_callable_name: go"} {
				if _, err := Parse("ops.yaml", []byte("d:\n  schedule: null\n  tasks:\n    a: {operator: "+d.name+", "+bad+"}\n")); err == nil {
					t.Errorf("operator %s with %s parsed", d.name, bad)
				}
			}
		}
		if IsSensor(d.name) != d.sensor || RunsBash(d.name) != d.bash || RunsPython(d.name) != d.python {
			t.Errorf("%s: IsSensor %v RunsBash %v, registry says %v %v", d.name, IsSensor(d.name), RunsBash(d.name), d.sensor, d.bash)
		}
	}
	if IsSensor("FileSensor") || RunsBash("BashOperator") {
		t.Error("IsSensor and RunsBash take normalised names, not aliases")
	}

	_, err := Parse("ops.yaml", []byte("d:\n  schedule: null\n  tasks:\n    a:\n      operator: spark\n"))
	if err == nil {
		t.Fatal("unknown operator accepted")
	}
	for _, n := range want {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("unknown-operator message does not list %s: %v", n, err)
		}
	}
}

func requiredArgs(d operatorDef) string {
	switch {
	case d.bash:
		return "      bash_command: 'true'\n"
	case d.name == OperatorFileSensor:
		return "      filepath: /tmp/x\n"
	case d.name == OperatorDateTimeSensor:
		return "      target_time: '2024-01-01T00:00:00'\n"
	case d.name == OperatorExternalTaskSensor:
		return "      external_dag_id: other\n"
	case d.name == OperatorExternalTaskMarker:
		return "      external_dag_id: other\n      external_task_id: t\n"
	}
	return ""
}
