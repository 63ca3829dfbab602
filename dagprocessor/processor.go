// Package dagprocessor turns the DAG folder into serialized DAGs in the
// metadata database. It lists the folder every dag_dir_list_interval,
// parses each YAML file whose content changed or that was last parsed more
// than min_file_process_interval ago (parsing_processes at a time), stores
// each DAG with its hash (no write when the hash is unchanged), records an
// import error per bad file without touching the others (a DAG id that an
// earlier file defines fails only that DAG), and deactivates DAGs whose
// file is gone.
package dagprocessor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/logkey"
	"github.com/gust-sched/gust/common/pydag"
	"github.com/gust-sched/gust/metadb"
)

// Options configures the processor. Field names follow the config keys.
type Options struct {
	// ParseDuration observes each file's parse time; nil records none.
	ParseDuration          prometheus.Observer
	DagsFolder             string
	MinFileProcessInterval time.Duration
	DagDirListInterval     time.Duration
	ParsingProcesses       int
	PausedAtCreation       bool // [core] dags_are_paused_at_creation
	MaxActiveRunsPerDag    int
	MaxActiveTasksPerDag   int
	// Python reads .py files (nil: they are import errors saying so).
	Python *pydag.Parser
	// IgnoreSyntax is [core] dag_ignore_file_syntax: glob or regexp.
	IgnoreSyntax string
	// Schedule decides what a schedule means ([scheduler]
	// create_cron_data_intervals...).
	Schedule dagspec.Options
}

// Processor parses the DAG folder. Create it with New; Run loops, ProcessAll
// makes one full pass.
type Processor struct {
	opts   Options
	db     *metadb.DB
	logger *slog.Logger

	mu    sync.Mutex
	files map[string]*fileState // by absolute path
}

type fileState struct {
	modTime  time.Time
	size     int64
	parsedAt time.Time
	dagIDs   []string
	hashes   map[string]string // dag_id -> hash stored
	// importErr is the file's import error, "" when none: the whole file
	// when parseError is set (its DAGs keep their last version), else the
	// DAG ids it defines that another file defined first (its other DAGs
	// load).
	importErr  string
	parseError bool
	dupIDs     []string          // DAG ids ignored here: an earlier file defines them
	warnings   map[string]string // dag_id -> its DAG warnings as stored (warningsKey)
	// deps are a Python file's imported modules from the DAG folder with
	// their modification times: while they and the file are unchanged and
	// the file imported cleanly, it is not run again.
	deps map[string]time.Time
}

// depsChanged reports whether a module a Python file imported changed.
func (fs *fileState) depsChanged() bool {
	for path, mt := range fs.deps {
		info, err := os.Stat(path)
		if err != nil || !info.ModTime().Equal(mt) {
			return true
		}
	}
	return false
}

// New returns a processor.
func New(opts Options, db *metadb.DB, logger *slog.Logger) *Processor {
	if opts.ParsingProcesses < 1 {
		opts.ParsingProcesses = 1
	}
	return &Processor{opts: opts, db: db, logger: logger.With("component", "dag-processor"), files: map[string]*fileState{}}
}

// Stats says what one pass did.
type Stats struct {
	Files        int // DAG files in the folder
	Parsed       int // files parsed this pass
	DAGs         int // DAGs defined by the folder
	Changed      int // DAGs written (new or changed hash)
	ImportErrors int // files with errors
	Deactivated  int64
}

