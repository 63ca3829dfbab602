package apiserver

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"github.com/gust-sched/gust/common/dagspec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gust-sched/gust/common/schedule"
	"github.com/gust-sched/gust/metadb"
)

// The response types of Airflow's spec that gust serves, with the spec's
// field names. Pointer fields are the spec's nullable ones; required fields
// are never omitted.

// bundleName is the one DAG bundle gust has: the DAG folder (Airflow 3's
// default bundle is named the same).
const bundleName = "dags-folder"

type dagTag struct {
	Name           string `json:"name"`
	DagID          string `json:"dag_id"`
	DagDisplayName string `json:"dag_display_name"`
}

type dagResponse struct {
	DagID                       string     `json:"dag_id"`
	DagDisplayName              string     `json:"dag_display_name"`
	IsPaused                    bool       `json:"is_paused"`
	IsStale                     bool       `json:"is_stale"`
	LastParsedTime              *time.Time `json:"last_parsed_time"`
	LastParseDuration           *float64   `json:"last_parse_duration"`
	LastExpired                 *time.Time `json:"last_expired"`
	BundleName                  *string    `json:"bundle_name"`
	BundleVersion               *string    `json:"bundle_version"`
	RelativeFileloc             *string    `json:"relative_fileloc"`
	Fileloc                     string     `json:"fileloc"`
	Description                 *string    `json:"description"`
	TimetableSummary            *string    `json:"timetable_summary"`
	TimetableDescription        *string    `json:"timetable_description"`
	TimetablePartitioned        bool       `json:"timetable_partitioned"`
	Tags                        []dagTag   `json:"tags"`
	MaxActiveTasks              int        `json:"max_active_tasks"`
	MaxActiveRuns               *int       `json:"max_active_runs"`
	MaxConsecutiveFailedRuns    int        `json:"max_consecutive_failed_dag_runs"`
	HasTaskConcurrencyLimits    bool       `json:"has_task_concurrency_limits"`
	HasImportErrors             bool       `json:"has_import_errors"`
	NextDagrunLogicalDate       *time.Time `json:"next_dagrun_logical_date"`
	NextDagrunDataIntervalStart *time.Time `json:"next_dagrun_data_interval_start"`
	NextDagrunDataIntervalEnd   *time.Time `json:"next_dagrun_data_interval_end"`
	NextDagrunRunAfter          *time.Time `json:"next_dagrun_run_after"`
	AllowedRunTypes             []string   `json:"allowed_run_types"`
	Owners                      []string   `json:"owners"`
	FileToken                   string     `json:"file_token"`
}

type dagCollection struct {
	Dags         []dagResponse `json:"dags"`
	TotalEntries int           `json:"total_entries"`
}

// fileToken names a DAG file in URLs (parseDagFile); gust encodes the
// path rather than signing it: it grants nothing.
func fileToken(fileloc string) string { return base64.RawURLEncoding.EncodeToString([]byte(fileloc)) }

func utcp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (s *Server) dagResponse(d *metadb.DagRow, hasImportErrors bool) dagResponse {
	tags := make([]dagTag, 0, len(d.Tags))
	for _, t := range d.Tags {
		tags = append(tags, dagTag{Name: t, DagID: d.DagID, DagDisplayName: d.DagID})
	}
	owners := []string{}
	for _, o := range strings.Split(d.Owners, ",") {
		if o = strings.TrimSpace(o); o != "" {
			owners = append(owners, o)
		}
	}
	bundle := bundleName
	rel := filepath.Base(d.Fileloc)
	if s.opts.DagsFolder != "" {
		if r, err := filepath.Rel(s.opts.DagsFolder, d.Fileloc); err == nil && !strings.HasPrefix(r, "..") {
			rel = r
		}
	}
	maxRuns := d.MaxActiveRuns
	summary := schedule.Summary(d.ScheduleInterval)
	desc := scheduleDescription(d.ScheduleInterval)
	resp := dagResponse{
		DagID: d.DagID, DagDisplayName: d.DagID, IsPaused: d.IsPaused, IsStale: !d.IsActive,
		LastParsedTime: utcp(&d.LastParsedTime), BundleName: &bundle, RelativeFileloc: &rel, Fileloc: d.Fileloc,
		Description: strp(d.Description), TimetableSummary: &summary, TimetableDescription: &desc, Tags: tags,
		MaxActiveTasks: d.MaxActiveTasks, MaxActiveRuns: &maxRuns, HasImportErrors: hasImportErrors,
		HasTaskConcurrencyLimits: d.HasTaskConcurrencyLimits,
		NextDagrunLogicalDate:    utcp(d.NextDagrun), NextDagrunDataIntervalStart: utcp(d.NextDagrunDataIntervalStart),
		NextDagrunDataIntervalEnd: utcp(d.NextDagrunDataIntervalEnd),
		Owners:                    owners, FileToken: fileToken(d.Fileloc),
	}
	if d.NextDagrun != nil {
		// Until the scheduler has computed the next run, the time it will
		// look again is no run's time.
		resp.NextDagrunRunAfter = utcp(d.NextDagrunCreateAfter)
	}
	return resp
}

