package worker

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/internal/testenv"
	"github.com/gust-sched/gust/metadb"
)

var testTry = metadb.TryKey{TIKey: metadb.TIKey{DagID: "d", RunID: "r", TaskID: "t", MapIndex: -1}, TryNumber: 1}

// joined is what a shipment's head chunks hold, in order.
func joined(sh shipment) (head string, tail *metadb.LogChunk) {
	for _, c := range sh.chunks {
		switch {
		case c.Seq >= 1:
			head += c.Content
		case c.Seq == metadb.LogTailSeq:
			tail = &c
		}
	}
	return head, tail
}

func TestLogShipperUnbounded(t *testing.T) {
	t.Parallel()
	s := newLogShipper(testTry, 0, metadb.LogResume{})
	fmt.Fprint(s, "a\n")
	sh := s.take(false)
	if len(sh.chunks) != 1 || sh.chunks[0] != (metadb.LogChunk{Try: testTry, Seq: 1, Pos: 0, Content: "a\n"}) {
		t.Fatalf("first take: %+v", sh.chunks)
	}
	// Not acked (the heartbeat failed): sent again with what came since.
	fmt.Fprint(s, "b\n")
	sh = s.take(false)
	if len(sh.chunks) != 2 || sh.chunks[1] != (metadb.LogChunk{Try: testTry, Seq: 2, Pos: 2, Content: "b\n"}) {
		t.Fatalf("second take: %+v", sh.chunks)
	}
	s.ack(sh)
	if sh = s.take(false); len(sh.chunks) != 0 {
		t.Fatalf("after the ack: %+v", sh.chunks)
	}
	s.setCallback(true)
	if sh = s.take(true); len(sh.chunks) != 1 || sh.chunks[0].Seq != metadb.LogCallbackSeq {
		t.Fatalf("callback mark: %+v", sh.chunks)
	}
}

// TestLogShipperText: what is shipped is valid UTF-8 without NUL, and a
// character cut between two writes arrives whole.
func TestLogShipperText(t *testing.T) {
	t.Parallel()
	s := newLogShipper(testTry, 0, metadb.LogResume{End: 10, NextSeq: 3, HeadSize: 10})
	e := []byte("é")
	s.Write([]byte("x" + string(e[:1])))
	if sh := s.take(false); len(sh.chunks) != 1 || sh.chunks[0].Content != "x" || sh.chunks[0].Pos != 10 || sh.chunks[0].Seq != 3 {
		t.Fatalf("first half of a character: %+v", sh.chunks)
	}
	s.Write(append(e[1:], "\xff\x00y\n"...))
	head, _ := joined(s.take(false))
	if head != "xé\uFFFD\uFFFDy\n" {
		t.Fatalf("head %q", head)
	}
	s.Write(e[:1])
	if head, _ := joined(s.take(true)); head != "xé\uFFFD\uFFFDy\n\uFFFD" {
		t.Fatalf("a cut character at the end: %q", head)
	}
}

// TestLogShipperBounded: past max_log_size the head stops at half, the
// tail keeps the last half from a line start, and memory stays bounded
// while nothing is acked (the database is down).
func TestLogShipperBounded(t *testing.T) {
	t.Parallel()
	s := newLogShipper(testTry, 100, metadb.LogResume{})
	var all strings.Builder
	for i := 0; i < 1000; i++ {
		line := fmt.Sprintf("line %04d\n", i)
		all.WriteString(line)
		s.Write([]byte(line))
		if i%97 == 0 {
			s.take(false) // never acked
		}
	}
	sh := s.take(false)
	head, tail := joined(sh)
	if head != all.String()[:50] {
		t.Fatalf("head %q", head)
	}
	if tail == nil || !strings.HasPrefix(tail.Content, "line") || !strings.HasSuffix(all.String(), tail.Content) ||
		len(tail.Content) > 50 || tail.End() != int64(all.Len()) {
		t.Fatalf("tail %+v", tail)
	}
	var held int
	for _, c := range s.pending {
		held += len(c.Content)
	}
	if held > 50 || len(s.tail.buf) > 50 {
		t.Fatalf("holding %d head bytes and a %d-byte ring", held, len(s.tail.buf))
	}
	s.ack(sh)
	if sh := s.take(false); len(sh.chunks) != 0 {
		t.Fatalf("after the ack: %+v", sh.chunks)
	}
	s.Write([]byte("more\n"))
	if _, tail := joined(s.take(false)); tail == nil || !strings.HasSuffix(tail.Content, "line 0999\nmore\n") {
		t.Fatalf("tail after more: %+v", tail)
	}
}

