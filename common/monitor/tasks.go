package monitor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The task history: one hash per try (its states' times, worker, runtime)
// and an index of tries by the time they were first seen, both in Redis and
// bounded by [flower] max_tasks, so that a restarted flower (or a second
// one) shows the same history. Workers write it with their events.

func taskKey(prefix, id string) string  { return prefix + "task:" + id }
func taskIndexKey(prefix string) string { return prefix + "tasks" }

// Per-worker and per-task-name indexes let a filtered page read only the
// tries it can show; each is bounded like the history.
func workerIndexKey(prefix, worker string) string { return prefix + "tasks:worker:" + worker }
func nameIndexKey(prefix, name string) string     { return prefix + "tasks:name:" + name }

// sortIndexKey is the index of the tries by one of the sortFields.
func sortIndexKey(prefix, field string) string { return prefix + "tasks:by:" + field }

// taskNamesKey is the set of task names (Flower's task types).
func taskNamesKey(prefix string) string { return prefix + "tasks:names" }

// sortFields are the fields with an index of their own, so that a page
// sorted by one of them reads that page only ("received" is the history's
// own index).
var sortFields = []string{"started", "timestamp", "runtime", "wait"}

// taskRetention is a backstop: a try's hash expires even if the index trim
// that removes it never runs.
const taskRetention = 7 * 24 * time.Hour

// TryID is the stable id of one try (Flower's task uuid): a UUID-shaped
// hash of its DAG, run, task, map index and try number.
func TryID(dagID, runID, taskID string, mapIndex, try int) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{dagID, runID, taskID, strconv.Itoa(mapIndex), strconv.Itoa(try)}, "\x00")))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// eventState maps an event to Celery's task state name, as Flower shows it.
var eventState = map[string]string{
	"task-received": "RECEIVED", "task-started": "STARTED", "task-succeeded": "SUCCESS",
	"task-failed": "FAILURE", "task-retried": "RETRY", "task-rejected": "REJECTED", "task-rescheduled": "RESCHEDULED",
}

// recordTask adds one event's facts to its try's hash and the indexes
// (max bounds the per-worker and per-name ones; 0: unbounded).
func recordTask(ctx context.Context, pipe redis.Pipeliner, prefix string, e Event, maxTasks int64) {
	state, ok := eventState[e.Type]
	if !ok || e.TaskID == "" {
		return
	}
	id := TryID(e.DagID, e.RunID, e.TaskID, e.MapIndex, e.TryNumber)
	ts := float64(e.Time.UnixNano()) / 1e9
	key := taskKey(prefix, id)
	fields := []any{"uuid", id, "name", e.DagID + "." + e.TaskID, "dag_id", e.DagID, "run_id", e.RunID,
		"task_id", e.TaskID, "map_index", e.MapIndex, "try_number", e.TryNumber, "worker", e.Hostname,
		"state", state, "timestamp", ts, strings.TrimPrefix(e.Type, "task-"), ts}
	if e.Runtime > 0 {
		fields = append(fields, "runtime", e.Runtime)
	}
	if !e.Queued.IsZero() {
		fields = append(fields, "queued", float64(e.Queued.UnixNano())/1e9)
	}
	if e.Reason != "" {
		fields = append(fields, "exception", e.Reason)
	}
	pipe.HSet(ctx, key, fields...)
	pipe.Expire(ctx, key, taskRetention)
	pipe.ZAddNX(ctx, taskIndexKey(prefix), redis.Z{Score: ts, Member: id})
	pipe.ZAdd(ctx, sortIndexKey(prefix, "timestamp"), redis.Z{Score: ts, Member: id})
	if e.Runtime > 0 {
		pipe.ZAdd(ctx, sortIndexKey(prefix, "runtime"), redis.Z{Score: e.Runtime, Member: id})
	}
	if e.Type == "task-started" {
		pipe.ZAdd(ctx, sortIndexKey(prefix, "started"), redis.Z{Score: ts, Member: id})
		if !e.Queued.IsZero() {
			pipe.ZAdd(ctx, sortIndexKey(prefix, "wait"), redis.Z{Score: max(e.Time.Sub(e.Queued).Seconds(), 0), Member: id})
		}
	}
	if e.Type == "task-received" {
		pipe.SAdd(ctx, taskNamesKey(prefix), e.DagID+"."+e.TaskID)
		for _, k := range []string{workerIndexKey(prefix, e.Hostname), nameIndexKey(prefix, e.DagID+"."+e.TaskID)} {
			pipe.ZAddNX(ctx, k, redis.Z{Score: ts, Member: id})
			if maxTasks > 0 {
				pipe.ZRemRangeByRank(ctx, k, 0, -maxTasks-1)
			}
		}
	}
}

