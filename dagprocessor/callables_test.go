package dagprocessor

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gust-sched/gust/common/dagspec"
)

// TestCallableFiles checks what a YAML file's Python callables store with
// its DAG version: the callable and callback files, the DAG folder's
// modules named by import path (with their packages' __init__.py), not an
// installed module; a change to any of them changes the source hash; a
// file that does not define its function is an import error.
func TestCallableFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cb.py", "def dag_done(context):\n    pass\n")
	write("alerts/__init__.py", "")
	write("alerts/notes.py", "class Note:\n    pass\n")
	write("plain/mod.py", "def f(context):\n    pass\n") // a namespace package
	src := []byte(`d:
  on_success_callback_name: dag_done
  on_success_callback_file: cb.py
  tasks:
    a:
      operator: empty
      on_failure_callback: [{callback: alerts.notes.Note}, plain.mod.f, json.dumps]
`)
	path := filepath.Join(root, "d.yaml")
	hash := func() (map[string]string, map[string]string, string) {
		dags, err := dagspec.Parse(path, src)
		if err != nil {
			t.Fatal(err)
		}
		extra, mods, err := callableFiles(path, root, src, dags)
		if err != nil {
			t.Fatal(err)
		}
		return extra, mods, dags[0].SourceHash
	}
	extra, mods, h1 := hash()
	if want := map[string]string{filepath.Join(root, "cb.py"): "def dag_done(context):\n    pass\n"}; !reflect.DeepEqual(extra, want) {
		t.Errorf("callable files = %v, want %v", extra, want)
	}
	if want := map[string]string{"alerts/__init__.py": "", "alerts/notes.py": "class Note:\n    pass\n",
		"plain/mod.py": "def f(context):\n    pass\n"}; !reflect.DeepEqual(mods, want) {
		t.Errorf("modules = %v, want %v", mods, want)
	}
	if h1 == "" {
		t.Fatal("no source hash for a DAG with Python callbacks")
	}
	write("alerts/notes.py", "class Note:\n    level = 1\n")
	if _, _, h2 := hash(); h2 == h1 {
		t.Error("a change to a module named by import path kept the source hash")
	}
	write("cb.py", "def other(context):\n    pass\n")
	dags, err := dagspec.Parse(path, src)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := callableFiles(path, root, src, dags); err == nil || !strings.Contains(err.Error(), "does not define dag_done") {
		t.Errorf("cb.py without dag_done: %v, want an import error naming it", err)
	}
}
