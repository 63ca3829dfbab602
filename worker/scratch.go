package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// scratch is what one try has to itself: an empty working directory (a
// bash or Python task's cwd, as Airflow's temporary directory) and an
// empty file for the XComs it writes ($GUST_XCOM_FILE).
type scratch struct {
	dir, xcom string
	release   func()
}

// Release gives the scratch back once the try is done with it.
func (s *scratch) Release() { s.release() }

// scratchPool keeps the scratches of finished tries for the next ones: a
// try that leaves its directory empty (most do) costs no directory made
// or removed, which under load is a large part of a short task's cost (the
// parent directory's lock is contended). A scratch a try left files in is
// emptied before it is used again.
type scratchPool struct {
	mu   sync.Mutex
	root string // made on first use; removed by Close
	next int
	free []*scratch
}

type scratchKey struct{}

// withScratch makes ctx's tries take their scratches from p.
func withScratch(ctx context.Context, p *scratchPool) context.Context {
	return context.WithValue(ctx, scratchKey{}, p)
}

// takeScratch returns a scratch for one try: from ctx's pool, or, with
// none (gust dags test), a new one that Release removes.
func takeScratch(ctx context.Context) (*scratch, error) {
	if p, ok := ctx.Value(scratchKey{}).(*scratchPool); ok {
		return p.take()
	}
	dir, err := os.MkdirTemp("", "gusttmp")
	if err != nil {
		return nil, fmt.Errorf("create working directory: %w", err)
	}
	s, err := newScratch(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s.release = func() { _ = os.RemoveAll(dir) }
	return s, nil
}

// newScratch lays out a scratch in dir: dir/cwd and dir/xcom.
func newScratch(dir string) (*scratch, error) {
	s := &scratch{dir: filepath.Join(dir, "cwd"), xcom: filepath.Join(dir, "xcom")}
	if err := os.Mkdir(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("create working directory: %w", err)
	}
	if err := os.WriteFile(s.xcom, nil, 0o600); err != nil {
		return nil, fmt.Errorf("create XCom file: %w", err)
	}
	return s, nil
}

func (p *scratchPool) take() (*scratch, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		s := p.free[n-1]
		p.free = p.free[:n-1]
		return s, nil
	}
	if p.root == "" {
		root, err := os.MkdirTemp("", "gust-worker-")
		if err != nil {
			return nil, fmt.Errorf("create working directories: %w", err)
		}
		p.root = root
	}
	p.next++
	dir := filepath.Join(p.root, strconv.Itoa(p.next))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create working directory: %w", err)
	}
	s, err := newScratch(dir)
	if err != nil {
		return nil, err
	}
	s.release = func() { p.give(s) }
	return s, nil
}

// give takes a scratch back, emptied: the working directory as it was
// made, the XCom file empty. One that cannot be emptied is dropped.
func (p *scratchPool) give(s *scratch) {
	if !emptyDir(s.dir) {
		if os.RemoveAll(s.dir) != nil || os.Mkdir(s.dir, 0o700) != nil {
			return
		}
	}
	if fi, err := os.Stat(s.xcom); err != nil || fi.Size() > 0 || !fi.Mode().IsRegular() {
		_ = os.RemoveAll(s.xcom)
		if os.WriteFile(s.xcom, nil, 0o600) != nil {
			return
		}
	}
	p.mu.Lock()
	p.free = append(p.free, s)
	p.mu.Unlock()
}

// emptyDir reports whether dir is a directory with nothing in it.
func emptyDir(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		return false
	}
	_, err = f.Readdirnames(1)
	return errors.Is(err, io.EOF)
}

// Close removes the pool's directories.
func (p *scratchPool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free = nil
	if p.root == "" {
		return nil
	}
	return os.RemoveAll(p.root)
}
