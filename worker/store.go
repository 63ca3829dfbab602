package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/common/connection"
	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/secrets"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
	"github.com/gust-sched/gust/scheduler"
)

// Store is what a try reads besides its task: variables, connections,
// XComs and the previous successful run. A worker's store is the metadata
// database; `gust dags test` uses a memory store. Both look first at the
// environment (AIRFLOW_VAR_<KEY>, AIRFLOW_CONN_<ID>), as Airflow's
// environment-variables secrets backend does.
type Store interface {
	Variables(ctx context.Context) (map[string]string, error)
	Connections(ctx context.Context) ([]*connection.Connection, error)
	// XCom returns the latest value under key pushed by taskID ("" = any
	// task) in the run runID of dagID.
	XCom(ctx context.Context, dagID, runID, taskID, key string) (any, bool, error)
	// XComAt is what instance mapIndex of taskID pushed under key.
	XComAt(ctx context.Context, dagID, runID, taskID, key string, mapIndex int) (any, bool, error)
	// PrevSuccess is the data interval of dagID's latest successful run
	// before the logical date.
	PrevSuccess(ctx context.Context, dagID string, before time.Time) (start, end *time.Time, err error)
	// ExternalState is the state of taskID ("" = the run itself) in dagID's
	// run at the logical date; found is false when there is no such run.
	ExternalState(ctx context.Context, dagID, taskID string, logical time.Time) (state string, found bool, err error)
	// ExternalGroupStates are the states of the tasks inside groupID (in
	// dagID's latest version) in dagID's run at the logical date; found is
	// false when there is no such run.
	ExternalGroupStates(ctx context.Context, dagID, groupID string, logical time.Time) (states []string, found bool, err error)
	// TriggeringEvents are the asset events an asset-triggered run
	// consumed, by asset URI, each as the API gives it.
	TriggeringEvents(ctx context.Context, run *metadb.DagRun) (map[string]any, error)
	// AssetEvents are the events of an asset (by URI) or of an alias,
	// oldest first, each as the API gives it (Airflow's inlet_events).
	AssetEvents(ctx context.Context, uri, alias string) ([]any, error)
	// DAGFile is a path to the DAG file of the version dagHash, for Python
	// tasks to import.
	DAGFile(ctx context.Context, dag *dagspec.DAG, dagHash string) (file, modules string, err error)
	// TriggerRun creates a manual run of another DAG (TriggerDagRunOperator);
	// a run of that id that exists already is cleared with reset, else left
	// as it is and reported with exists.
	TriggerRun(ctx context.Context, req TriggerRun) (runID string, logical time.Time, exists bool, err error)
	// RunState is the state of dagID's run runID; found is false when there
	// is no such run.
	RunState(ctx context.Context, dagID, runID string) (state string, found bool, err error)
}

// TriggerRun is a run a task triggers.
type TriggerRun struct {
	DagID, RunID string
	Conf         map[string]any
	LogicalDate  *time.Time
	Reset        bool
	TriggeredBy  string // the triggering task, dag_id.task_id
	// FailWhenPaused refuses to trigger a paused DAG (the operator's
	// fail_when_dag_is_paused).
	FailWhenPaused bool
}

// envVariables and envConnections read Airflow's environment backends.
func envVariables() map[string]string {
	out := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "AIRFLOW_VAR_") {
			out[strings.ToLower(strings.TrimPrefix(k, "AIRFLOW_VAR_"))] = v
		}
	}
	return out
}