// Run processes the folder until ctx is done: a full listing every
// dag_dir_list_interval, and in between re-parses of files that are due.
func (p *Processor) Run(ctx context.Context) error {
	tick := min(p.opts.MinFileProcessInterval, p.opts.DagDirListInterval)
	tick = max(tick, 500*time.Millisecond)
	var jobID int64
	defer func() {
		if jobID == 0 {
			return
		}
		ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := metadb.EndJob(ectx, p.db.Pool, jobID); err != nil {
			p.logger.Warn("cannot mark the DAG processor job ended", logkey.Err, err)
		}
	}()
	for {
		jobID = p.heartbeat(ctx, jobID)
		st, err := p.ProcessAll(ctx, false)
		if err != nil && ctx.Err() == nil {
			p.logger.Error("processing the DAG folder failed", logkey.Err, err)
		} else if st.Parsed > 0 {
			p.logger.Info("processed DAG folder", "files", st.Files, "parsed", st.Parsed, "dags", st.DAGs,
				"changed", st.Changed, "import_errors", st.ImportErrors, "deactivated", st.Deactivated)
		}
		t := time.NewTimer(tick)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// JobType is the job table's name for DAG processors; its heartbeats are
// the API's monitor/health dag_processor.
const JobType = "DagProcessorJob"

// heartbeat registers the processor's job row once the database answers,
// then refreshes its heartbeat; it never stops the parsing.
func (p *Processor) heartbeat(ctx context.Context, jobID int64) int64 {
	var err error
	if jobID == 0 {
		host, _ := os.Hostname()
		jobID, err = metadb.RegisterJob(ctx, p.db.Pool, JobType, host, os.Getpid())
	} else {
		err = metadb.HeartbeatJob(ctx, p.db.Pool, jobID)
	}
	if err != nil && ctx.Err() == nil {
		p.logger.Warn("DAG processor job heartbeat failed", logkey.Err, err)
	}
	return jobID
}

// ProcessAll lists the folder and parses every file that is due (all of
// them when force is set), then syncs the results to the database.
func (p *Processor) ProcessAll(ctx context.Context, force bool) (Stats, error) {
	var st Stats
	paths, err := ListDagFiles(p.opts.DagsFolder, p.opts.IgnoreSyntax)
	if err != nil {
		return st, err
	}
	st.Files = len(paths)
	now := time.Now()

	type job struct {
		path string
		info fs.FileInfo
	}
	var due []job
	p.mu.Lock()
	for _, path := range paths {
		info, err := os.Stat(path)
		if err != nil {
			continue // vanished between listing and stat
		}
		fsState := p.files[path]
		changed := fsState == nil || !info.ModTime().Equal(fsState.modTime) || info.Size() != fsState.size
		if !force && !changed && fsState.deps != nil && !fsState.parseError && fsState.importErr == "" {
			// A Python file is run again only when it or a module it
			// imported changed: running it costs an interpreter.
			if !fsState.depsChanged() {
				continue
			}
			changed = true
		}
		if force || changed || now.Sub(fsState.parsedAt) >= p.opts.MinFileProcessInterval {
			due = append(due, job{path, info})
		}
	}
	for path := range p.files {
		if !contains(paths, path) {
			delete(p.files, path)
		}
	}
	p.mu.Unlock()

	// Parse in parallel; write in path order so that a DAG id defined twice
	// is resolved the same way by every processor (the first file wins).
	results := make([]parsed, len(due))
	sem := make(chan struct{}, p.opts.ParsingProcesses)
	var wg sync.WaitGroup
	for i, j := range due {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			start := time.Now()
			results[i] = p.parseFile(ctx, j.path)
			if p.opts.ParseDuration != nil {
				p.opts.ParseDuration.Observe(time.Since(start).Seconds())
			}
			results[i].info = j.info
		}()
	}
	wg.Wait()
	st.Parsed = len(due)

	if err := p.sync(ctx, paths, results, &st); err != nil {
		return st, err
	}
	return st, nil
}

type parsed struct {
	path string
	info fs.FileInfo
	dags []*dagspec.DAG
	src  []byte // the file's text, stored with each DAG version (dagSources)
	err  error
	deps map[string]time.Time // a Python file's modules from the DAG folder
	// extra are the files a YAML file's Python tasks and callbacks call
	// into (python_callable_file, on_*_callback_file), by absolute path,
	// and mods the DAG folder's modules they name by import path
	// (python_callable: pkg.mod.func), by path in the folder: both stored
	// with the version.
	extra, mods map[string]string
}

// callableFiles reads the Python files a YAML file's DAGs call into
// (python_callable_file, on_*_callback_file), checks that each defines its
// callable, and gives each DAG that uses them a source_hash of its file
// and them, so that a change to one of them is a new version.
func callableFiles(path, dagsFolder string, src []byte, dags []*dagspec.DAG) (extra, mods map[string]string, err error) {
	for _, d := range dags {
		var used, usedMods []string
		module := func(name string) {
			for _, rel := range moduleFiles(dagsFolder, name) {
				if _, ok := mods[rel]; !ok {
					b, err := os.ReadFile(filepath.Join(dagsFolder, filepath.FromSlash(rel)))
					if err != nil {
						continue
					}
					if mods == nil {
						mods = map[string]string{}
					}
					mods[rel] = string(b)
				}
				usedMods = append(usedMods, rel)
			}
		}
		use := func(where, file, name string) error {
			if extra == nil {
				extra = map[string]string{}
			}
			text, ok := extra[file]
			if !ok {
				b, err := os.ReadFile(file)
				if err != nil {
					return &dagspec.ParseError{File: path, Msg: fmt.Sprintf("DAG %s: %s: %v", d.DagID, where, err)}
				}
				text = string(b)
				extra[file] = text
			}
			def := regexp.MustCompile(`(?m)^(async\s+)?(def|class)\s+` + regexp.QuoteMeta(name) + `\b|^` + regexp.QuoteMeta(name) + `\s*=`)
			if !def.MatchString(text) {
				return &dagspec.ParseError{File: path, Msg: fmt.Sprintf("DAG %s: %s: %s does not define %s", d.DagID, where, file, name)}
			}
			used = append(used, file)
			return nil
		}
		callbacks := func(where string, cbs map[string][]dagspec.PyCallable) error {
			for key, list := range cbs {
				for _, c := range list {
					if c.File == "" {
						module(c.Module)
						continue
					}
					if err := use(where+key+"_file", c.File, c.Name); err != nil {
						return err
					}
				}
			}
			return nil
		}
		if err := callbacks("", d.PythonCallbacks); err != nil {
			return nil, nil, err
		}
		for _, t := range d.Tasks {
			if py := t.Python; py != nil && py.File != "" {
				if err := use("task "+t.TaskID+": python_callable_file", py.File, py.Name); err != nil {
					return nil, nil, err
				}
			} else if py != nil && py.Module != "" {
				module(py.Module)
			}
			if err := callbacks("task "+t.TaskID+": ", t.PythonCallbacks); err != nil {
				return nil, nil, err
			}
		}
		if len(used) == 0 && len(usedMods) == 0 {
			continue
		}
		sort.Strings(used)
		sort.Strings(usedMods)
		sum := sha256.New()
		sum.Write(src)
		for _, f := range slices.Compact(used) {
			fmt.Fprintf(sum, "\x00%s\x00%d\x00%s", f, len(extra[f]), extra[f])
		}
		for _, f := range slices.Compact(usedMods) {
			fmt.Fprintf(sum, "\x01%s\x00%d\x00%s", f, len(mods[f]), mods[f])
		}
		d.SourceHash = hex.EncodeToString(sum.Sum(nil))
	}
	return extra, mods, nil
}

// moduleFiles are the files in the DAG folder that importing the dotted
// module name reads, by slash path in the folder: each package's
// __init__.py and the module itself (none when it is not in the folder,
// an installed package being the interpreter's business).
func moduleFiles(dagsFolder, name string) []string {
	if dagsFolder == "" || name == "" {
		return nil
	}
	parts := strings.Split(name, ".")
	var files []string
	for i := range parts {
		dir := filepath.Join(append([]string{dagsFolder}, parts[:i+1]...)...)
		last := i == len(parts)-1
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			if _, err := os.Stat(filepath.Join(dir, "__init__.py")); err == nil {
				files = append(files, strings.Join(parts[:i+1], "/")+"/__init__.py")
			}
			if !last {
				continue
			}
		}
		if last {
			if _, err := os.Stat(dir + ".py"); err == nil {
				files = append(files, strings.Join(parts, "/")+".py")
			}
			break
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil // a package outside the folder
		}
	}
	return files
}

