package metadb

import (
	"context"
	"fmt"
	"time"
)

// Job is one row of job: a scheduler (SchedulerJob) or worker process.
type Job struct {
	ID              int64      `json:"id"`
	JobType         string     `json:"job_type"`
	State           string     `json:"state"`
	Hostname        string     `json:"hostname"`
	PID             int        `json:"pid"`
	StartDate       time.Time  `json:"start_date"`
	EndDate         *time.Time `json:"end_date"`
	LatestHeartbeat time.Time  `json:"latest_heartbeat"`
}

// RegisterJob records a new running job and returns its id.
func RegisterJob(ctx context.Context, q DBTX, jobType, hostname string, pid int) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO job (job_type, state, hostname, pid) VALUES ($1, 'running', $2, $3) RETURNING id`,
		jobType, hostname, pid).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("register %s job: %w", jobType, err)
	}
	return id, nil
}

// HeartbeatJob refreshes a job's heartbeat.
func HeartbeatJob(ctx context.Context, q DBTX, id int64) error {
	if _, err := q.Exec(ctx, `UPDATE job SET latest_heartbeat = now() WHERE id = $1`, id); err != nil {
		return fmt.Errorf("heartbeat job %d: %w", id, err)
	}
	return nil
}

// EndJob marks a job finished.
func EndJob(ctx context.Context, q DBTX, id int64) error {
	if _, err := q.Exec(ctx, `UPDATE job SET state = 'success', end_date = now() WHERE id = $1`, id); err != nil {
		return fmt.Errorf("end job %d: %w", id, err)
	}
	return nil
}

// JobFilter selects jobs; empty fields match everything.
type JobFilter struct {
	Type     string
	Hostname string // the job's hostname exactly
	Machine  string // the machine's hostname: the job's hostname, or a worker name ending in "@" + Machine
}

// ListJobs returns the latest jobs that match f, newest heartbeat first;
// aliveWithin > 0 keeps only running jobs that heartbeat within it.
func ListJobs(ctx context.Context, q DBTX, f JobFilter, aliveWithin time.Duration, limit int) ([]Job, error) {
	rows, err := q.Query(ctx, `SELECT id, job_type, state, hostname, pid, start_date, end_date, latest_heartbeat FROM job
		WHERE ($1 = '' OR job_type = $1) AND ($2 = '' OR hostname = $2)
			AND ($5 = '' OR hostname = $5 OR right(hostname, length($5) + 1) = '@' || $5)
			AND ($3::interval = '0' OR (state = 'running' AND latest_heartbeat > now() - $3::interval))
		ORDER BY latest_heartbeat DESC LIMIT $4`, f.Type, f.Hostname, aliveWithin, limit, f.Machine)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		var j Job
		if err := rows.Scan(&j.ID, &j.JobType, &j.State, &j.Hostname, &j.PID, &j.StartDate, &j.EndDate, &j.LatestHeartbeat); err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// JobListFilter selects jobs for the API; zero fields match everything.
type JobListFilter struct {
	State, Type, Hostname string
	// ExecutorClass matches no gust job (they have none) unless "".
	ExecutorClass string
	// Alive keeps jobs that are (true) or are not (false) running with a
	// heartbeat within AliveWithin.
	Alive       *bool
	AliveWithin time.Duration

	StartGTE, StartGT, StartLTE, StartLT *time.Time
	EndGTE, EndGT, EndLTE, EndLT         *time.Time
}

// jobOrder maps the API's order_by names to columns; gust's jobs have no
// dag_id, executor_class or unixname.
var jobOrder = map[string]string{"id": "id", "state": "state", "job_type": "job_type", "start_date": "start_date",
	"end_date": "end_date", "latest_heartbeat": "latest_heartbeat", "hostname": "hostname",
	"dag_id": "NULL::text", "executor_class": "NULL::text", "unixname": "NULL::text"}

// ListJobsPage returns a page of the jobs that match f and how many match.
func ListJobsPage(ctx context.Context, q DBTX, f JobListFilter, page Page) ([]Job, int, error) {
	order, err := page.orderBy(jobOrder, "id")
	if err != nil {
		return nil, 0, err
	}
	const where = `($1 = '' OR state = $1) AND ($2 = '' OR job_type = $2) AND ($3 = '' OR hostname = $3) AND $4 = ''
		AND ($5::boolean IS NULL OR (state = 'running' AND latest_heartbeat > now() - $6::interval) = $5)
		AND ($7::timestamptz IS NULL OR start_date >= $7) AND ($8::timestamptz IS NULL OR start_date > $8)
		AND ($9::timestamptz IS NULL OR start_date <= $9) AND ($10::timestamptz IS NULL OR start_date < $10)
		AND ($11::timestamptz IS NULL OR end_date >= $11) AND ($12::timestamptz IS NULL OR end_date > $12)
		AND ($13::timestamptz IS NULL OR end_date <= $13) AND ($14::timestamptz IS NULL OR end_date < $14)`
	args := []any{f.State, f.Type, f.Hostname, f.ExecutorClass, f.Alive, f.AliveWithin,
		f.StartGTE, f.StartGT, f.StartLTE, f.StartLT, f.EndGTE, f.EndGT, f.EndLTE, f.EndLT}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM job WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count jobs: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT id, job_type, state, hostname, pid, start_date, end_date, latest_heartbeat FROM job
		WHERE `+where+` ORDER BY `+order+fmt.Sprintf(` LIMIT %d OFFSET %d`, page.Limit, page.Offset), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	out := []Job{}
	for rows.Next() {
		var j Job
		if err := rows.Scan(&j.ID, &j.JobType, &j.State, &j.Hostname, &j.PID, &j.StartDate, &j.EndDate, &j.LatestHeartbeat); err != nil {
			return nil, 0, fmt.Errorf("list jobs: %w", err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list jobs: %w", err)
	}
	return out, total, nil
}
