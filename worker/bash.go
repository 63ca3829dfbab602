package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
)

// taskLog is one try's log: a file on a worker, stdout in `dags test`.
// On a worker, what is written also goes to the try's shipper, which
// stores it in Postgres with the heartbeats and the result.
type taskLog struct {
	mu   sync.Mutex
	f    io.WriteCloser
	ship *logShipper // nil: not shipped
}

func openTaskLog(path string) (*taskLog, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create log folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open task log: %w", err)
	}
	return &taskLog{f: f}, nil
}

func (l *taskLog) line(level, format string, args ...any) {
	s := fmt.Sprintf("[%s] {gust} %s - %s\n", time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"), level, fmt.Sprintf(format, args...))
	_, _ = l.Write([]byte(s))
}

func (l *taskLog) Infof(format string, args ...any)  { l.line("INFO", format, args...) }
func (l *taskLog) Errorf(format string, args ...any) { l.line("ERROR", format, args...) }

// Write lets the task's output go to the log, between our own lines. The
// shipper takes it even when the file cannot.
func (l *taskLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ship != nil {
		_, _ = l.ship.Write(p)
	}
	return l.f.Write(p)
}

func (l *taskLog) Close() error { return l.f.Close() }

type bashSpec struct {
	command        string
	output         io.Writer // stdout and stderr merged, as Airflow's; nil: the log
	env            []string
	cwd            string
	timeout        time.Duration
	skipOnExitCode []int
	mask           func(string) string // masks secrets in what is logged; nil: none
}

type outcome struct {
	state  string
	reason string
	xcoms  map[string]any // pushed on success
	// rendered are the templated fields as the try rendered them (masked),
	// stored with its result as Airflow's rendered_task_instance_fields.
	rendered map[string]any
	last     string   // last line of output
	skip     []string // downstream task ids to skip on success (branch, short_circuit)
	branch   []string // the task ids a python_class branch operator follows (nil: it did not branch)
	// noRetry: the failure is final (sensor timeout), retries or not.
	noRetry bool
	// retryDelay overrides the task's retry delay (a retry policy's), in seconds.
	retryDelay *float64
	// rescheduleAt: when an up_for_reschedule sensor pokes again.
	rescheduleAt *time.Time
	// events are the extras and alias events a Python try gave its
	// outlets.
	events []pyOutletEvent
	// mapIndexContext is a Python try's part of its map_index_template's
	// context; label is what that template rendered to (nil: none).
	mapIndexContext *pyMapIndexContext
	label           *string
}

// killGrace is how long a task's process group has between SIGTERM and
// SIGKILL.
const killGrace = 5 * time.Second

// runBash runs a bash command in its own process group, with its output in
// the log. It stops the whole group when ctx is done or the execution
// timeout passes.
func runBash(ctx context.Context, tl *taskLog, s bashSpec) outcome {
	dir := s.cwd
	if dir == "" {
		sc, err := takeScratch(ctx)
		if err != nil {
			return outcome{state: tistate.Failed, reason: err.Error()}
		}
		defer sc.Release()
		dir = sc.dir
	}
	shown := s.command
	if s.mask != nil {
		shown = s.mask(shown)
	}
	tl.Infof("Running command: %s", shown)
	cmd := exec.Command("bash", "-c", s.command)
	cmd.Dir = dir
	cmd.Env = s.env
	cmd.Stdin = nil
	var out io.Writer = tl
	if s.output != nil {
		out = s.output
	}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return outcome{state: tistate.Failed, reason: fmt.Sprintf("start bash: %v", err)}
	}
	tl.Infof("Output:")
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()

	var timeout <-chan time.Time
	if s.timeout > 0 {
		t := time.NewTimer(s.timeout)
		defer t.Stop()
		timeout = t.C
	}
	var stopReason string
	var err error
	select {
	case err = <-waitErr:
	case <-timeout:
		stopReason = fmt.Sprintf("execution_timeout of %s exceeded", s.timeout)
		err = stopGroup(cmd, waitErr)
	case <-ctx.Done():
		stopReason = "task stopped: " + context.Cause(ctx).Error()
		err = stopGroup(cmd, waitErr)
	}
	// Whatever the shell left behind in its group goes too.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if stopReason != "" {
		tl.Errorf("%s; killed the task's process group", stopReason)
		return outcome{state: tistate.Failed, reason: stopReason}
	}
	code := 0
	if err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return outcome{state: tistate.Failed, reason: fmt.Sprintf("wait for bash: %v", err)}
		}
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			reason := fmt.Sprintf("task process killed by signal %s", ws.Signal())
			tl.Errorf("%s", reason)
			return outcome{state: tistate.Failed, reason: reason}
		}
		code = exitErr.ExitCode()
	}
	tl.Infof("Command exited with return code %d", code)
	switch {
	case code == 0:
		return outcome{state: tistate.Success}
	case slices.Contains(s.skipOnExitCode, code):
		return outcome{state: tistate.Skipped, reason: fmt.Sprintf("bash command exited with skip code %d", code)}
	default:
		return outcome{state: tistate.Failed, reason: fmt.Sprintf("bash command failed: exit code %d", code)}
	}
}

// stopGroup sends SIGTERM to the command's process group, then SIGKILL
// after killGrace, and returns the command's exit.
func stopGroup(cmd *exec.Cmd, waitErr <-chan error) error {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	t := time.NewTimer(killGrace)
	defer t.Stop()
	select {
	case err := <-waitErr:
		return err
	case <-t.C:
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		return <-waitErr
	}
}

// taskEnv builds a bash task's environment as Airflow's BashOperator does:
// the worker's environment (or only the task's env when it sets env without
// append_env), then the task's env, then the context variables, each as
// AIRFLOW_CTX_* and GUST_CTX_*.
func taskEnv(task *dagspec.Task, rendered, extra map[string]string, dag *dagspec.DAG, run *metadb.DagRun, ti *metadb.TaskInstance) []string {
	env := map[string]string{}
	if task.Env == nil || task.AppendEnv {
		for _, kv := range os.Environ() {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
	}
	for k, v := range rendered {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = os.Getenv("PATH")
	}
	owner := task.Owner
	if owner == "" {
		owner = dag.Owner
	}
	ctxVars := map[string]string{
		"DAG_ID":         ti.DagID,
		"TASK_ID":        ti.TaskID,
		"DAG_RUN_ID":     ti.RunID,
		"TRY_NUMBER":     fmt.Sprint(ti.TryNumber),
		"EXECUTION_DATE": pyISO(run.LogicalDate),
		"LOGICAL_DATE":   pyISO(run.LogicalDate),
		"DAG_OWNER":      owner,
	}
	if ti.MapIndex >= 0 {
		ctxVars["MAP_INDEX"] = fmt.Sprint(ti.MapIndex)
	}
	for k, v := range ctxVars {
		env["AIRFLOW_CTX_"+k] = v
		env["GUST_CTX_"+k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// pyISO formats t as Python's datetime.isoformat() of an aware UTC time.
func pyISO(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 != 0 {
		return t.Format("2006-01-02T15:04:05.000000") + "+00:00"
	}
	return t.Format("2006-01-02T15:04:05") + "+00:00"
}

var _ io.Writer = (*taskLog)(nil)