// dagsRoot is the DAG folder's absolute path ("" when it cannot be had).
func (p *Processor) dagsRoot() string {
	root, err := filepath.Abs(p.opts.DagsFolder)
	if err != nil {
		return ""
	}
	return root
}

func (p *Processor) parseFile(ctx context.Context, path string) (out parsed) {
	out.path = path
	defer func() {
		// A parser bug must not take the processor down with it.
		if r := recover(); r != nil {
			out.dags, out.err = nil, fmt.Errorf("internal error parsing %s: %v", path, r)
		}
	}()
	src, err := os.ReadFile(path)
	if err != nil {
		out.err = &dagspec.ParseError{File: path, Msg: fmt.Sprintf("cannot read: %v", err)}
		return out
	}
	out.src = src
	if filepath.Ext(path) != ".py" {
		out.dags, out.err = dagspec.ParseWith(path, dagspec.ExpandVars(src, p.dagsRoot()), p.opts.Schedule)
		if out.err == nil {
			out.extra, out.mods, out.err = callableFiles(path, p.dagsRoot(), src, out.dags)
		}
		return out
	}
	out.deps = map[string]time.Time{}
	if !pydag.MightContainDAG(src) {
		return out // Airflow's safe mode: not a DAG file
	}
	if p.opts.Python == nil {
		out.err = &dagspec.ParseError{File: path, Msg: "Python DAG files are not read here"}
		return out
	}
	res, err := p.opts.Python.Parse(ctx, path)
	out.dags, out.err = res.DAGs, err
	for _, f := range res.Files {
		if f == path {
			continue
		}
		if info, err := os.Stat(f); err == nil {
			out.deps[f] = info.ModTime()
		}
	}
	return out
}

