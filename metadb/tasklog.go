package metadb

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Task logs (table task_log, migration 006). A worker ships each try's log
// in chunks that ride its existing statements: HeartbeatTIs carries what
// the running tries wrote since the last heartbeat, Finish the rest of a
// try along with its result, and AppendTaskLog what a callback wrote after
// the result. The chunks of a try are:
//
//   - head chunks (Seq >= 1), appended in order, up to half of
//     [logging] max_log_size;
//   - the tail (Seq = LogTailSeq), one row rewritten with the last bytes of
//     the log once the head is full; what lies between the head's end and
//     the tail's Pos was left out;
//   - the callback mark (Seq = LogCallbackSeq, no content): text follows the
//     try's result, until AppendTaskLog ends the log.
//
// Pos is the offset in bytes of a chunk in the try's whole (masked) log:
// readers continue from a position, and see what was left out.

// Sequence numbers of a try's special log rows.
const (
	LogTailSeq     = 0
	LogCallbackSeq = -1
)

// LogCallbackGrace is how long after its try ended a log whose callback
// mark is still there is considered complete anyway (its worker died
// during the callback): longer than a callback may run.
const LogCallbackGrace = 6 * time.Minute

// LogChunk is one row of a try's log.
type LogChunk struct {
	Try     TryKey
	Seq     int
	Pos     int64
	Content string
}

// End is the offset just past the chunk.
func (c LogChunk) End() int64 { return c.Pos + int64(len(c.Content)) }

// logInsertCTE is a data-modifying CTE named logs that stores chunks given
// as eight arrays from parameter $first on (see logArgs): head chunks and
// the callback mark are inserted once (a re-sent chunk is a no-op), the
// tail replaces an older tail. Chunks of runs that no longer exist are
// dropped, so a deleted run never fails the statement that carries them.
func logInsertCTE(first int) string {
	p := func(i int) string { return "$" + strconv.Itoa(first+i) }
	return `logs AS (
		INSERT INTO task_log (dag_id, run_id, task_id, map_index, try_number, seq, pos, content)
		SELECT c.dag_id, c.run_id, c.task_id, c.map_index, c.try, c.seq, c.pos, c.content
		FROM unnest(` + p(0) + `::text[], ` + p(1) + `::text[], ` + p(2) + `::text[], ` + p(3) + `::int[], ` + p(4) + `::int[], ` +
		p(5) + `::int[], ` + p(6) + `::bigint[], ` + p(7) + `::text[])
			AS c(dag_id, run_id, task_id, map_index, try, seq, pos, content)
		WHERE EXISTS (SELECT 1 FROM dag_run r WHERE r.dag_id = c.dag_id AND r.run_id = c.run_id)
		ON CONFLICT (dag_id, run_id, task_id, map_index, try_number, seq) DO UPDATE
			SET pos = excluded.pos, content = excluded.content, written_at = now()
			WHERE task_log.seq = 0
				AND task_log.pos + octet_length(task_log.content) <= excluded.pos + octet_length(excluded.content)
		RETURNING 1)`
}

// logArgs returns the eight arrays of logInsertCTE.
func logArgs(chunks []LogChunk) []any {
	n := len(chunks)
	dags, runs, tasks := make([]string, n), make([]string, n), make([]string, n)
	idx, tries, seqs := make([]int32, n), make([]int32, n), make([]int32, n)
	pos, content := make([]int64, n), make([]string, n)
	for i, c := range chunks {
		dags[i], runs[i], tasks[i], idx[i] = c.Try.DagID, c.Try.RunID, c.Try.TaskID, int32(c.Try.MapIndex)
		tries[i], seqs[i], pos[i], content[i] = int32(c.Try.TryNumber), int32(c.Seq), c.Pos, c.Content
	}
	return []any{dags, runs, tasks, idx, tries, seqs, pos, content}
}

// AppendTaskLog stores chunks in one statement, and removes the callback
// mark of the tries in ended (their logs are complete).
func AppendTaskLog(ctx context.Context, q DBTX, chunks []LogChunk, ended []TryKey) error {
	if len(chunks) == 0 && len(ended) == 0 {
		return nil
	}
	keys := make([]TIKey, len(ended))
	nums := make([]int32, len(ended))
	for i, t := range ended {
		keys[i], nums[i] = t.TIKey, int32(t.TryNumber)
	}
	dags, runs, tasks, idx := keyArrays(keys)
	args := append([]any{dags, runs, tasks, idx, nums}, logArgs(chunks)...)
	_, err := q.Exec(ctx, `WITH `+logInsertCTE(6)+`
		DELETE FROM task_log l
		USING unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[]) AS k(dag_id, run_id, task_id, map_index, try)
		WHERE l.dag_id = k.dag_id AND l.run_id = k.run_id AND l.task_id = k.task_id AND l.map_index = k.map_index
			AND l.try_number = k.try AND l.seq = -1`, args...)
	if err != nil {
		return fmt.Errorf("append task logs: %w", err)
	}
	return nil
}

// LogResume is where a try's stored log ends: a sensor rescheduled with the
// same try appends to it.
type LogResume struct {
	End      int64 // offset past the last stored byte
	NextSeq  int   // the next head chunk's seq
	HeadSize int64 // bytes in head chunks
	HasTail  bool
}

// logResumeColumns are Claim's extra RETURNING columns, in LogResume's
// order: each is an aggregate over the try's few log rows.
var logResumeColumns = func() string {
	of := func(agg string) string {
		return `(SELECT ` + agg + ` FROM task_log l WHERE l.dag_id = task_instance.dag_id AND l.run_id = task_instance.run_id
			AND l.task_id = task_instance.task_id AND l.map_index = task_instance.map_index AND l.try_number = task_instance.try_number)`
	}
	return strings.Join([]string{
		of(`coalesce(max(l.pos + octet_length(l.content)) FILTER (WHERE l.seq >= 0), 0)`),
		of(`coalesce(max(l.seq), 0) + 1`),
		of(`coalesce(sum(octet_length(l.content)) FILTER (WHERE l.seq > 0), 0)::bigint`),
		of(`count(*) FILTER (WHERE l.seq = 0) > 0`),
	}, ", ")
}()