func envConnections() ([]*connection.Connection, error) {
	var out []*connection.Connection
	for _, kv := range os.Environ() {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, "AIRFLOW_CONN_") {
			continue
		}
		c, err := connection.ParseURI(strings.ToLower(strings.TrimPrefix(k, "AIRFLOW_CONN_")), v)
		if err != nil {
			return nil, fmt.Errorf("environment variable %s: %w", k, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// DBStore reads the metadata database.
type DBStore struct {
	DB      *metadb.DB
	Keyring *secrets.Keyring
	// CacheDir is where DAG files stored with their versions are written
	// for Python tasks (workers need no DAG folder).
	CacheDir string
	// DefaultQueue is the queue of the tasks of a run a task triggers that
	// name none ([celery] default_queue).
	DefaultQueue string
}

// TriggerRun creates the run as `gust dags trigger` does, recording the
// triggering task as who triggered it.
func (s *DBStore) TriggerRun(ctx context.Context, req TriggerRun) (string, time.Time, bool, error) {
	if req.FailWhenPaused {
		var paused bool
		err := s.DB.Pool.QueryRow(ctx, `SELECT is_paused FROM dag WHERE dag_id = $1`, req.DagID).Scan(&paused)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return "", time.Time{}, false, fmt.Errorf("look up DAG %s: %w", req.DagID, err)
		}
		if paused {
			return "", time.Time{}, false, fmt.Errorf("DAG %s is paused (fail_when_dag_is_paused)", req.DagID)
		}
	}
	if req.RunID != "" {
		var logical time.Time
		err := s.DB.Pool.QueryRow(ctx, `SELECT logical_date FROM dag_run WHERE dag_id = $1 AND run_id = $2`, req.DagID, req.RunID).Scan(&logical)
		switch {
		case err == nil && !req.Reset:
			return req.RunID, logical, true, nil
		case err == nil:
			if _, err := scheduler.Clear(ctx, s.DB, scheduler.ClearRequest{DagID: req.DagID, RunID: req.RunID}); err != nil {
				return "", time.Time{}, false, fmt.Errorf("reset run %s of %s: %w", req.RunID, req.DagID, err)
			}
			return req.RunID, logical, false, nil
		case !errors.Is(err, pgx.ErrNoRows):
			return "", time.Time{}, false, fmt.Errorf("look up run %s of %s: %w", req.RunID, req.DagID, err)
		}
	}
	run, err := scheduler.Trigger(ctx, s.DB, scheduler.TriggerRequest{DagID: req.DagID, RunID: req.RunID, Conf: req.Conf,
		LogicalDate: req.LogicalDate, DefaultQueue: s.DefaultQueue, TriggeredBy: req.TriggeredBy})
	if errors.Is(err, metadb.ErrDuplicateRun) {
		return req.RunID, time.Time{}, true, nil
	}
	if err != nil {
		return "", time.Time{}, false, err
	}
	return run.RunID, run.LogicalDate, false, nil
}

// RunState reads a run's state.
func (s *DBStore) RunState(ctx context.Context, dagID, runID string) (string, bool, error) {
	var state string
	err := s.DB.Pool.QueryRow(ctx, `SELECT state FROM dag_run WHERE dag_id = $1 AND run_id = $2`, dagID, runID).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("state of run %s of %s: %w", runID, dagID, err)
	}
	return state, true, nil
}

// DAGFile writes the file stored with the DAG version (once, with the
// modules stored with it) and returns its path and the folder of those
// modules ("" when the version has none stored).
func (s *DBStore) DAGFile(ctx context.Context, dag *dagspec.DAG, dagHash string) (string, string, error) {
	return materialise(s.CacheDir, dagHash, dag.Fileloc, func() (metadb.DagVersionFiles, error) {
		return metadb.SerializedDAGFiles(ctx, s.DB.Pool, dagHash)
	})
}

// DAGFile is the DAG's own file: dags test reads the DAG folder.
func (m *MemStore) DAGFile(_ context.Context, dag *dagspec.DAG, _ string) (string, string, error) {
	return dag.Fileloc, "", nil
}

// Variables returns every variable; the environment wins over the database.
func (s *DBStore) Variables(ctx context.Context) (map[string]string, error) {
	vs, err := metadb.ListVariables(ctx, s.DB.Pool, s.Keyring)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, v := range vs {
		out[v.Key] = v.Val
	}
	for k, v := range envVariables() {
		out[k] = v
	}
	return out, nil
}

// Connections returns every connection; the environment wins.
func (s *DBStore) Connections(ctx context.Context) ([]*connection.Connection, error) {
	cs, err := metadb.ListConnections(ctx, s.DB.Pool, s.Keyring)
	if err != nil {
		return nil, err
	}
	env, err := envConnections()
	if err != nil {
		return nil, err
	}
	return mergeConnections(cs, env), nil
}

func mergeConnections(base, over []*connection.Connection) []*connection.Connection {
	byID := map[string]*connection.Connection{}
	for _, c := range base {
		byID[c.ConnID] = c
	}
	for _, c := range over {
		byID[c.ConnID] = c
	}
	out := make([]*connection.Connection, 0, len(byID))
	for _, c := range byID {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ConnID < out[j].ConnID })
	return out
}

