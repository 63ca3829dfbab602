package worker

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gust-sched/gust/common/connection"
	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/secrets"
	"github.com/gust-sched/gust/metadb"
	"github.com/gust-sched/gust/templating"
)

// prepared is a bash task ready to run: rendered fields, extra environment
// and the secrets to mask.
type prepared struct {
	command string
	env     map[string]string // rendered task env
	extra   map[string]string // AIRFLOW_CONN_*, GUST_XCOM_FILE
	masker  *secrets.Masker
	pushed  map[string]any // the templates' ti.xcom_push
}

// rendered is what the task's templated fields rendered to, with the
// try's secrets masked: bash_command, and env when the task has one.
func (p *prepared) rendered() map[string]any {
	out := map[string]any{"bash_command": p.masker.Mask(p.command)}
	if p.env != nil {
		env := make(map[string]string, len(p.env))
		for k, v := range p.env {
			env[k] = p.masker.Mask(v)
		}
		out["env"] = env
	}
	return out
}

// ResolveParams returns a run's params: the DAG's defaults (a param given
// as {default: ..., type: ...} contributes its default) overridden by the
// run's conf, as Airflow's dag_run_conf_overrides_params.
func ResolveParams(dag *dagspec.DAG, taskID string, conf map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range dag.Params {
		out[k] = dagspec.ParamDefault(v)
	}
	if t := dag.Task(taskID); t != nil {
		for k, v := range t.Params {
			out[k] = dagspec.ParamDefault(v)
		}
	}
	for k, v := range conf {
		out[k] = v
	}
	return out
}

// Renderer builds the template context of one try. Variables are loaded
// on first use (and their sensitive values registered with the masker
// then, before anything runs); the previous successful run is looked up
// only when a template mentions it.
func Renderer(ctx context.Context, store Store, dag *dagspec.DAG, run *metadb.DagRun, ti *metadb.TaskInstance, masker *secrets.Masker, templates ...string) (*templating.Renderer, []*connection.Connection, error) {
	conns, err := store.Connections(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("load connections: %w", err)
	}
	if masker != nil {
		for _, c := range conns {
			masker.Add(c.Secrets(secrets.IsSensitiveName)...)
		}
	}
	var prevStart, prevEnd *time.Time
	if templates == nil || strings.Contains(strings.Join(templates, " "), "prev_data_interval") {
		if prevStart, prevEnd, err = store.PrevSuccess(ctx, run.DagID, run.LogicalDate); err != nil {
			return nil, nil, err
		}
	}
	var (
		varsOnce sync.Once
		vars     map[string]string
		varsErr  error
	)
	loadVars := func() {
		vars, varsErr = store.Variables(ctx)
		if varsErr != nil {
			varsErr = fmt.Errorf("load variables: %w", varsErr)
			return
		}
		if masker != nil {
			for k, v := range vars {
				if secrets.IsSensitiveName(k) {
					masker.Add(v)
				}
			}
		}
	}
	in := templating.Input{
		DagID: ti.DagID, TaskID: ti.TaskID, RunID: ti.RunID, RunType: run.RunType,
		LogicalDate: run.LogicalDate, PrevSuccessStart: prevStart, PrevSuccessEnd: prevEnd,
		TryNumber: ti.TryNumber, MapIndex: ti.MapIndex, Conf: run.Conf, Params: ResolveParams(dag, ti.TaskID, run.Conf),
		Owner: dag.Owner,
		Variable: func(key string) (string, bool, error) {
			varsOnce.Do(loadVars)
			if varsErr != nil {
				return "", false, varsErr
			}
			v, ok := vars[key]
			return v, ok, nil
		},
		Connection: func(id string) (*connection.Connection, error) {
			for _, c := range conns {
				if c.ConnID == id {
					return c, nil
				}
			}
			return nil, nil
		},
		XCom: func(dagID, taskID, key string) (any, bool, error) {
			return store.XCom(ctx, dagID, ti.RunID, taskID, key)
		},
		AssetEvents: func(uri, alias string) ([]any, error) { return store.AssetEvents(ctx, uri, alias) },
	}
	if t := dag.Task(ti.TaskID); t != nil && len(t.Inlets) > 0 {
		in.InletAssets = map[string]string{}
		for _, r := range t.Inlets {
			if r.Alias != nil {
				in.InletAliases = append(in.InletAliases, r.Alias.Name)
			} else {
				in.InletAssets[r.Asset.Name], in.InletAssets[r.Asset.URI] = r.Asset.URI, r.Asset.URI
			}
		}
	}
	if templates == nil || strings.Contains(strings.Join(templates, " "), "triggering_") {
		if in.TriggeringAssetEvents, err = store.TriggeringEvents(ctx, run); err != nil {
			return nil, nil, err
		}
	}
	in.DataIntervalStart, in.DataIntervalEnd = run.LogicalDate, run.LogicalDate
	if run.DataIntervalStart != nil {
		in.DataIntervalStart = *run.DataIntervalStart
	}
	if run.DataIntervalEnd != nil {
		in.DataIntervalEnd = *run.DataIntervalEnd
	}
	return templating.New(in), conns, nil
}

