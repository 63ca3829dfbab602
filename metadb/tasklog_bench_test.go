package metadb_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/internal/testenv"
	"github.com/gust-sched/gust/metadb"
)

// BenchmarkFinish measures the result's statement of a short try without
// and with the rest of its log (one 1 KiB chunk), which rides it. Commits
// do not wait for the disk (synchronous_commit off) so that the
// statement's own cost shows:
//
//	go test -run - -bench Finish -benchtime 3000x -count 3 ./metadb
//
// On 2 shared AMD EPYC cores, go1.26.8, Postgres on loopback, both took
// 0.6-0.9 ms per try: the log adds no round trip and no measurable time.
func BenchmarkFinish(b *testing.B) {
	for _, withLog := range []bool{false, true} {
		b.Run(fmt.Sprintf("log=%v", withLog), func(b *testing.B) {
			ctx := context.Background()
			db, err := metadb.Open(ctx, testenv.Database(b)+"&options=-c%20synchronous_commit%3Doff", 4)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Migrate(ctx, 8); err != nil {
				b.Fatal(err)
			}
			tasks := make([]metadb.NewTI, b.N)
			tries := make([]metadb.TryKey, b.N)
			for i := range tasks {
				tasks[i] = metadb.NewTI{TaskID: fmt.Sprintf("t%d", i), Operator: "bash", Pool: "default_pool", PoolSlots: 1, Queue: "default", PriorityWeight: 1}
				tries[i] = metadb.TryKey{TIKey: metadb.TIKey{DagID: "d", RunID: "r", TaskID: tasks[i].TaskID, MapIndex: -1}, TryNumber: 1}
			}
			err = db.InTx(ctx, func(tx pgx.Tx) error {
				if _, err := metadb.SyncDAG(ctx, tx, metadb.DagSync{DagID: "d", Fileloc: "/d.yaml", DagHash: "h", Data: []byte(`{}`), MaxActiveRuns: 1, MaxActiveTasks: 1}); err != nil {
					return err
				}
				if err := metadb.InsertDagRun(ctx, tx, &metadb.DagRun{DagID: "d", RunID: "r", LogicalDate: time.Now(), RunType: "manual", DagHash: "h"}, tasks); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `UPDATE task_instance SET state = 'running', try_number = 1, hostname = 'w', start_date = now()`)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			line := strings.Repeat("x", 1023) + "\n"
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var logs []metadb.LogChunk
				if withLog {
					logs = []metadb.LogChunk{{Try: tries[i], Seq: 1, Content: line}}
				}
				if ok, err := metadb.Finish(ctx, db.Pool, tries[i], "success", nil, logs...); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}