// XCom reads one value: the newest of taskID's ("" is any task's) under
// key ("" is any key, Airflow's xcom_pull(key=None)); a mapped task's is
// the list of its instances' values, by map index.
func (s *DBStore) XCom(ctx context.Context, dagID, runID, taskID, key string) (any, bool, error) {
	var raw []byte
	err := s.DB.Pool.QueryRow(ctx, `SELECT value FROM xcom WHERE dag_id = $1 AND run_id = $2 AND ($3 = '' OR task_id = $3)
		AND ($4 = '' OR key = $4) AND map_index = -1 ORDER BY timestamp DESC LIMIT 1`, dagID, runID, taskID, key).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		if taskID != "" && key != "" {
			return metadb.MappingXCom(ctx, s.DB.Pool, dagID, runID, taskID, key)
		}
		return nil, false, nil
	}
	return decodeXCom(raw, err, fmt.Sprintf("%s of %s.%s", key, dagID, taskID))
}

// XComAt reads what one instance of a mapped task pushed under key.
func (s *DBStore) XComAt(ctx context.Context, dagID, runID, taskID, key string, mapIndex int) (any, bool, error) {
	var raw []byte
	err := s.DB.Pool.QueryRow(ctx, `SELECT value FROM xcom WHERE dag_id = $1 AND run_id = $2 AND task_id = $3
		AND key = $4 AND map_index = $5`, dagID, runID, taskID, key, mapIndex).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	return decodeXCom(raw, err, fmt.Sprintf("%s of %s.%s[%d]", key, dagID, taskID, mapIndex))
}

// decodeXCom is a pulled XCom's value, or the query's error, naming what.
func decodeXCom(raw []byte, err error, what string) (any, bool, error) {
	if err != nil {
		return nil, false, fmt.Errorf("pull xcom %s: %w", what, err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, false, fmt.Errorf("pull xcom %s: %w", what, err)
	}
	return v, true, nil
}

// PrevSuccess reads the previous successful run's interval.
func (s *DBStore) PrevSuccess(ctx context.Context, dagID string, before time.Time) (*time.Time, *time.Time, error) {
	var start, end *time.Time
	err := s.DB.Pool.QueryRow(ctx, `SELECT data_interval_start, data_interval_end FROM dag_run
		WHERE dag_id = $1 AND logical_date < $2 AND state = 'success' ORDER BY logical_date DESC LIMIT 1`, dagID, before).Scan(&start, &end)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("previous successful run of %s: %w", dagID, err)
	}
	return start, end, nil
}

// ExternalState reads another DAG's run or task state.
func (s *DBStore) ExternalState(ctx context.Context, dagID, taskID string, logical time.Time) (string, bool, error) {
	var state string
	var err error
	if taskID == "" {
		err = s.DB.Pool.QueryRow(ctx, `SELECT state FROM dag_run WHERE dag_id = $1 AND logical_date = $2`, dagID, logical).Scan(&state)
	} else {
		err = s.DB.Pool.QueryRow(ctx, `SELECT coalesce(ti.state, '') FROM task_instance ti JOIN dag_run dr USING (dag_id, run_id)
			WHERE dr.dag_id = $1 AND dr.logical_date = $2 AND ti.task_id = $3 AND ti.map_index = -1`, dagID, logical, taskID).Scan(&state)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("state of %s.%s: %w", dagID, taskID, err)
	}
	return state, true, nil
}

// ExternalGroupStates reads the states of another DAG's group's tasks: a
// task with no instance in the run counts as no state.
func (s *DBStore) ExternalGroupStates(ctx context.Context, dagID, groupID string, logical time.Time) ([]string, bool, error) {
	row, err := metadb.GetDAG(ctx, s.DB.Pool, dagID)
	if errors.Is(err, metadb.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("group %s of %s: %w", groupID, dagID, err)
	}
	data, err := metadb.LoadSerializedDAG(ctx, s.DB.Pool, row.DagHash)
	if err != nil {
		return nil, false, fmt.Errorf("group %s of %s: %w", groupID, dagID, err)
	}
	dag, err := dagspec.Deserialize(data)
	if err != nil {
		return nil, false, fmt.Errorf("group %s of %s: %w", groupID, dagID, err)
	}
	if dag.Group(groupID) == nil {
		return nil, false, fmt.Errorf("the DAG %s has no task group %s", dagID, groupID)
	}
	var ids []string
	for _, t := range dag.Tasks {
		if dag.InGroup(t, groupID) {
			ids = append(ids, t.TaskID)
		}
	}
	var runID string
	err = s.DB.Pool.QueryRow(ctx, `SELECT run_id FROM dag_run WHERE dag_id = $1 AND logical_date = $2`, dagID, logical).Scan(&runID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("group %s of %s: %w", groupID, dagID, err)
	}
	rows, err := s.DB.Pool.Query(ctx, `SELECT task_id, coalesce(state, '') FROM task_instance
		WHERE dag_id = $1 AND run_id = $2 AND task_id = ANY($3)`, dagID, runID, ids)
	if err != nil {
		return nil, false, fmt.Errorf("group %s of %s: %w", groupID, dagID, err)
	}
	byTask := map[string][]string{}
	var task, state string
	if _, err := pgx.ForEachRow(rows, []any{&task, &state}, func() error {
		byTask[task] = append(byTask[task], state)
		return nil
	}); err != nil {
		return nil, false, fmt.Errorf("group %s of %s: %w", groupID, dagID, err)
	}
	states := make([]string, 0, len(ids))
	for _, id := range ids {
		if ss, ok := byTask[id]; ok {
			states = append(states, ss...)
		} else {
			states = append(states, "")
		}
	}
	return states, true, nil
}

