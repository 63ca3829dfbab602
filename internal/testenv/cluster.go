package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Cluster is one isolated gust installation: its own database, vhost,
// Redis prefix, GUST_HOME, DAG folder and log folder.
type Cluster struct {
	t testing.TB
	// Home is GUST_HOME; Dags and Logs the DAG and log folders.
	Home, Dags, Logs string
	// Env is the environment every gust process of the cluster gets.
	Env []string
	// DB is the cluster's database (a connection string).
	DB string
	// FlowerPort is the monitor's port; APIPort the api-server's.
	FlowerPort, APIPort int
	bin                 string
	mu                  sync.Mutex
	procs               []*Proc
}

type Proc struct {
	name string
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan struct{}
}

// NewCluster sets up an isolated installation and migrates its database.
func NewCluster(t testing.TB, bin string, extraEnv ...string) *Cluster {
	t.Helper()
	home := t.TempDir()
	c := &Cluster{t: t, bin: bin, Home: home, Dags: filepath.Join(home, "dags"), Logs: filepath.Join(home, "logs")}
	if err := os.MkdirAll(c.Dags, 0o755); err != nil {
		t.Fatal(err)
	}
	redisURL, prefix := Redis(t)
	c.FlowerPort = FreePort(t)
	c.APIPort = FreePort(t)
	c.DB = Database(t)
	c.Env = append(os.Environ(),
		"GUST_HOME="+home,
		"GUST__DATABASE__SQL_CONN="+c.DB,
		"GUST__CELERY__BROKER_URL="+Vhost(t),
		"GUST__MONITOR__REDIS_URL="+redisURL,
		"GUST__MONITOR__KEY_PREFIX="+prefix,
		"GUST__CORE__DAGS_FOLDER="+c.Dags,
		"GUST__LOGGING__BASE_LOG_FOLDER="+c.Logs,
		"GUST__SCHEDULER__MIN_FILE_PROCESS_INTERVAL=1",
		"GUST__SCHEDULER__DAG_DIR_LIST_INTERVAL=1",
		"GUST__SCHEDULER__SCHEDULER_HEARTBEAT_SEC=1",
		fmt.Sprintf("GUST__FLOWER__FLOWER_PORT=%d", c.FlowerPort),
		fmt.Sprintf("GUST__API__PORT=%d", c.APIPort),
		"GUST__METRICS__PORT=0", // a test that reads /metrics gives its process a port

	)
	c.Env = append(c.Env, extraEnv...)
	t.Cleanup(c.StopAll)
	c.MustRun("db", "migrate")
	return c
}

