// Package pydag reads Python DAG files: it runs python3 on a file with
// gust's own small airflow package (embedded here, unpacked into a cache
// folder) first on sys.path, which records what the file builds and
// prints it as gust's dag-factory document; dagspec then validates it as
// it does a YAML file. A file that raises, hangs past the import timeout
// or outgrows its memory limit is an import error.
package pydag

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gust-sched/gust/common/dagspec"
)

//go:embed all:shim
var shim embed.FS

// Defaults of the parser's settings.
const (
	DefaultTimeout     = 30 * time.Second // [core] dagbag_import_timeout
	DefaultMemoryLimit = 2 << 30          // bytes of address space per parse
)

// MightContainDAG is Airflow's safe mode: only a file whose text mentions
// both "airflow" and "dag" (in any case) is imported.
func MightContainDAG(src []byte) bool {
	low := bytes.ToLower(src)
	return bytes.Contains(low, []byte("airflow")) && bytes.Contains(low, []byte("dag"))
}

// Parser runs Python DAG files. The zero value is not usable: set Python,
// DagsFolder and CacheDir.
type Parser struct {
	Python      string        // interpreter ([core] python_executable)
	DagsFolder  string        // on sys.path, as Airflow puts it
	CacheDir    string        // where the airflow package is unpacked
	Timeout     time.Duration // per file; 0: DefaultTimeout
	MemoryLimit int64         // address space per parse in bytes; 0: DefaultMemoryLimit, < 0: none
	// Schedule decides what the DAGs' schedules mean ([scheduler]
	// create_cron_data_intervals...).
	Schedule dagspec.Options

	once sync.Once
	dir  string
	err  error

	mu     sync.Mutex // the warm server, started by the first Parse
	srv    *server
	closed bool
}

// Result is what one file gave.
type Result struct {
	DAGs []*dagspec.DAG
	// Files are the file and the modules it imported from the DAG folder,
	// so that a change to any of them makes the file due again.
	Files []string
}

// ShimDir unpacks the airflow package (once per process and content) and
// returns its folder.
func (p *Parser) ShimDir() (string, error) {
	p.once.Do(func() { p.dir, p.err = unpack(p.CacheDir) })
	return p.dir, p.err
}

func unpack(cache string) (string, error) {
	h := sha256.New()
	var paths []string
	err := fs.WalkDir(shim, "shim", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := shim.ReadFile(path)
		if err != nil {
			return err
		}
		paths = append(paths, path)
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("read the embedded airflow package: %w", err)
	}
	dir := filepath.Join(cache, "pyshim-"+hex.EncodeToString(h.Sum(nil))[:12])
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return "", fmt.Errorf("unpack the airflow package: %w", err)
	}
	tmp, err := os.MkdirTemp(cache, ".pyshim-")
	if err != nil {
		return "", fmt.Errorf("unpack the airflow package: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, path := range paths {
		b, _ := shim.ReadFile(path)
		dst := filepath.Join(tmp, strings.TrimPrefix(path, "shim/"))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", fmt.Errorf("unpack the airflow package: %w", err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return "", fmt.Errorf("unpack the airflow package: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		return "", fmt.Errorf("unpack the airflow package: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("unpack the airflow package: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another process unpacked the same content first.
		if _, serr := os.Stat(filepath.Join(dir, ".complete")); serr == nil {
			return dir, nil
		}
		return "", fmt.Errorf("unpack the airflow package: %w", err)
	}
	return dir, nil
}

// output is what gust_parse.py prints.
type output struct {
	DAGs []struct {
		DagID string          `json:"dag_id"`
		Line  int             `json:"line"`
		Spec  json.RawMessage `json:"spec"`
	} `json:"dags"`
	Files []string `json:"files"`
	Error string   `json:"error"`
	Line  int      `json:"line"`
}

// Parse imports the file at path and returns its DAGs; an error is a
// *dagspec.ParseError (an import error).
func (p *Parser) Parse(ctx context.Context, path string) (Result, error) {
	perr := func(line int, format string, args ...any) error {
		return &dagspec.ParseError{File: path, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	dir, err := p.ShimDir()
	if err != nil {
		return Result{}, perr(0, "%v", err)
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	mem := p.MemoryLimit
	if mem == 0 {
		mem = DefaultMemoryLimit
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	python := p.Python
	if python == "" {
		python = "python3"
	}
	stdout, stderr, runErr := p.runForked(ctx, python, dir, path, max(mem, 0))
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return Result{}, perr(0, "importing the file took longer than %s ([core] dagbag_import_timeout) and was stopped", timeout)
	}
	var ee *exec.Error
	if errors.As(runErr, &ee) {
		return Result{}, perr(0, "cannot run %s ([core] python_executable): %v", python, ee.Err)
	}
	if runErr != nil {
		return Result{}, perr(0, "%v", runErr)
	}
	var out output
	if err := json.Unmarshal(stdout, &out); err != nil {
		return Result{}, perr(0, "importing the file failed (it ended without a result): %s", strings.TrimSpace(stderr))
	}
	res := Result{Files: out.Files}
	if out.Error != "" {
		return res, perr(out.Line, "%s", out.Error)
	}
	if len(out.DAGs) == 0 {
		return res, nil
	}
	// The DAGs as one dag-factory document, in the file's order.
	var doc bytes.Buffer
	doc.WriteByte('{')
	for i, d := range out.DAGs {
		if d.DagID == "default" {
			return res, perr(d.Line, "a DAG may not be called %q in gust (dag-factory's name for shared settings)", d.DagID)
		}
		if i > 0 {
			doc.WriteByte(',')
		}
		k, _ := json.Marshal(d.DagID)
		doc.Write(k)
		doc.WriteByte(':')
		doc.Write(d.Spec)
	}
	doc.WriteByte('}')
	dags, err := dagspec.ParseWith(path, doc.Bytes(), p.Schedule)
	if err != nil {
		var pe *dagspec.ParseError
		if errors.As(err, &pe) {
			// Its line is the generated document's: give the DAG's instead.
			pe.Line = 0
			if len(out.DAGs) == 1 {
				pe.Line = out.DAGs[0].Line
			}
		}
		return res, err
	}
	lines := map[string]int{}
	for _, d := range out.DAGs {
		lines[d.DagID] = d.Line
	}
	// A DAG with Python tasks is a new version whenever its code changes:
	// the workers import the source stored with the version.
	sum := sha256.New()
	for _, f := range res.Files {
		if b, err := os.ReadFile(f); err == nil {
			fmt.Fprintf(sum, "%s\x00%d\x00", f, len(b))
			sum.Write(b)
		}
	}
	digest := hex.EncodeToString(sum.Sum(nil))
	for _, d := range dags {
		d.Line = lines[d.DagID]
		for _, t := range d.Tasks {
			if dagspec.RunsPython(t.Operator) {
				d.SourceHash = digest
				break
			}
		}
	}
	res.DAGs = dags
	return res, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = t.buf[over:]
	}
	return len(b), nil
}

func (t *tailBuffer) String() string { return string(t.buf) }
