package dagspec

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
)

// Checks and derived values that depend only on the model, not on YAML: ids, the
// task graph (cycles, order) and priorities. A Python DAG reader reuses them.

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.\-]+$`)

func checkID(id string) error {
	if id == "" {
		return errors.New("must not be empty")
	}
	if len(id) > maxIDLength {
		return fmt.Errorf("longer than %d characters", maxIDLength)
	}
	if !idPattern.MatchString(id) {
		return errors.New("may contain only letters, digits, '_', '-' and '.'")
	}
	return nil
}

// topoSort orders tasks topologically, ties by task id, or reports a cycle.
func topoSort(tasks []*Task) ([]*Task, error) {
	byID := map[string]*Task{}
	indeg := map[string]int{}
	down := map[string][]string{}
	for _, t := range tasks {
		byID[t.TaskID] = t
		indeg[t.TaskID] = len(t.Upstream)
		for _, u := range t.Upstream {
			down[u] = append(down[u], t.TaskID)
		}
	}
	var ready []string
	for id, n := range indeg {
		if n == 0 {
			ready = append(ready, id)
		}
	}
	sort.Strings(ready)
	out := make([]*Task, 0, len(tasks))
	for len(ready) > 0 {
		id := ready[0]
		ready = ready[1:]
		out = append(out, byID[id])
		added := false
		for _, dn := range down[id] {
			indeg[dn]--
			if indeg[dn] == 0 {
				ready = append(ready, dn)
				added = true
			}
		}
		if added {
			sort.Strings(ready)
		}
	}
	if len(out) != len(tasks) {
		var cyc []string
		for id, n := range indeg {
			if n > 0 {
				cyc = append(cyc, id)
			}
		}
		sort.Strings(cyc)
		return nil, fmt.Errorf("dependency cycle among tasks %s", strings.Join(cyc, ", "))
	}
	return out, nil
}

// computePriorities sets EffectivePriority by Airflow's weight rules:
// downstream sums the weights of the task and all its descendants, upstream
// of the task and all its ancestors, absolute is the task's own.
func computePriorities(d *DAG) {
	up := map[string][]string{}
	down := map[string][]string{}
	byID := map[string]*Task{}
	for _, t := range d.Tasks {
		byID[t.TaskID] = t
		up[t.TaskID] = t.Upstream
		for _, u := range t.Upstream {
			down[u] = append(down[u], t.TaskID)
		}
	}
	reach := func(start string, edges map[string][]string) int {
		seen := map[string]bool{start: true}
		stack := []string{start}
		sum := 0
		for len(stack) > 0 {
			id := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			sum = clampAdd(sum, byID[id].PriorityWeight)
			for _, n := range edges[id] {
				if !seen[n] {
					seen[n] = true
					stack = append(stack, n)
				}
			}
		}
		return sum
	}
	for _, t := range d.Tasks {
		switch t.WeightRule {
		case WeightUpstream:
			t.EffectivePriority = reach(t.TaskID, up)
		case WeightAbsolute:
			t.EffectivePriority = t.PriorityWeight
		default:
			t.EffectivePriority = reach(t.TaskID, down)
		}
	}
}

// clampAdd adds within Postgres' int4 range, as Airflow does for weights.
func clampAdd(a, b int) int {
	s := int64(a) + int64(b)
	if s > math.MaxInt32 {
		return math.MaxInt32
	}
	if s < math.MinInt32 {
		return math.MinInt32
	}
	return int(s)
}