// LogPage is a piece of a try's log read from a position.
type LogPage struct {
	// Text is the log from the position asked for, with a line saying how
	// many bytes were left out where max_log_size cut it. While the try
	// runs, it ends at the end of a line.
	Text string
	// Next is the position to read on from.
	Next int64
	// Ended: the try is over and Text reaches the end of its log.
	Ended bool
}

// LogLeftOut is the line that stands for the bytes max_log_size left out.
func LogLeftOut(n int64) string {
	return fmt.Sprintf("... %d bytes left out (max_log_size) ...", n)
}

// ErrNoSuchTry is returned for a try number that the task instance has not
// reached (or 0).
var ErrNoSuchTry = errors.New("no such try")

// tryRunning lists the states in which a task instance's current try may
// still write to its log.
var tryRunning = map[string]bool{"scheduled": true, "queued": true, "running": true, "up_for_reschedule": true, "deferred": true}

// ReadTaskLog reads a try's log from byte position from, at most about
// max bytes (0: all). It returns ErrNotFound when the task instance does
// not exist, ErrNoSuchTry when it has no such try.
func ReadTaskLog(ctx context.Context, q DBTX, t TryKey, from int64, max int) (*LogPage, error) {
	// The try's state first: a try seen over has its whole log stored
	// (the result and the last chunk are written by one statement).
	var state string
	var current int
	var endedLongAgo bool
	err := q.QueryRow(ctx, `SELECT coalesce(state, ''), try_number, coalesce(end_date < now() - $5::interval, true)
		FROM task_instance WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4`,
		t.DagID, t.RunID, t.TaskID, t.MapIndex, LogCallbackGrace).Scan(&state, &current, &endedLongAgo)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("task instance %s: %w", t.TIKey, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read log of %s try %d: %w", t.TIKey, t.TryNumber, err)
	}
	if t.TryNumber < 1 || t.TryNumber > current {
		return nil, fmt.Errorf("task instance %s try %d (latest %d): %w", t.TIKey, t.TryNumber, current, ErrNoSuchTry)
	}
	if from < 0 {
		from = 0
	}
	limit := int64(max)
	if max <= 0 {
		limit = -1
	}
	// Whole chunks are read until max bytes are reached; n counts the
	// chunks from the position, to tell whether some were left for later.
	rows, err := q.Query(ctx, `SELECT seq, pos, content, n FROM (
			SELECT seq, pos, content, count(*) OVER () AS n,
				sum(octet_length(content)) OVER (ORDER BY pos, seq DESC) - octet_length(content) AS before
			FROM task_log WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4 AND try_number = $5
				AND (seq < 0 OR pos + octet_length(content) > $6)) l
		WHERE $7 < 0 OR before < $7 OR seq < 0
		ORDER BY pos, seq DESC`, t.DagID, t.RunID, t.TaskID, t.MapIndex, t.TryNumber, from, limit)
	if err != nil {
		return nil, fmt.Errorf("read log of %s try %d: %w", t.TIKey, t.TryNumber, err)
	}
	var chunks []LogChunk
	var callback bool
	var read, all int64
	err = func() error {
		defer rows.Close()
		for rows.Next() {
			c := LogChunk{Try: t}
			if err := rows.Scan(&c.Seq, &c.Pos, &c.Content, &all); err != nil {
				return err
			}
			read++
			if c.Seq < 0 {
				callback = true
				continue
			}
			chunks = append(chunks, c)
		}
		return rows.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("read log of %s try %d: %w", t.TIKey, t.TryNumber, err)
	}
	capped := read < all
	over := t.TryNumber < current || (!tryRunning[state] && (!callback || endedLongAgo))
	// A running try's last line may still grow: it waits for its end.
	page := assembleLog(chunks, from, !over && !capped)
	page.Ended = over && !capped
	return page, nil
}

// assembleLog joins chunks (by position) into the text from position from.
// holdPartial keeps a last line without its newline for a later read.
func assembleLog(chunks []LogChunk, from int64, holdPartial bool) *LogPage {
	var b strings.Builder
	cur := from
	lastLineEnd, lastLineNext := 0, from
	for _, c := range chunks {
		if c.End() <= cur {
			continue
		}
		if c.Pos > cur {
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
				b.WriteByte('\n')
			}
			b.WriteString(LogLeftOut(c.Pos - cur))
			b.WriteByte('\n')
			cur = c.Pos
			// What precedes the mark will not grow: its line is whole.
			lastLineEnd, lastLineNext = b.Len(), cur
		}
		text := c.Content[cur-c.Pos:]
		if i := strings.LastIndexByte(text, '\n'); i >= 0 {
			lastLineEnd, lastLineNext = b.Len()+i+1, cur+int64(i)+1
		}
		b.WriteString(text)
		cur = c.End()
	}
	if !holdPartial {
		return &LogPage{Text: b.String(), Next: cur}
	}
	return &LogPage{Text: b.String()[:lastLineEnd], Next: lastLineNext}
}

// LatestTry returns a task instance's current try number (0: never tried).
func LatestTry(ctx context.Context, q DBTX, k TIKey) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT try_number FROM task_instance WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4`,
		k.DagID, k.RunID, k.TaskID, k.MapIndex).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("task instance %s: %w", k, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("get task instance %s: %w", k, err)
	}
	return n, nil
}