// MemStore is a store without a database: the environment's variables and
// connections, and XComs kept in memory (`gust dags test`).
type MemStore struct {
	mu     sync.Mutex
	xcoms  map[string]any         // dag run task key
	mapped map[string]map[int]any // dag run task key -> a mapped task's values by map index
	events []memEvent             // the asset events of the run's tries
}

// memEvent is an asset event a try run in memory recorded.
type memEvent struct {
	*metadb.AssetEventRow
	aliases []string
}

// RecordEvents keeps a successful try's asset events (for the
// inlet_events of later tasks of the run).
func (m *MemStore) RecordEvents(k metadb.TIKey, events []metadb.OutletEvent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ev := range events {
		dag, task, run := k.DagID, k.TaskID, k.RunID
		row := &metadb.AssetEventRow{ID: int64(len(m.events) + 1), URI: ev.Asset.URI, Name: ev.Asset.Name, Group: ev.Asset.Group,
			Extra: ev.Extra, SourceDagID: &dag, SourceTaskID: &task, SourceRunID: &run, SourceMapIndex: k.MapIndex, Timestamp: time.Now()}
		var aliases []string
		for _, al := range ev.Aliases {
			aliases = append(aliases, al.Name)
		}
		m.events = append(m.events, memEvent{row, aliases})
	}
}

// NewMemStore returns an empty memory store.
func NewMemStore() *MemStore {
	return &MemStore{xcoms: map[string]any{}, mapped: map[string]map[int]any{}}
}

// Variables returns the environment's variables.
func (m *MemStore) Variables(context.Context) (map[string]string, error) { return envVariables(), nil }

// Connections returns the environment's connections.
func (m *MemStore) Connections(context.Context) ([]*connection.Connection, error) {
	return envConnections()
}

// Push records an XCom of a task instance (mapIndex -1: not mapped).
func (m *MemStore) Push(dagID, runID, taskID string, mapIndex int, key string, v any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := dagID + " " + runID + " " + taskID + " " + key
	if mapIndex < 0 {
		m.xcoms[k] = v
		return
	}
	if m.mapped[k] == nil {
		m.mapped[k] = map[int]any{}
	}
	m.mapped[k][mapIndex] = v
}

// XComAt is what instance mapIndex of taskID pushed under key.
func (m *MemStore) XComAt(_ context.Context, dagID, runID, taskID, key string, mapIndex int) (any, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.mapped[dagID+" "+runID+" "+taskID+" "+key][mapIndex]
	return v, ok, nil
}

// XCom reads one value: taskID's ("" is any task's) under key ("" is any
// key).
func (m *MemStore) XCom(_ context.Context, dagID, runID, taskID, key string) (any, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if taskID != "" && key != "" {
		k := dagID + " " + runID + " " + taskID + " " + key
		if v, ok := m.xcoms[k]; ok {
			return v, true, nil
		}
		byIndex := m.mapped[k]
		if len(byIndex) == 0 {
			return nil, false, nil
		}
		idx := slices.Sorted(maps.Keys(byIndex))
		list := make([]any, len(idx))
		for i, n := range idx {
			list[i] = byIndex[n]
		}
		return list, true, nil
	}
	prefix := dagID + " " + runID + " "
	if taskID != "" {
		prefix += taskID + " "
	}
	for k, v := range m.xcoms {
		if strings.HasPrefix(k, prefix) && (key == "" || strings.HasSuffix(k, " "+key)) {
			return v, true, nil
		}
	}
	return nil, false, nil
}