func TestRing(t *testing.T) {
	t.Parallel()
	r := ring{max: 5}
	for _, w := range []string{"ab", "cd", "efg", "", "hijklmnop", "q"} {
		r.write([]byte(w))
	}
	if got := string(r.bytes()); got != "mnopq" {
		t.Fatalf("ring holds %q", got)
	}
}

// TestLogShippedToPostgres ships a long log through heartbeats (some lost)
// and the result, and reads it back whole and in steps: head, the marker,
// tail; a reader that followed it sees the same.
func TestLogShippedToPostgres(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := metadb.Open(ctx, testenv.Database(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx, 8); err != nil {
		t.Fatal(err)
	}
	err = db.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := metadb.SyncDAG(ctx, tx, metadb.DagSync{DagID: "d", Fileloc: "/d.yaml", DagHash: "h", Data: []byte(`{"dag_id":"d"}`),
			MaxActiveRuns: 1, MaxActiveTasks: 1}); err != nil {
			return err
		}
		return metadb.InsertDagRun(ctx, tx, &metadb.DagRun{DagID: "d", RunID: "r", LogicalDate: time.Now(), RunType: "manual", DagHash: "h"},
			[]metadb.NewTI{{TaskID: "t", Operator: "bash", Pool: "default_pool", PoolSlots: 1, Queue: "default", PriorityWeight: 1}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := metadb.ApplyDecisions(ctx, db.Pool, "d", "r", []metadb.Decision{{TaskID: "t", MapIndex: -1, To: "scheduled", NewTry: true}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := metadb.MarkQueued(ctx, db.Pool, 1, []metadb.TryKey{testTry}); err != nil {
		t.Fatal(err)
	}
	_, resume, ok, err := metadb.Claim(ctx, db.Pool, testTry, "w", 1)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	const max = 4000
	s := newLogShipper(testTry, max, resume)
	var all strings.Builder
	var followed strings.Builder
	var pos int64
	for i := 0; i < 2000; i++ {
		line := fmt.Sprintf("%d: %s\n", i, strings.Repeat("ü", i%7))
		all.WriteString(line)
		s.Write([]byte(line))
		if i%150 != 149 {
			continue
		}
		sh := s.take(false)
		if i%450 == 449 {
			continue // this heartbeat was lost
		}
		if _, err := metadb.HeartbeatTIs(ctx, db.Pool, "w", []metadb.TryKey{testTry}, sh.chunks...); err != nil {
			t.Fatal(err)
		}
		s.ack(sh)
		p, err := metadb.ReadTaskLog(ctx, db.Pool, testTry, pos, 0)
		if err != nil || p.Ended {
			t.Fatalf("read while running: %+v %v", p, err)
		}
		followed.WriteString(p.Text)
		pos = p.Next
	}
	sh := s.take(true)
	if ok, err := metadb.Finish(ctx, db.Pool, testTry, "success", nil, sh.chunks...); !ok || err != nil {
		t.Fatal(ok, err)
	}
	p, err := metadb.ReadTaskLog(ctx, db.Pool, testTry, pos, 0)
	if err != nil || !p.Ended {
		t.Fatalf("last read: %+v %v", p, err)
	}
	followed.WriteString(p.Text)

	whole, err := metadb.ReadTaskLog(ctx, db.Pool, testTry, 0, 0)
	if err != nil || !whole.Ended || !utf8.ValidString(whole.Text) {
		t.Fatal(whole.Ended, err)
	}
	text := all.String()
	i := strings.Index(whole.Text, "\n... ")
	j := strings.Index(whole.Text, " bytes left out (max_log_size) ...\n")
	if i < 0 || j < i {
		t.Fatalf("no marker in %q", whole.Text)
	}
	head, tail := whole.Text[:i+1], whole.Text[j+len(" bytes left out (max_log_size) ...\n"):]
	if !strings.HasPrefix(text, head) {
		head = head[:i] // the head ended inside a line: the marker starts a line of its own
	}
	var left int
	if _, err := fmt.Sscan(whole.Text[i+5:j], &left); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, head) || !strings.HasSuffix(text, tail) || len(head)+left+len(tail) != len(text) ||
		len(head) > max/2 || len(tail) > max/2 || len(tail) < max/2-200 {
		t.Fatalf("head %d + left out %d + tail %d bytes of %d", len(head), left, len(tail), len(text))
	}
	// The follower saw the same head and the same end.
	if !strings.HasPrefix(followed.String(), head) || !strings.HasSuffix(followed.String(), tail) {
		t.Fatalf("followed log differs:\n%s", followed.String())
	}
}
