package dagprocessor_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gust-sched/gust/dagprocessor"
)

// TestAirflowIgnore: .airflowignore keeps files and whole folders out of the
// listing, in glob syntax (gitignore's, with negation) and in Airflow 2's
// regexp syntax; a subfolder's file adds to its parent's, relative to
// itself.
func TestAirflowIgnore(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.py", "b.yaml", "skip_me.py", "tenant_1.py", "project_a/dag.py", "keep/x.py", "keep/scratch.py",
		"keep/important_scratch.py", "deep/sub/y.yml", "__pycache__/c.py", ".hidden/d.py", "notes.txt"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rel := func(paths []string) string {
		var out []string
		for _, p := range paths {
			r, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(r))
		}
		return strings.Join(out, " ")
	}
	write := func(path, text string) {
		if err := os.WriteFile(filepath.Join(dir, path), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".airflowignore", "# comment\nskip_me.py\nproject_a/\ntenant_*\n")
	write("keep/.airflowignore", "*scratch.py\n!important_scratch.py\n")
	got, err := dagprocessor.ListDagFiles(dir, "glob")
	if err != nil {
		t.Fatal(err)
	}
	if want := "a.py b.yaml deep/sub/y.yml keep/important_scratch.py keep/x.py"; rel(got) != want {
		t.Errorf("glob: %s\nwant %s", rel(got), want)
	}
	write(".airflowignore", "skip\nproject_a\ntenant_[\\d]\n")
	write("keep/.airflowignore", "^scratch")
	got, err = dagprocessor.ListDagFiles(dir, "regexp")
	if err != nil {
		t.Fatal(err)
	}
	if want := "a.py b.yaml deep/sub/y.yml keep/important_scratch.py keep/x.py"; rel(got) != want {
		t.Errorf("regexp: %s\nwant %s", rel(got), want)
	}
	// As Airflow, an invalid pattern is skipped and the others apply.
	write(".airflowignore", "([unclosed\nskip\nproject_a\ntenant_[\\d]\n")
	got, err = dagprocessor.ListDagFiles(dir, "regexp")
	if err != nil {
		t.Fatal(err)
	}
	if want := "a.py b.yaml deep/sub/y.yml keep/important_scratch.py keep/x.py"; rel(got) != want {
		t.Errorf("with an invalid regexp line: %s\nwant %s", rel(got), want)
	}
}
