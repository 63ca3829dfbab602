package apiserver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gust-sched/gust/metadb"
)

// Task logs, read from Postgres (metadb's task_log): any api-server serves
// any try's log, while it runs and after its worker is gone.

// logPageSize is about how much of a log one call returns without
// full_content; the continuation token reads on.
const logPageSize = 1 << 20

// continuationHeader carries the token of NDJSON and text answers, as
// Airflow's NDJSON answer does.
const continuationHeader = "Airflow-Continuation-Token"

// logToken is what a continuation token holds: where to read on.
type logToken struct {
	LogPos int64 `json:"log_pos"`
}

func encodeLogToken(pos int64) string {
	b, _ := json.Marshal(logToken{LogPos: pos})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeLogToken(s string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var t logToken
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		err = dec.Decode(&t)
	}
	if err != nil || t.LogPos < 0 {
		return 0, errorf(http.StatusBadRequest, "Bad Signature. Please use only the tokens provided by the API.")
	}
	return t.LogPos, nil
}

// logMessage is the spec's StructuredLogMessage: a line's text as event,
// with the time and level of gust's own lines.
type logMessage struct {
	Event     string     `json:"event"`
	Timestamp *time.Time `json:"timestamp,omitempty"`
	Level     string     `json:"level,omitempty"`
}

// logMessages splits text into messages, one per non-empty line (as
// Airflow skips empty lines). gust's own lines, `[ts] {gust} LEVEL - msg`,
// give their time, level (lower case, as Airflow's) and message.
func logMessages(text string) []logMessage {
	out := []logMessage{}
	for line := range strings.SplitSeq(text, "\n") {
		if line == "" {
			continue
		}
		out = append(out, parseLogLine(line))
	}
	return out
}

func parseLogLine(line string) logMessage {
	m := logMessage{Event: line}
	ts, rest, ok := strings.Cut(line, "] {gust} ")
	if !ok || !strings.HasPrefix(ts, "[") {
		return m
	}
	level, msg, ok := strings.Cut(rest, " - ")
	if !ok || level == "" || strings.ToUpper(level) != level || strings.Contains(level, " ") {
		return m
	}
	t, err := time.Parse(time.RFC3339Nano, ts[1:])
	if err != nil {
		return m
	}
	t = t.UTC()
	return logMessage{Event: msg, Timestamp: &t, Level: strings.ToLower(level)}
}

type logResponse struct {
	Content           []logMessage `json:"content"`
	ContinuationToken *string      `json:"continuation_token"`
}

// logFormat picks the answer's media type from Accept: the first of JSON
// (the default, also for */*), NDJSON and plain text (gust's extra).
func logFormat(r *http.Request) string {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			switch mt {
			case "application/json", "*/*", "application/*":
				return "application/json"
			case "application/x-ndjson", "text/plain":
				return mt
			}
		}
	}
	return "application/json"
}

// getLog serves a try's log (Airflow's get_log): from the start, or from
// the position of the token; a token comes back until the try is over and
// everything was read (Airflow's end_of_log).
func (s *Server) getLog(w http.ResponseWriter, r *http.Request) error {
	k, err := tiKey(r)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(r.PathValue("try_number"))
	if err != nil {
		return invalid("Input should be a valid integer, unable to parse string as an integer", "int_parsing", "path", "try_number")
	}
	if n < 1 {
		return invalid("Input should be greater than 0", "greater_than", "path", "try_number")
	}
	q := newQuery(r)
	full := q.boolOr("full_content", false)
	if err := q.err(); err != nil {
		return err
	}
	var from int64
	if tok := q.str("token"); tok != "" {
		if from, err = decodeLogToken(tok); err != nil {
			return err
		}
	}
	max := logPageSize
	if full {
		max = 0
	}
	page, err := metadb.ReadTaskLog(r.Context(), s.db.Pool, metadb.TryKey{TIKey: k, TryNumber: n}, from, max)
	if errors.Is(err, metadb.ErrNotFound) || errors.Is(err, metadb.ErrNoSuchTry) {
		return errorf(http.StatusNotFound, "TaskInstance not found")
	}
	if err != nil {
		return err
	}
	var token *string
	if !page.Ended {
		t := encodeLogToken(page.Next)
		token = &t
	}
	switch format := logFormat(r); format {
	case "application/x-ndjson", "text/plain":
		if token != nil {
			w.Header().Set(continuationHeader, *token)
		}
		var body []byte
		if format == "text/plain" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			body = []byte(page.Text)
		} else {
			w.Header().Set("Content-Type", "application/x-ndjson")
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			for _, m := range logMessages(page.Text) {
				if err := enc.Encode(m); err != nil {
					return err
				}
			}
			body = buf.Bytes()
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	default:
		writeJSON(w, http.StatusOK, logResponse{Content: logMessages(page.Text), ContinuationToken: token})
	}
	return nil
}
