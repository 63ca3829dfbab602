package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gust-sched/gust/common/dagspec"
)

// TestExampleDAGsRun keeps the shipped example DAGs valid: each parses, and
// `dags test` runs each to success in process.
func TestExampleDAGsRun(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "dags", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example DAGs found: %v", err)
	}
	for _, f := range files {
		dags, err := dagspec.ParseFile(f, dagspec.Options{})
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, d := range dags {
			var out, errb bytes.Buffer
			args := []string{"gust", "dags", "test", d.DagID, "2024-03-01", "--subdir", f}
			if d.DagID == "example_context" {
				args = append(args, "--conf", `{"target": "eu"}`)
			}
			if code := run(context.Background(), args, &out, &errb, []string{"GUST_HOME=" + t.TempDir()}); code != 0 {
				t.Errorf("dags test %s: exit %d: %s\n%s", d.DagID, code, errb.String(), out.String())
				continue
			}
			if d.DagID == "example_context" {
				s := out.String()
				for _, want := range []string{"extracting 100 rows for 2024-03-01", "loading 42 rows to eu", "--- load_us: skipped", "done; extract said 2024-03-01"} {
					if !strings.Contains(s, want) {
						t.Errorf("example_context output lacks %q:\n%s", want, s)
					}
				}
			}
		}
	}
}