// PrevSuccess knows no previous run.
func (m *MemStore) PrevSuccess(context.Context, string, time.Time) (*time.Time, *time.Time, error) {
	return nil, nil, nil
}

// errNoDatabase is what a task that needs the database gets in dags test.
var errNoDatabase = errors.New("gust dags test runs without a database: it cannot trigger or watch other DAGs' runs")

// TriggerRun cannot trigger: there are no other DAGs' runs.
func (m *MemStore) TriggerRun(context.Context, TriggerRun) (string, time.Time, bool, error) {
	return "", time.Time{}, false, errNoDatabase
}

// RunState knows no other DAG's runs.
func (m *MemStore) RunState(context.Context, string, string) (string, bool, error) {
	return "", false, errNoDatabase
}

// ExternalGroupStates knows no other DAG's runs.
func (m *MemStore) ExternalGroupStates(context.Context, string, string, time.Time) ([]string, bool, error) {
	return nil, false, nil
}

// ExternalState knows no other DAG's runs.
func (m *MemStore) ExternalState(context.Context, string, string, time.Time) (string, bool, error) {
	return "", false, nil
}

// TriggeringEvents reads the asset events an asset-triggered run consumed.
func (s *DBStore) TriggeringEvents(ctx context.Context, run *metadb.DagRun) (map[string]any, error) {
	return triggeringEvents(ctx, s.DB.Pool, run)
}

// TriggeringEvents: a run in memory consumed none.
func (m *MemStore) TriggeringEvents(context.Context, *metadb.DagRun) (map[string]any, error) {
	return nil, nil
}

// AssetEvents reads an asset's or alias's events (inlet_events).
func (s *DBStore) AssetEvents(ctx context.Context, uri, alias string) ([]any, error) {
	rows, _, err := metadb.ListAssetEventsPage(ctx, s.DB.Pool, metadb.AssetEventFilter{URI: uri, AliasName: alias},
		metadb.Page{Limit: maxInletEvents, OrderBy: []string{"timestamp", "id"}})
	if err != nil {
		return nil, fmt.Errorf("events of asset %s%s: %w", uri, alias, err)
	}
	out := make([]any, len(rows))
	for i, e := range rows {
		out[i] = eventJSON(e)
	}
	return out, nil
}

// maxInletEvents bounds the events inlet_events reads of one asset.
const maxInletEvents = 100000

// AssetEvents: a memory store has the events its run recorded.
func (m *MemStore) AssetEvents(_ context.Context, uri, alias string) ([]any, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []any
	for _, e := range m.events {
		if (uri != "" && e.URI == uri) || (alias != "" && slices.Contains(e.aliases, alias)) {
			out = append(out, eventJSON(e.AssetEventRow))
		}
	}
	return out, nil
}

func triggeringEvents(ctx context.Context, q metadb.DBTX, run *metadb.DagRun) (map[string]any, error) {
	if run.RunType != tistate.RunTypeAssetTriggered {
		return nil, nil
	}
	rows, _, err := metadb.ListAssetEventsPage(ctx, q, metadb.AssetEventFilter{ConsumedBy: &run.ID}, metadb.Page{Limit: 10000, OrderBy: []string{"timestamp"}})
	if err != nil {
		return nil, fmt.Errorf("triggering asset events of %s/%s: %w", run.DagID, run.RunID, err)
	}
	out := map[string]any{}
	for _, e := range rows {
		list, _ := out[e.URI].([]any)
		out[e.URI] = append(list, eventJSON(e))
	}
	return out, nil
}

// eventJSON is an asset event as Python tasks and templates read it.
func eventJSON(e *metadb.AssetEventRow) map[string]any {
	extra := e.Extra
	if extra == nil {
		extra = map[string]any{}
	}
	return map[string]any{"id": e.ID, "asset_id": e.AssetID, "uri": e.URI, "name": e.Name, "group": e.Group, "extra": extra,
		"source_dag_id": deref(e.SourceDagID), "source_task_id": deref(e.SourceTaskID), "source_run_id": deref(e.SourceRunID),
		"source_map_index": e.SourceMapIndex, "timestamp": e.Timestamp.UTC().Format(time.RFC3339Nano)}
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}
