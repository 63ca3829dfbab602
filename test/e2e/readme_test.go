package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// repoRoot is the checkout this test runs in.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// readmeShellCommands returns the `bin/gust ...` lines of the README's first
// sh block after marker, as a user would copy them.
func readmeShellCommands(t *testing.T, marker string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []string
	seen, in := false, false
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := sc.Text()
		switch {
		case !seen:
			seen = strings.Contains(line, marker)
		case !in && strings.HasPrefix(line, "```sh"):
			in = true
		case in && strings.HasPrefix(line, "```"):
			return cmds
		case in && strings.HasPrefix(line, "bin/gust "):
			cmds = append(cmds, line)
		}
	}
	t.Fatalf("README.md has no sh block after %q", marker)
	return nil
}

// readmeBlock returns the first sh block after marker, whole.
func readmeBlock(t *testing.T, marker string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, marker)
	if i < 0 {
		t.Fatalf("README.md has no %q", marker)
	}
	text = text[i:]
	start := strings.Index(text, "```sh\n")
	if start < 0 {
		t.Fatalf("README.md has no sh block after %q", marker)
	}
	text = text[start+len("```sh\n"):]
	return text[:strings.Index(text, "```")]
}

// TestReadmeQuickStart follows the README's first steps on a fresh home:
// `make run` (db migrate, then standalone, with the DAG folder given only in
// the environment), then, "in another shell, with the same GUST_HOME", every
// command the README shows, exactly as written. The home's gust.cfg, written
// on first start, must carry the DAG folder, the services and a generated
// fernet key to that second shell; secrets land encrypted in the database.
func TestReadmeQuickStart(t *testing.T) {
	t.Parallel()
	dags := filepath.Join(repoRoot(t), "dags")
	// As `make run`: the DAG folder only in the first process's environment.
	c := newCluster(t, "GUST__CORE__DAGS_FOLDER="+dags)
	c.Start("standalone", "standalone")

	// The second shell: nothing but GUST_HOME, and bin/gust in the cwd.
	shell := t.TempDir()
	if err := os.MkdirAll(filepath.Join(shell, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(gustBin, filepath.Join(shell, "bin", "gust")); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "GUST_HOME=" + c.Home}
	run := func(line string) (string, error) {
		cmd := exec.Command("bash", "-c", line)
		cmd.Dir, cmd.Env = shell, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	c.WaitParsed(30*time.Second, "example_bash", "example_context", "example_taskflow")

	// Standalone made a first admin with a generated password, kept in the
	// home (0600), that logs into its api-server.
	pwFile := filepath.Join(c.Home, "standalone_admin_password.txt")
	st, err := os.Stat(pwFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("standalone admin password file: %v %v", err, st)
	}
	pw, _ := os.ReadFile(pwFile)
	api := apiClient{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", c.APIPort)}
	testenv.Eventually(t, 30*time.Second, "the standalone api-server to answer", func() (bool, string) {
		resp, err := http.Get(api.base + "/api/v2/version")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	api.token = api.login("admin", strings.TrimSpace(string(pw)))
	if code, b := api.do("GET", "/api/v2/dags?dag_id_pattern=example%25", nil); code != 200 || !strings.Contains(string(b), `"dag_id":"example_context"`) {
		t.Errorf("standalone API, example DAGs: %d %s", code, b)
	}

	cmds := readmeShellCommands(t, "In another shell")
	if len(cmds) < 5 {
		t.Fatalf("README commands = %q; the test lost its workload", cmds)
	}
	runID := ""
	for _, line := range cmds {
		if strings.Contains(line, "<RUN_ID>") {
			if runID == "" {
				out, err := run("bin/gust dags list-runs -d example_bash -o json")
				var runs []testenv.DagRun
				if err != nil || json.Unmarshal([]byte(out), &runs) != nil || len(runs) == 0 {
					t.Fatalf("list-runs: %v\n%s", err, out)
				}
				runID = runs[0].RunID
			}
			line = strings.ReplaceAll(line, "<RUN_ID>", "'"+runID+"'")
		}
		out, err := run(line)
		if err != nil {
			t.Errorf("README command %q failed: %v\n%s", line, err, out)
		}
	}
	runs := c.WaitRunsFinished(90*time.Second, 1, "example_bash", "example_context", "example_taskflow")
	for dag, rs := range runs {
		for _, r := range rs {
			if r.State != "success" {
				t.Errorf("%s run %s: %s, want success", dag, r.RunID, r.State)
			}
		}
	}

	// The README's REST API example, as written, against this home's
	// api-server and password file.
	script := readmeBlock(t, "## REST API")
	script = strings.ReplaceAll(script, "http://127.0.0.1:8080", api.base)
	script = strings.ReplaceAll(script, "~/gust/", c.Home+"/")
	out, err := run("set -eo pipefail\n" + script)
	if err != nil || !strings.Contains(out, `"dag_run_id":"from-curl"`) || !strings.Contains(out, `{"state":"success"}`) ||
		!strings.Contains(out, `"task_instances":[`) {
		t.Errorf("the README's REST example: %v\n%s", err, out)
	}

	// Secrets typed in the second shell are encrypted at rest under the
	// home's generated key: a dump of the database does not hold them.
	const password, token = "pw-Zq81-never-in-clear", "tok-Zq81-never-in-clear"
	for _, line := range []string{
		"bin/gust connections add dump_check --conn-uri 'postgres://me:" + password + "@db.example:5432/x'",
		"bin/gust variables set dump_token " + token,
	} {
		if out, err := run(line); err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
	}
	if out, err := run("bin/gust variables get dump_token"); err != nil || strings.TrimSpace(out) != token {
		t.Errorf("variables get = %q, %v", out, err)
	}
	dump, err := exec.Command("pg_dump", "--data-only", envValue(c.Env, "GUST__DATABASE__SQL_CONN")).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, dump)
	}
	if !strings.Contains(string(dump), "dump_check") {
		t.Fatalf("the dump does not hold the connection at all; the check below would prove nothing")
	}
	if strings.Contains(string(dump), password) || strings.Contains(string(dump), token) {
		t.Error("a database dump holds a connection password or variable in clear")
	}

	// A process of another home (its own generated key) says which key the
	// value needs instead of failing obscurely.
	other := []string{"PATH=" + os.Getenv("PATH"), "GUST_HOME=" + t.TempDir(), "GUST__DATABASE__SQL_CONN=" + envValue(c.Env, "GUST__DATABASE__SQL_CONN")}
	cmd := exec.Command(gustBin, "variables", "get", "dump_token")
	cmd.Env = other
	keyOut, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(keyOut), "encrypted with key ") || !strings.Contains(string(keyOut), "GUST__CORE__FERNET_KEY") {
		t.Errorf("another home's key: %v\n%s; want an error naming the key and GUST__CORE__FERNET_KEY", err, keyOut)
	}
}