// scheduleDescription says in words when a DAG runs, as Airflow's
// timetable_description.
func scheduleDescription(sched string) string {
	switch s := strings.TrimSpace(sched); {
	case s == "":
		return "Never, external triggers only"
	case s == "@once":
		return "Once, as soon as possible"
	case s == "@continuous":
		return "As frequently as possible, but only one run at a time."
	case s == dagspec.AssetScheduleName:
		return "Triggered by assets"
	case strings.HasPrefix(s, schedule.EveryPrefix):
		return "Every " + strings.TrimPrefix(s, schedule.EveryPrefix)
	default:
		return schedule.Describe(s)
	}
}

type dagVersionResponse struct {
	ID             string    `json:"id"`
	VersionNumber  int       `json:"version_number"`
	DagID          string    `json:"dag_id"`
	BundleName     *string   `json:"bundle_name"`
	BundleVersion  *string   `json:"bundle_version"`
	CreatedAt      time.Time `json:"created_at"`
	DagDisplayName string    `json:"dag_display_name"`
	BundleURL      *string   `json:"bundle_url"`
}

// hashUUID gives a stable UUID for a key (a DAG version's hash, a task
// instance's key): the spec types these ids as UUIDs.
func hashUUID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	h := hex.EncodeToString(sum[:16])
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

func versionResponse(v metadb.DagVersion) dagVersionResponse {
	b := bundleName
	return dagVersionResponse{ID: hashUUID("dag_version", v.Hash), VersionNumber: v.Number, DagID: v.DagID,
		BundleName: &b, CreatedAt: v.CreatedAt.UTC(), DagDisplayName: v.DagID}
}

type dagRunResponse struct {
	DagRunID               string               `json:"dag_run_id"`
	DagID                  string               `json:"dag_id"`
	LogicalDate            *time.Time           `json:"logical_date"`
	QueuedAt               *time.Time           `json:"queued_at"`
	StartDate              *time.Time           `json:"start_date"`
	EndDate                *time.Time           `json:"end_date"`
	Duration               *float64             `json:"duration"`
	DataIntervalStart      *time.Time           `json:"data_interval_start"`
	DataIntervalEnd        *time.Time           `json:"data_interval_end"`
	RunAfter               time.Time            `json:"run_after"`
	LastSchedulingDecision *time.Time           `json:"last_scheduling_decision"`
	RunType                string               `json:"run_type"`
	State                  string               `json:"state"`
	TriggeredBy            *string              `json:"triggered_by"`
	TriggeringUserName     *string              `json:"triggering_user_name"`
	Conf                   map[string]any       `json:"conf"`
	Note                   *string              `json:"note"`
	DagVersions            []dagVersionResponse `json:"dag_versions"`
	BundleVersion          *string              `json:"bundle_version"`
	DagDisplayName         string               `json:"dag_display_name"`
	PartitionKey           *string              `json:"partition_key"`
}

type dagRunCollection struct {
	DagRuns      []dagRunResponse `json:"dag_runs"`
	TotalEntries int              `json:"total_entries"`
}

// runAfter is Airflow 3's run_after for a run.
func runAfter(r *metadb.DagRun) time.Time {
	switch {
	case r.RunType == "scheduled" && r.DataIntervalEnd != nil:
		return r.DataIntervalEnd.UTC()
	case r.RunType != "scheduled" && r.QueuedAt != nil:
		return r.QueuedAt.UTC()
	}
	return r.LogicalDate.UTC()
}

// triggeredBy infers Airflow 3's triggered_by from what gust records.
func triggeredBy(r *metadb.DagRun) string {
	switch {
	case r.RunType == "scheduled":
		return "timetable"
	case r.RunType == "backfill":
		return "backfill"
	case r.TriggeringUser != nil && strings.HasPrefix(*r.TriggeringUser, "cli:"):
		return "cli"
	case r.TriggeringUser != nil:
		return "rest_api"
	}
	return "cli"
}

func runResponse(r *metadb.DagRun, versions map[string]metadb.DagVersion) dagRunResponse {
	conf := r.Conf
	if conf == nil {
		conf = map[string]any{}
	}
	var dur *float64
	if r.StartDate != nil && r.EndDate != nil {
		d := r.EndDate.Sub(*r.StartDate).Seconds()
		dur = &d
	}
	tb := triggeredBy(r)
	vs := []dagVersionResponse{}
	if v, ok := versions[r.DagHash]; ok {
		vs = append(vs, versionResponse(v))
	}
	state := r.State
	return dagRunResponse{
		DagRunID: r.RunID, DagID: r.DagID, LogicalDate: utcp(&r.LogicalDate), QueuedAt: utcp(r.QueuedAt),
		StartDate: utcp(r.StartDate), EndDate: utcp(r.EndDate), Duration: dur,
		DataIntervalStart: utcp(r.DataIntervalStart), DataIntervalEnd: utcp(r.DataIntervalEnd), RunAfter: runAfter(r),
		RunType: r.RunType, State: state, TriggeredBy: &tb, TriggeringUserName: r.TriggeringUser, Conf: conf,
		Note: r.Note, DagVersions: vs, DagDisplayName: r.DagID,
	}
}