// trimTasks keeps the newest max tries of the history.
func trimTasks(ctx context.Context, rdb *redis.Client, prefix string, max int64) error {
	n, err := rdb.ZCard(ctx, taskIndexKey(prefix)).Result()
	if err != nil || n <= max {
		return err
	}
	old, err := rdb.ZPopMin(ctx, taskIndexKey(prefix), n-max).Result()
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(old))
	ids := make([]any, 0, len(old))
	for _, z := range old {
		keys = append(keys, taskKey(prefix, z.Member.(string)))
		ids = append(ids, z.Member)
	}
	pipe := rdb.Pipeline()
	pipe.Del(ctx, keys...)
	for _, f := range sortFields {
		pipe.ZRem(ctx, sortIndexKey(prefix, f), ids...)
	}
	_, err = pipe.Exec(ctx)
	return err
}

// Task is one try as the history holds it, in Flower's field names
// (times are Unix seconds) plus gust's key fields.
type Task map[string]any

// TaskFilter selects tries; zero fields match everything.
type TaskFilter struct {
	Worker, Name, State, Search string
	DagID                       string // gust's: the tries of one DAG
	ReceivedStart, ReceivedEnd  *time.Time
}

func (f TaskFilter) match(t Task) bool {
	str := func(k string) string { s, _ := t[k].(string); return s }
	switch {
	case f.Worker != "" && str("worker") != f.Worker,
		f.Name != "" && str("name") != f.Name,
		f.DagID != "" && str("dag_id") != f.DagID,
		f.State != "" && !strings.EqualFold(str("state"), f.State):
		return false
	}
	if recv, ok := t["received"].(float64); ok {
		if f.ReceivedStart != nil && recv < float64(f.ReceivedStart.Unix()) {
			return false
		}
		if f.ReceivedEnd != nil && recv > float64(f.ReceivedEnd.Unix()) {
			return false
		}
	}
	if f.Search != "" {
		found := false
		for _, k := range []string{"uuid", "name", "dag_id", "run_id", "task_id", "worker", "state", "exception"} {
			found = found || strings.Contains(strings.ToLower(str(k)), strings.ToLower(f.Search))
		}
		return found
	}
	return true
}

