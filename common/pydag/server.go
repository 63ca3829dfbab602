package pydag

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// server is a warm gust_parse.py --serve: it has imported the airflow
// package and forks a child per file, so that a file costs a fork and its
// own import instead of an interpreter's start (Airflow's processor forks
// the same way).
type server struct {
	cmd  *exec.Cmd
	ctrl *net.UnixConn
	done chan struct{}
}

func (s *server) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

func (s *server) stop() {
	_ = s.ctrl.Close()
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
	<-s.done
}

func startServer(python, dir string) (*server, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("create the parser's socket: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "gust-parse-ctrl"), os.NewFile(uintptr(fds[1]), "gust-parse-ctrl")
	defer theirs.Close()
	conn, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		return nil, fmt.Errorf("create the parser's socket: %w", err)
	}
	cmd := exec.Command(python, "-B", filepath.Join(dir, "gust_parse.py"), "--serve")
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
	cmd.ExtraFiles = []*os.File{theirs} // fd 3
	// Its own group, away from the terminal's signals; it dies with us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		conn.Close()
		return nil, err
	}
	s := &server{cmd: cmd, ctrl: conn.(*net.UnixConn), done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	return s, nil
}

// fork asks the server for a child that imports path, writing its result to
// res and its output to out; it returns the child's pid (also its group).
func (s *server) fork(path, folder string, mem int64, res, out *os.File) (int, error) {
	req, _ := json.Marshal(map[string]any{"path": path, "folder": folder, "memory": mem})
	if _, _, err := s.ctrl.WriteMsgUnix(req, syscall.UnixRights(int(res.Fd()), int(out.Fd())), nil); err != nil {
		return 0, err
	}
	_ = s.ctrl.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 256)
	n, _, _, _, err := s.ctrl.ReadMsgUnix(buf, nil)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, io.EOF
	}
	var answer struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal(buf[:n], &answer); err != nil || answer.Pid <= 0 {
		return 0, fmt.Errorf("the parser answered %q", buf[:n])
	}
	return answer.Pid, nil
}

// runForked imports path in a child of the warm server: its result (the
// JSON gust_parse.py writes) and the tail of its output, or an error that
// is not the file's (the interpreter cannot start). A child that outlives
// ctx is killed with its group.
func (p *Parser) runForked(ctx context.Context, python, dir, path string, mem int64) (result []byte, output string, err error) {
	resR, resW, err := os.Pipe()
	if err != nil {
		return nil, "", fmt.Errorf("create a pipe: %w", err)
	}
	defer resR.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		resW.Close()
		return nil, "", fmt.Errorf("create a pipe: %w", err)
	}
	defer outR.Close()

	pid, err := p.forkChild(python, dir, path, mem, resW, outW)
	resW.Close()
	outW.Close()
	if err != nil {
		return nil, "", err
	}
	tail := &tailBuffer{max: 8 << 10}
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		_, _ = io.Copy(tail, outR)
	}()
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(resR)
		got <- b
	}()
	select {
	case result = <-got:
	case <-ctx.Done():
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
		return nil, "", ctx.Err()
	}
	// What the file left running in the background holding its output is
	// stopped with its group.
	select {
	case <-logged:
	case <-time.After(time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-logged
	}
	return result, tail.String(), nil
}

// forkChild hands the request to the server, starting it (again) when it
// is not running.
func (p *Parser) forkChild(python, dir, path string, mem int64, res, out *os.File) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, errors.New("the parser is closed")
	}
	for attempt := 0; ; attempt++ {
		if p.srv == nil || !p.srv.alive() {
			if p.srv != nil {
				p.srv.stop()
			}
			srv, err := startServer(python, dir)
			if err != nil {
				p.srv = nil
				return 0, &exec.Error{Name: python, Err: err}
			}
			p.srv = srv
		}
		pid, err := p.srv.fork(path, p.DagsFolder, mem, res, out)
		if err == nil {
			return pid, nil
		}
		p.srv.stop()
		p.srv = nil
		if attempt > 0 {
			return 0, fmt.Errorf("the Python parser process failed: %w", err)
		}
	}
}

// Close stops the warm parser process.
func (p *Parser) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.srv != nil {
		p.srv.stop()
		p.srv = nil
	}
}