// Run runs a gust CLI command and returns stdout, stderr and the error.
func (c *Cluster) Run(args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = c.Env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func (c *Cluster) MustRun(args ...string) string {
	c.t.Helper()
	out, errOut, err := c.Run(args...)
	if err != nil {
		c.t.Fatalf("gust %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// MustJSON runs a listing with -o json and decodes it.
func (c *Cluster) MustJSON(v any, args ...string) {
	c.t.Helper()
	out := c.MustRun(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("gust %s: bad JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Start starts a long-running gust process.
func (c *Cluster) Start(name string, args ...string) *Proc {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.Env
	out := &bytes.Buffer{}
	cmd.Stdout = &lockedWriter{w: out}
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", name, err)
	}
	p := &Proc{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return p
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

func (p *Proc) Output() string { return p.cmd.Stdout.(*lockedWriter).String() }

// Stop sends SIGTERM and waits (then SIGKILL) for the process.
func (p *Proc) Stop(t testing.TB, grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		t.Logf("%s did not stop within %s; killing it", p.name, grace)
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

func (c *Cluster) StopAll() {
	c.mu.Lock()
	procs := c.procs
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(func() { p.Stop(c.t, 20*time.Second) })
	}
	wg.Wait()
	if c.t.Failed() {
		for _, p := range procs {
			out := p.Output()
			if len(out) > 6000 {
				out = "...\n" + out[len(out)-6000:]
			}
			c.t.Logf("--- output of %s ---\n%s", p.name, out)
		}
	}
}

// WriteDAG writes a DAG file into the cluster's folder.
func (c *Cluster) WriteDAG(name, content string) {
	c.t.Helper()
	if err := os.WriteFile(filepath.Join(c.Dags, name), []byte(content), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// Eventually polls cond until it returns true or the timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last state: %s", timeout, what, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type DagRun struct {
	DagID             string         `json:"dag_id"`
	RunID             string         `json:"run_id"`
	State             string         `json:"state"`
	RunType           string         `json:"run_type"`
	LogicalDate       string         `json:"logical_date"`
	DataIntervalStart *string        `json:"data_interval_start"`
	DataIntervalEnd   *string        `json:"data_interval_end"`
	StartDate         *string        `json:"start_date"`
	EndDate           *string        `json:"end_date"`
	Conf              map[string]any `json:"conf"`
}

type TaskInstance struct {
	DagID     string     `json:"dag_id"`
	RunID     string     `json:"run_id"`
	TaskID    string     `json:"task_id"`
	MapIndex  int        `json:"map_index"`
	State     *string    `json:"state"`
	TryNumber int        `json:"try_number"`
	Hostname  string     `json:"hostname"`
	StartDate *time.Time `json:"start_date"`
	EndDate   *time.Time `json:"end_date"`
}

func (c *Cluster) Runs(dagID string) []DagRun {
	var rs []DagRun
	c.MustJSON(&rs, "dags", "list-runs", "-d", dagID)
	return rs
}

// TIs returns a run's task instances by task id; a mapped task's as
// "task_id[map_index]".
func (c *Cluster) TIs(dagID, runID string) map[string]TaskInstance {
	var ts []TaskInstance
	c.MustJSON(&ts, "tasks", "states-for-dag-run", dagID, runID)
	out := map[string]TaskInstance{}
	for _, ti := range ts {
		out[mapKey(ti.TaskID, ti.MapIndex)] = ti
	}
	return out
}

func mapKey(taskID string, mapIndex int) string {
	if mapIndex >= 0 {
		return fmt.Sprintf("%s[%d]", taskID, mapIndex)
	}
	return taskID
}

// XComs returns a run's XComs as "task_id/key" (a mapped task's
// "task_id[map_index]/key") -> the value's JSON text.
func (c *Cluster) XComs(dagID, runID string) map[string]string {
	var xs []struct {
		TaskID   string          `json:"task_id"`
		MapIndex int             `json:"map_index"`
		Key      string          `json:"key"`
		Value    json.RawMessage `json:"value"`
	}
	c.MustJSON(&xs, "tasks", "xcom", "list", dagID, runID)
	out := map[string]string{}
	for _, x := range xs {
		var v any
		_ = json.Unmarshal(x.Value, &v)
		b, _ := json.Marshal(v) // compact, as the tests write it
		out[mapKey(x.TaskID, x.MapIndex)+"/"+x.Key] = string(b)
	}
	return out
}

// WaitRunsFinished waits until every run of the DAGs is success or failed.
func (c *Cluster) WaitRunsFinished(timeout time.Duration, want int, dagIDs ...string) map[string][]DagRun {
	c.t.Helper()
	var all map[string][]DagRun
	Eventually(c.t, timeout, "runs to finish", func() (bool, string) {
		all = map[string][]DagRun{}
		n, done := 0, 0
		var states []string
		for _, d := range dagIDs {
			rs := c.Runs(d)
			all[d] = rs
			for _, r := range rs {
				n++
				if r.State == "success" || r.State == "failed" {
					done++
				}
				states = append(states, d+"/"+r.RunID+"="+r.State)
			}
		}
		return n >= want && done == n, strings.Join(states, " ")
	})
	return all
}

func State(ti TaskInstance) string {
	if ti.State == nil {
		return "none"
	}
	return *ti.State
}

// Kill sends SIGKILL to the process alone (not its task children, which
// die with it through their parent-death signal), as `kill -9` would.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitCode returns the exit status of an ended process (-1 while it runs
// or when a signal ended it).
func (p *Proc) ExitCode() int {
	if !p.Exited() {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Signal sends a signal to the process.
func (p *Proc) Signal(sig syscall.Signal) { _ = p.cmd.Process.Signal(sig) }

// Wait waits up to timeout for the process to end and reports whether it did.
func (p *Proc) Wait(timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// WaitParsed waits until the DAG processor has stored every given DAG.
func (c *Cluster) WaitParsed(timeout time.Duration, dagIDs ...string) {
	c.t.Helper()
	Eventually(c.t, timeout, "DAGs to be parsed", func() (bool, string) {
		out, _, err := c.Run("dags", "list", "-o", "json")
		if err != nil {
			return false, err.Error()
		}
		for _, id := range dagIDs {
			if !strings.Contains(out, `"dag_id":"`+id+`"`) && !strings.Contains(out, `"dag_id": "`+id+`"`) {
				return false, out
			}
		}
		return true, ""
	})
}
