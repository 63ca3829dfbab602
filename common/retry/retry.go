// Package retry computes when a failed try may run again, with Airflow's
// formula: a fixed retry_delay, or exponential backoff with deterministic
// jitter capped by max_retry_delay, measured from the failed try's end.
package retry

import (
	"crypto/sha1"
	"fmt"
	"math"
	"math/big"
	"time"
)

// Policy is a task's retry settings.
type Policy struct {
	Delay              time.Duration
	ExponentialBackoff bool
	MaxDelay           time.Duration // 0: no cap
}

// Delay returns how long after the end of try tryNumber (1-based) of the
// given task instance the next try may be scheduled. It reproduces
// Airflow 2's TaskInstance.next_retry_datetime, including its jitter, which
// hashes "dag_id#task_id#logical_date#try_number".
func Delay(p Policy, dagID, taskID string, logicalDate time.Time, tryNumber int) time.Duration {
	if !p.ExponentialBackoff {
		return p.Delay
	}
	exp := math.Pow(2, float64(max(tryNumber-1, 0)))
	minBackoff := math.Ceil(p.Delay.Seconds() * exp)
	if minBackoff < 1 {
		minBackoff = 1
	}
	seed := fmt.Sprintf("%s#%s#%s#%d", dagID, taskID, pythonDatetime(logicalDate), tryNumber)
	sum := sha1.Sum([]byte(seed))
	hash := new(big.Int).SetBytes(sum[:])
	var secs float64
	if minBackoff < math.MaxInt64/4 {
		mod := new(big.Int).Mod(hash, big.NewInt(int64(minBackoff)))
		secs = minBackoff + float64(mod.Int64())
	} else {
		secs = minBackoff
	}
	const maxSecs = float64(math.MaxInt64/int64(time.Second)) - 1
	secs = math.Min(secs, maxSecs)
	d := time.Duration(secs * float64(time.Second))
	if p.MaxDelay > 0 && d > p.MaxDelay {
		d = p.MaxDelay
	}
	return d
}

// pythonDatetime formats t as Python's str() of an aware UTC datetime.
func pythonDatetime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond() != 0 {
		return t.Format("2006-01-02 15:04:05.000000") + "+00:00"
	}
	return t.Format("2006-01-02 15:04:05") + "+00:00"
}
