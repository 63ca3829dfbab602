package monitor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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
func recordTask(ctx context.Context, pipe redis.Pipeliner, prefix string, e Event, max int64) {
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
	if e.Type == "task-received" {
		for _, k := range []string{workerIndexKey(prefix, e.Hostname), nameIndexKey(prefix, e.DagID+"."+e.TaskID)} {
			pipe.ZAddNX(ctx, k, redis.Z{Score: ts, Member: id})
			if max > 0 {
				pipe.ZRemRangeByRank(ctx, k, 0, -max-1)
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
	for _, z := range old {
		keys = append(keys, taskKey(prefix, z.Member.(string)))
	}
	return rdb.Del(ctx, keys...).Err()
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
// Without sortBy it reads the history newest first in batches and stops
// once the page is full, so a page costs a few round trips whatever the
// history's size.
func (r *Reader) Tasks(ctx context.Context, f TaskFilter, sortBy string, offset, limit int) ([]Task, error) {
	want := -1 // matches needed; -1: all (sorting or no limit)
	if sortBy == "" && limit > 0 {
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
	const batch = 500
	for start := int64(0); want < 0 || len(out) < want; start += batch {
		ids, err := r.rdb.ZRevRange(ctx, index, start, start+batch-1).Result()
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
				if t := decodeTask(m); f.match(t) {
					out = append(out, t)
				}
			}
		}
		if len(ids) < batch {
			break
		}
	}
	if sortBy != "" {
		desc := strings.HasPrefix(sortBy, "-")
		key := strings.TrimPrefix(sortBy, "-")
		sort.SliceStable(out, func(i, j int) bool {
			if desc {
				return lessValue(out[j][key], out[i][key])
			}
			return lessValue(out[i][key], out[j][key])
		})
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
