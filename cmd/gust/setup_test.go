package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// installation is an isolated gust for CLI tests: its own GUST_HOME and DAG
// folder and, when asked for, its own migrated database.
type installation struct {
	t          *testing.T
	home, dags string
	sqlConn    string
	environ    []string
}

func setup(t *testing.T, withDB bool) *installation {
	t.Helper()
	home := t.TempDir()
	in := &installation{t: t, home: home, dags: filepath.Join(home, "dags")}
	if err := os.MkdirAll(in.dags, 0o755); err != nil {
		t.Fatal(err)
	}
	// Without a database of its own, a command that reaches for one fails
	// at once rather than finding the default one.
	in.sqlConn = "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"
	if withDB {
		in.sqlConn = testenv.Database(t)
	}
	in.environ = []string{"GUST_HOME=" + home, "GUST__CORE__DAGS_FOLDER=" + in.dags, "GUST__DATABASE__SQL_CONN=" + in.sqlConn}
	if withDB {
		in.mustRun("db", "migrate")
	}
	return in
}

// run runs `gust args...` as the binary does (flags after arguments, a
// failure as one line on stderr) and returns its output and exit status.
func (in *installation) run(args ...string) (stdout, stderr string, code int) {
	in.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	// argv[0] is a path, as when a user runs the binary.
	code = run(ctx, append([]string{"/usr/local/bin/gust"}, args...), &out, &errb, in.environ)
	return out.String(), errb.String(), code
}

func (in *installation) mustRun(args ...string) string {
	in.t.Helper()
	out, errOut, code := in.run(args...)
	if code != 0 {
		in.t.Fatalf("gust %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// fails runs a command that must fail and returns its stderr, which must be
// one line.
func (in *installation) fails(args ...string) string {
	in.t.Helper()
	out, errOut, code := in.run(args...)
	if code == 0 {
		in.t.Fatalf("gust %s: exit 0, want a failure\nstdout: %s", strings.Join(args, " "), out)
	}
	if strings.Count(errOut, "\n") != 1 || !strings.HasSuffix(errOut, "\n") {
		in.t.Errorf("gust %s: stderr is not one line: %q", strings.Join(args, " "), errOut)
	}
	if out != "" {
		in.t.Errorf("gust %s: failed with output on stdout: %q", strings.Join(args, " "), out)
	}
	return strings.TrimSuffix(errOut, "\n")
}

func (in *installation) writeDAG(name, src string) string {
	in.t.Helper()
	p := filepath.Join(in.dags, name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		in.t.Fatal(err)
	}
	return p
}