func (p *Processor) sync(ctx context.Context, paths []string, results []parsed, st *Stats) error {
	// definers: dag_id -> the files that define it. The first in path order
	// owns the DAG, so every processor resolves a duplicate the same way.
	definers := map[string]map[string]bool{}
	define := func(id, path string) {
		if definers[id] == nil {
			definers[id] = map[string]bool{}
		}
		definers[id][path] = true
	}
	p.mu.Lock()
	for path, fs := range p.files {
		for _, id := range append(append([]string(nil), fs.dagIDs...), fs.dupIDs...) {
			define(id, path)
		}
	}
	p.mu.Unlock()
	earlierDefiner := func(id, path string) string {
		first := ""
		for f := range definers[id] {
			if f < path && (first == "" || f < first) {
				first = f
			}
		}
		return first
	}

	var pools map[string]bool // pool names, read once when needed
	for _, r := range results {
		fst := &fileState{modTime: r.info.ModTime(), size: r.info.Size(), parsedAt: time.Now(),
			hashes: map[string]string{}, warnings: map[string]string{}, deps: r.deps}
		p.mu.Lock()
		prev := p.files[r.path]
		p.mu.Unlock()
		// A DAG id that an earlier file (in path order) defines is ignored
		// here, as Airflow ignores a duplicate DAG: this file's other DAGs
		// load, and its import error names both files.
		var dups []string
		if r.err == nil {
			if prev != nil {
				for _, id := range append(append([]string(nil), prev.dagIDs...), prev.dupIDs...) {
					delete(definers[id], r.path)
				}
			}
			kept := make([]*dagspec.DAG, 0, len(r.dags))
			for _, d := range r.dags {
				define(d.DagID, r.path)
				if o := earlierDefiner(d.DagID, r.path); o != "" {
					dups = append(dups, duplicateError(d, o))
					fst.dupIDs = append(fst.dupIDs, d.DagID)
					continue
				}
				kept = append(kept, d)
			}
			r.dags = kept
		}
		if r.err != nil {
			fst.parseError = true
			fst.importErr = r.err.Error()
			if prev != nil {
				// Airflow keeps a broken file's DAGs, and their warnings.
				fst.dagIDs, fst.dupIDs, fst.warnings = prev.dagIDs, prev.dupIDs, prev.warnings
			}
			if err := metadb.Retry(ctx, p.logger, "record import error", func(ctx context.Context) error {
				return metadb.SetImportError(ctx, p.db.Pool, r.path, r.err.Error())
			}); err != nil {
				return err
			}
			if prev == nil || prev.importErr != fst.importErr {
				p.logger.Warn("DAG file has errors", logkey.File, r.path, logkey.Err, r.err)
			}
			p.setFile(r.path, fst)
			continue
		}
		// DAGs unchanged since the last parse are only touched; one whose
		// row is gone (`gust dags delete`) is stored again.
		var unchanged []string
		for _, d := range r.dags {
			if prev != nil && prev.hashes[d.DagID] != "" {
				if _, hash, err := dagspec.Serialize(d); err == nil && hash == prev.hashes[d.DagID] {
					unchanged = append(unchanged, d.DagID)
				}
			}
		}
		var missing []string
		if len(unchanged) > 0 {
			if err := metadb.Retry(ctx, p.logger, "touch dags", func(ctx context.Context) error {
				var err error
				missing, err = metadb.TouchDAGs(ctx, p.db.Pool, unchanged)
				return err
			}); err != nil {
				return err
			}
		}
		for _, d := range r.dags {
			fst.dagIDs = append(fst.dagIDs, d.DagID)
			data, hash, err := dagspec.Serialize(d)
			if err != nil {
				return fmt.Errorf("serialize %s: %w", d.DagID, err)
			}
			fst.hashes[d.DagID] = hash
			stored := prev == nil || prev.hashes[d.DagID] != hash || slices.Contains(missing, d.DagID)
			if stored { // else unchanged: no write
				changed := false
				err = metadb.Retry(ctx, p.logger, "store dag", func(ctx context.Context) error {
					return p.db.InTx(ctx, func(tx pgx.Tx) error {
						var err error
						sync := p.dagSync(d, data, hash, r.src)
						sync.Files = p.versionFiles(d, r)
						if changed, err = metadb.SyncDAG(ctx, tx, sync); err != nil || !changed {
							return err
						}
						return metadb.SyncAssetRefs(ctx, tx, d)
					})
				})
				if err != nil {
					return err
				}
				if changed {
					st.Changed++
					p.logger.Info("stored DAG", logkey.DagID, d.DagID, "hash", hash[:12], logkey.File, r.path)
				}
			}
			if pools == nil {
				if err := metadb.Retry(ctx, p.logger, "list pools", func(ctx context.Context) error {
					names, err := metadb.PoolNames(ctx, p.db.Pool)
					pools = map[string]bool{}
					for _, n := range names {
						pools[n] = true
					}
					return err
				}); err != nil {
					return err
				}
			}
			ws := dagWarnings(d, pools)
			key := warningsKey(ws)
			fst.warnings[d.DagID] = key
			if stored || prev.warnings[d.DagID] != key {
				if err := metadb.Retry(ctx, p.logger, "store dag warnings", func(ctx context.Context) error {
					return metadb.SetDagWarnings(ctx, p.db.Pool, d.DagID, ws)
				}); err != nil {
					return err
				}
			}
		}
		if len(dups) > 0 {
			fst.importErr = strings.Join(dups, "\n")
			if err := metadb.Retry(ctx, p.logger, "record import error", func(ctx context.Context) error {
				return metadb.SetImportError(ctx, p.db.Pool, r.path, fst.importErr)
			}); err != nil {
				return err
			}
			if prev == nil || prev.importErr != fst.importErr {
				p.logger.Warn("DAG file defines DAG ids defined in another file", logkey.File, r.path, logkey.Err, fst.importErr)
			}
		} else if prev == nil || prev.importErr != "" {
			if err := metadb.Retry(ctx, p.logger, "clear import error", func(ctx context.Context) error {
				return metadb.ClearImportErrors(ctx, p.db.Pool, []string{r.path})
			}); err != nil {
				return err
			}
		}
		p.setFile(r.path, fst)
	}

	var okFiles, keep []string
	p.mu.Lock()
	for path, fs := range p.files {
		if fs.importErr != "" {
			st.ImportErrors++
		}
		if !fs.parseError {
			okFiles = append(okFiles, path)
		}
		keep = append(keep, fs.dagIDs...)
		st.DAGs += len(fs.dagIDs)
	}
	p.mu.Unlock()
	if paths == nil {
		paths = []string{}
	}
	if okFiles == nil {
		okFiles = []string{}
	}
	if keep == nil {
		keep = []string{}
	}
	return metadb.Retry(ctx, p.logger, "deactivate stale dags", func(ctx context.Context) error {
		n, err := metadb.DeactivateStale(ctx, p.db.Pool, paths, okFiles, keep)
		if err != nil {
			return err
		}
		st.Deactivated = n
		if n > 0 {
			if err := metadb.DeleteInactiveDagWarnings(ctx, p.db.Pool); err != nil {
				return err
			}
		}
		return metadb.ClearImportErrorsNotIn(ctx, p.db.Pool, paths)
	})
}

