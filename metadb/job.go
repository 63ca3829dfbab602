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
