package worker

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// pyIdleTimeout is how long a warm Python process waits for its next try
// before the pool stops it.
const pyIdleTimeout = 5 * time.Minute

// pyProc is one warm Python process (gust_run.py serving tries): it has
// imported the shim and, after its first try, one DAG version's file. It
// runs one try at a time; each try brings its own pipes (output, requests,
// answers), passed over the control socket.
type pyProc struct {
	key     string
	cmd     *exec.Cmd
	ctrl    *net.UnixConn
	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done is closed
	tries   int
	idle    time.Time
}

func (p *pyProc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill stops the process's group (the try's callable and what it started):
// SIGTERM, then SIGKILL after killGrace.
func (p *pyProc) kill() {
	if p.cmd.Process == nil {
		return
	}
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	t := time.NewTimer(killGrace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-p.done
	_ = p.ctrl.Close()
}

// sendTry hands the process the three pipe ends of a try.
func (p *pyProc) sendTry(files ...*os.File) error {
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	_, _, err := p.ctrl.WriteMsgUnix([]byte{'t'}, syscall.UnixRights(fds...), nil)
	if err != nil {
		return fmt.Errorf("hand the try to the Python process: %w", err)
	}
	return nil
}

// checkout returns an idle process for the DAG file, or starts one.
func (py *PythonRuntime) checkout(shim string, job *pyJob) (*pyProc, error) {
	python := py.python()
	key := python + "\x00" + shim + "\x00" + job.DagFile + "\x00" + job.DagsFolder
	py.mu.Lock()
	for i := len(py.idle) - 1; i >= 0; i-- {
		p := py.idle[i]
		if p.key != key {
			continue
		}
		py.idle = append(py.idle[:i], py.idle[i+1:]...)
		if p.alive() {
			py.mu.Unlock()
			return p, nil
		}
		go p.kill()
	}
	closed := py.closed
	py.mu.Unlock()
	if closed {
		return nil, errors.New("the worker is stopping")
	}
	return py.start(shim, key, job)
}

func (py *PythonRuntime) python() string {
	if py.Python == "" {
		return "python3"
	}
	return py.Python
}

// interpreter is the program the warm processes run: [core]
// python_executable resolved once to the interpreter it starts
// (sys.executable), so that a wrapper such as pyenv's shim (a shell script
// that takes a third of a second) is paid once, not per process.
func (py *PythonRuntime) interpreter() string {
	py.resolve.Do(func() {
		py.resolved = py.python()
		out, err := exec.Command(py.python(), "-c", "import sys; print(sys.executable)").Output()
		if p := strings.TrimSpace(string(out)); err == nil && filepath.IsAbs(p) {
			if _, err := os.Stat(p); err == nil {
				py.resolved = p
			}
		}
	})
	return py.resolved
}

// start launches a warm process in its own process group; it dies with
// the worker (Pdeathsig, and the control socket's end).
func (py *PythonRuntime) start(shim, key string, job *pyJob) (*pyProc, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("create the Python process's socket: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "gust-py-ctrl"), os.NewFile(uintptr(fds[1]), "gust-py-ctrl")
	defer theirs.Close()
	conn, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		return nil, fmt.Errorf("create the Python process's socket: %w", err)
	}
	args := []string{"-B", filepath.Join(shim, "gust_run.py"), "--memory-limit", strconv.FormatInt(max(py.MemoryLimit, 0), 10)}
	if py.FreshProcessPerTry {
		args = append(args, "--fork")
		if strings.HasSuffix(job.DagFile, ".py") {
			args = append(args, "--dag-file", job.DagFile, "--fileloc", job.Fileloc)
			if job.DagsFolder != "" {
				args = append(args, "--dags-folder", job.DagsFolder)
			}
		}
	}
	cmd := exec.Command(py.interpreter(), args...)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
	cmd.ExtraFiles = []*os.File{theirs} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("start %s ([core] python_executable): %w", py.python(), err)
	}
	p := &pyProc{key: key, cmd: cmd, ctrl: conn.(*net.UnixConn), done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// checkin gives a process back after a clean try: it waits for the next
// try unless it has run max_tasks_per_child tries, the pool is closed, or
// too many are idle (the longest idle goes first).
func (py *PythonRuntime) checkin(p *pyProc) {
	p.tries++
	if !p.alive() || py.MaxTasksPerChild > 0 && p.tries >= py.MaxTasksPerChild {
		go p.kill()
		return
	}
	p.idle = time.Now()
	maxIdle := max(py.MaxIdle, 1)
	py.mu.Lock()
	if py.closed {
		py.mu.Unlock()
		go p.kill()
		return
	}
	py.idle = append(py.idle, p)
	var evict []*pyProc
	for len(py.idle) > maxIdle {
		evict = append(evict, py.idle[0])
		py.idle = py.idle[1:]
	}
	if !py.reaping {
		py.reaping = true
		go py.reap()
	}
	py.mu.Unlock()
	for _, q := range evict {
		go q.kill()
	}
}

// reap stops processes idle for longer than pyIdleTimeout, until none
// is idle.
func (py *PythonRuntime) reap() {
	t := time.NewTicker(pyIdleTimeout / 5)
	defer t.Stop()
	for range t.C {
		py.mu.Lock()
		keep := py.idle[:0]
		var old []*pyProc
		for _, p := range py.idle {
			if time.Since(p.idle) > pyIdleTimeout || !p.alive() {
				old = append(old, p)
			} else {
				keep = append(keep, p)
			}
		}
		py.idle = keep
		stop := py.closed || len(py.idle) == 0
		if stop {
			py.reaping = false
		}
		py.mu.Unlock()
		for _, p := range old {
			p.kill()
		}
		if stop {
			return
		}
	}
}

// Close stops the idle warm processes; tries still running stop with
// their contexts. The runtime starts no process after Close.
func (py *PythonRuntime) Close() {
	if py == nil {
		return
	}
	py.mu.Lock()
	py.closed = true
	idle := py.idle
	py.idle = nil
	py.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range idle {
		wg.Go(p.kill)
	}
	wg.Wait()
}

// Idle reports how many warm processes wait for a try (tests, status).
func (py *PythonRuntime) Idle() int {
	py.mu.Lock()
	defer py.mu.Unlock()
	return len(py.idle)
}

// pyTryPipes are one try's pipes: the worker's ends and the process's.
type pyTryPipes struct {
	outR, reqR, respW *os.File // ours
	outW, reqW, respR *os.File // theirs, closed once sent
}

func newTryPipes() (*pyTryPipes, error) {
	var t pyTryPipes
	var err error
	if t.outR, t.outW, err = os.Pipe(); err != nil {
		return nil, fmt.Errorf("create a pipe: %w", err)
	}
	if t.reqR, t.reqW, err = os.Pipe(); err != nil {
		t.close()
		return nil, fmt.Errorf("create a pipe: %w", err)
	}
	if t.respR, t.respW, err = os.Pipe(); err != nil {
		t.close()
		return nil, fmt.Errorf("create a pipe: %w", err)
	}
	return &t, nil
}

func (t *pyTryPipes) closeTheirs() {
	for _, f := range []*os.File{t.outW, t.reqW, t.respR} {
		if f != nil {
			f.Close()
		}
	}
}

func (t *pyTryPipes) close() {
	t.closeTheirs()
	for _, f := range []*os.File{t.outR, t.reqR, t.respW} {
		if f != nil {
			f.Close()
		}
	}
}

// exitReason says how a process that sent no result ended.
func (p *pyProc) exitReason() string {
	var ee *exec.ExitError
	if errors.As(p.waitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Sprintf("the Python process was killed by signal %s", ws.Signal())
		}
		return fmt.Sprintf("the Python process exited with code %d without a result", ee.ExitCode())
	}
	return "the Python process ended without a result"
}