// Tasks returns the matching tries, newest first, sorted by sortBy (a
// field name, "-" first for descending) when given, and a page of them.
// Unsorted, or sorted by received, started, timestamp, runtime or wait
// (each has an index), it reads the index in order in batches and stops
// once the page is full, so a page costs a few round trips whatever the
// history's size; tries without the field follow the others. Sorted by
// another field, it reads every matching try.
func (r *Reader) Tasks(ctx context.Context, f TaskFilter, sortBy string, offset, limit int) ([]Task, error) {
	desc := strings.HasPrefix(sortBy, "-")
	key := strings.TrimPrefix(sortBy, "-")
	want := -1 // matches needed; -1: all
	if limit > 0 {
		want = offset + limit
	}
	index := taskIndexKey(r.prefix)
	switch {
	case f.Worker != "":
		index = workerIndexKey(r.prefix, f.Worker)
	case f.Name != "":
		index = nameIndexKey(r.prefix, f.Name)
	}
	var out []Task
	var err error
	switch {
	case key == "" || (key == "received" && index == taskIndexKey(r.prefix)):
		out, err = r.scan(ctx, index, key == "" || desc, want, f.match)
	case slices.Contains(sortFields, key) || key == "received":
		sorted := taskIndexKey(r.prefix)
		if key != "received" {
			sorted = sortIndexKey(r.prefix, key)
		}
		if out, err = r.scan(ctx, sorted, desc, want, f.match); err != nil {
			break
		}
		if want < 0 || len(out) < want {
			var rest []Task
			rest, err = r.scan(ctx, index, true, want-len(out), func(t Task) bool { return t[key] == nil && f.match(t) })
			out = append(out, rest...)
		}
	default:
		if out, err = r.scan(ctx, index, true, -1, f.match); err != nil {
			break
		}
		sort.SliceStable(out, func(i, j int) bool {
			if desc {
				return lessValue(out[j][key], out[i][key])
			}
			return lessValue(out[i][key], out[j][key])
		})
	}
	if err != nil {
		return nil, err
	}
	if offset > len(out) {
		offset = len(out)
	}
	out = out[offset:]
	if limit > 0 && limit < len(out) {
		out = out[:limit]
	}
	return out, nil
}

// scan reads the tries of a sorted-set index in its order (descending
// when desc) in batches, keeping those that match, until it has want of
// them (want < 0: all).
func (r *Reader) scan(ctx context.Context, index string, desc bool, want int, match func(Task) bool) ([]Task, error) {
	var out []Task
	const batch = 500
	for start := int64(0); want < 0 || len(out) < want; start += batch {
		var ids []string
		var err error
		if desc {
			ids, err = r.rdb.ZRevRange(ctx, index, start, start+batch-1).Result()
		} else {
			ids, err = r.rdb.ZRange(ctx, index, start, start+batch-1).Result()
		}
		if err != nil {
			return nil, fmt.Errorf("read the task history: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		pipe := r.rdb.Pipeline()
		cmds := make([]*redis.MapStringStringCmd, len(ids))
		for j, id := range ids {
			cmds[j] = pipe.HGetAll(ctx, taskKey(r.prefix, id))
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("read the task history: %w", err)
		}
		for _, c := range cmds {
			if m := c.Val(); len(m) > 0 {
				if t := decodeTask(m); match(t) {
					out = append(out, t)
				}
			}
		}
		if len(ids) < batch {
			break
		}
	}
	return out, nil
}

// TaskTypes returns the task names of the history, sorted.
func (r *Reader) TaskTypes(ctx context.Context) ([]string, error) {
	names, err := r.rdb.SMembers(ctx, taskNamesKey(r.prefix)).Result()
	if err != nil {
		return nil, fmt.Errorf("read the task types: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

// Task returns one try by id, or nil.
func (r *Reader) Task(ctx context.Context, id string) (Task, error) {
	m, err := r.rdb.HGetAll(ctx, taskKey(r.prefix, id)).Result()
	if err != nil {
		return nil, fmt.Errorf("read task %s: %w", id, err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return decodeTask(m), nil
}

func lessValue(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && x < y || !ok
	case string:
		y, _ := b.(string)
		return x < y
	}
	return false
}

var numericTaskFields = map[string]bool{"received": true, "started": true, "succeeded": true, "failed": true,
	"retried": true, "rejected": true, "rescheduled": true, "timestamp": true, "runtime": true, "queued": true}

func decodeTask(m map[string]string) Task {
	t := Task{}
	for k, v := range m {
		switch {
		case numericTaskFields[k]:
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				t[k] = f
			}
		case k == "map_index" || k == "try_number":
			if n, err := strconv.Atoi(v); err == nil {
				t[k] = n
			}
		default:
			t[k] = v
		}
	}
	// wait: from queued by the scheduler to started on a worker (what
	// Flower lacks; its prefetch time is received -> started).
	if q, ok := t["queued"].(float64); ok {
		if st, ok := t["started"].(float64); ok && st >= q {
			t["wait"] = st - q
		}
	}
	return t
}