// dagWarnings returns a DAG's warnings: those of its file, and Airflow's
// non-existent pool warning when a task names a pool that does not exist.
func dagWarnings(d *dagspec.DAG, pools map[string]bool) []metadb.DagWarning {
	var out []metadb.DagWarning
	for _, w := range d.Warnings {
		out = append(out, metadb.DagWarning{DagID: d.DagID, WarningType: w.Type, Message: w.Message})
	}
	var missing []string
	for _, t := range d.Tasks {
		if !pools[t.Pool] && !slices.Contains(missing, t.Pool) {
			missing = append(missing, t.Pool)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		out = append(out, metadb.DagWarning{DagID: d.DagID, WarningType: dagspec.WarningNonExistentPool,
			Message: fmt.Sprintf("Dag '%s' references non-existent pools: ['%s']", d.DagID, strings.Join(missing, "', '"))})
	}
	return out
}

// warningsKey identifies a set of warnings, to write them only on change.
func warningsKey(ws []metadb.DagWarning) string {
	var b strings.Builder
	for _, w := range ws {
		b.WriteString(w.WarningType + "\x00" + w.Message + "\x00")
	}
	return b.String()
}

// duplicateError is the import error of a DAG whose id an earlier file
// defines: Airflow's "Ignoring DAG x from b - also found in a", as a
// file:line message.
func duplicateError(d *dagspec.DAG, existing string) string {
	e := &dagspec.ParseError{File: d.Fileloc, Line: d.Line,
		Msg: fmt.Sprintf("ignoring DAG %s: it is also defined in %s (the first file, in path order, keeps it)", d.DagID, existing)}
	return e.Error()
}

func (p *Processor) setFile(path string, fs *fileState) {
	p.mu.Lock()
	p.files[path] = fs
	p.mu.Unlock()
}

// versionFiles are what a DAG with Python tasks stores besides its file's
// text: the file's place in the DAG folder and the modules it imported
// from there, so that a worker imports this version's code.
func (p *Processor) versionFiles(d *dagspec.DAG, r parsed) *metadb.DagFiles {
	if d.SourceHash == "" {
		return nil
	}
	root, err := filepath.Abs(p.opts.DagsFolder)
	if err != nil {
		return nil
	}
	rel, err := filepath.Rel(root, r.path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return nil
	}
	files := &metadb.DagFiles{Path: filepath.ToSlash(rel), Modules: map[string]string{}}
	for abs, text := range r.extra {
		files.Modules[dagspec.CallableFileKey(abs)] = text
	}
	for rel, text := range r.mods {
		files.Modules[rel] = text
	}
	for dep := range r.deps {
		mrel, err := filepath.Rel(root, dep)
		if err != nil || strings.HasPrefix(mrel, "..") {
			continue
		}
		b, err := os.ReadFile(dep)
		if err != nil {
			p.logger.Warn("a module of a DAG file could not be read to store with its version", "file", r.path, "module", dep, "err", err)
			continue
		}
		files.Modules[filepath.ToSlash(mrel)] = string(b)
	}
	return files
}

func (p *Processor) dagSync(d *dagspec.DAG, data []byte, hash string, src []byte) metadb.DagSync {
	paused := p.opts.PausedAtCreation
	if d.IsPausedUponCreation != nil {
		paused = *d.IsPausedUponCreation
	}
	maxRuns := d.MaxActiveRuns
	if maxRuns <= 0 {
		maxRuns = p.opts.MaxActiveRunsPerDag
	}
	maxTasks := d.MaxActiveTasks
	if maxTasks <= 0 {
		maxTasks = p.opts.MaxActiveTasksPerDag
	}
	limits := false
	for _, t := range d.Tasks {
		limits = limits || t.MaxActiveTIsPerDag > 0
	}
	return metadb.DagSync{
		HasTaskLimits:    limits,
		DagID:            d.DagID,
		Fileloc:          d.Fileloc,
		Description:      d.Description,
		Owners:           d.Owners(),
		Tags:             d.Tags,
		ScheduleInterval: scheduleColumn(d),
		MaxActiveRuns:    maxRuns,
		MaxActiveTasks:   maxTasks,
		DagHash:          hash,
		Data:             data,
		Source:           string(src),
		PausedAtCreation: paused,
	}
}

// ListDagFiles returns the absolute paths of the YAML and Python files
// under folder, sorted, skipping hidden files and folders and what the
// .airflowignore files of the folder and its subfolders exclude (in the
// syntax given, glob or regexp; a folder that matches is not entered).
func ListDagFiles(folder, ignoreSyntax string) ([]string, error) {
	abs, err := filepath.Abs(folder)
	if err != nil {
		return nil, fmt.Errorf("dags folder %s: %w", folder, err)
	}
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("dags folder %s does not exist ([core] dags_folder)", abs)
	}
	var out []string
	var walk func(dir string, rules []*ignoreRules) error
	walk = func(dir string, rules []*ignoreRules) error {
		r, err := readIgnore(dir, ignoreSyntax)
		if err != nil {
			return err
		}
		if r != nil {
			rules = append(rules[:len(rules):len(rules)], r)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			if dir == abs {
				return fmt.Errorf("list dags folder %s: %w", abs, err)
			}
			return nil // unreadable folder: skip it, keep the rest
		}
	entries:
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			path := filepath.Join(dir, name)
			isDir := e.IsDir()
			if e.Type()&fs.ModeSymlink != 0 {
				if fi, err := os.Stat(path); err == nil {
					isDir = fi.IsDir()
				}
			}
			for _, r := range rules {
				if r.matches(path, isDir) {
					continue entries
				}
			}
			if isDir {
				if name == "__pycache__" {
					continue
				}
				if err := walk(path, rules); err != nil {
					return err
				}
				continue
			}
			if strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".py") {
				out = append(out, path)
			}
		}
		return nil
	}
	if err := walk(abs, nil); err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

func contains(xs []string, x string) bool {
	i := sort.SearchStrings(xs, x)
	return i < len(xs) && xs[i] == x
}

// scheduleColumn is what the dag row's schedule_interval shows: the
// normalised schedule, or Airflow 3's "Asset" for a DAG scheduled on assets
// (whose runs the serialized DAG's condition decides).
func scheduleColumn(d *dagspec.DAG) string {
	if d.AssetSchedule != nil && d.Schedule == "" {
		return dagspec.AssetScheduleName
	}
	return d.Schedule
}