// prepare renders a bash task's templated fields (bash_command, env).
func prepare(ctx context.Context, store Store, task *dagspec.Task, dag *dagspec.DAG, run *metadb.DagRun, ti *metadb.TaskInstance) (*prepared, error) {
	p := &prepared{masker: &secrets.Masker{}, extra: map[string]string{}}
	fields := map[string]string{"bash_command": task.BashCommand}
	templates := []string{task.BashCommand}
	for k, v := range task.Env {
		fields["env."+k] = v
		templates = append(templates, v)
	}
	r, conns, err := Renderer(ctx, store, dag, run, ti, p.masker, templates...)
	if err != nil {
		return nil, err
	}
	out, err := r.RenderFields(fields)
	if err != nil {
		return nil, err
	}
	p.command = out["bash_command"]
	p.pushed = r.Pushed()
	if task.Env != nil {
		p.env = map[string]string{}
		for k := range task.Env {
			p.env[k] = out["env."+k]
		}
	}
	for _, c := range conns {
		p.extra[connection.EnvName(c.ConnID)] = c.URI()
	}
	return p, nil
}

// lastLine keeps the last line of a stream (bounded), for the bash
// operator's return_value XCom.
type lastLine struct {
	mu      sync.Mutex
	cur     []byte
	prev    []byte
	dropped bool
}

const maxLastLine = metadb.MaxXComBytes + 1

func (l *lastLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range p {
		if b == '\n' {
			l.prev, l.cur = l.cur, l.prev[:0]
			continue
		}
		if len(l.cur) < maxLastLine {
			l.cur = append(l.cur, b)
		}
	}
	return len(p), nil
}

// String is the last line: the unterminated tail, else the last full line.
func (l *lastLine) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.cur) > 0 {
		return string(l.cur)
	}
	return string(l.prev)
}

// readXComFile reads key=value lines a task wrote to $GUST_XCOM_FILE; a
// value that is valid JSON is stored as that JSON, else as a string.
func readXComFile(path string) (map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	out := map[string]any{}
	sc := bufio.NewScanner(io.LimitReader(f, 16<<20))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("$GUST_XCOM_FILE line %d: want key=value, got %q", n, line)
		}
		var j any
		if json.Unmarshal([]byte(v), &j) == nil {
			out[strings.TrimSpace(k)] = j
		} else {
			out[strings.TrimSpace(k)] = v
		}
	}
	return out, sc.Err()
}

// checkXComs refuses values over the size limit, naming the key.
func checkXComs(xs map[string]any) error {
	keys := make([]string, 0, len(xs))
	for k := range xs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b, err := json.Marshal(xs[k])
		if err != nil {
			return fmt.Errorf("XCom %s: %w", k, err)
		}
		if len(b) > metadb.MaxXComBytes {
			return fmt.Errorf("XCom %s: %w", k, metadb.ErrXComTooLarge)
		}
	}
	return nil
}
