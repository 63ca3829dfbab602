package worker

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/tistate"
)

// followUp turns a branch or short_circuit task's last line of output into
// the downstream tasks to skip, with Airflow's skip semantics.
func followUp(tl *taskLog, task *dagspec.Task, dag *dagspec.DAG, out outcome) outcome {
	direct := directDownstream(dag, task.TaskID)
	switch task.Operator {
	case dagspec.OperatorBranch, dagspec.OperatorBranchPython:
		follow, err := parseBranch(out.last)
		if err != nil {
			return outcome{state: tistate.Failed, reason: err.Error()}
		}
		return followBranch(tl, dag, out, direct, follow)
	case dagspec.OperatorPythonClass:
		if out.branch != nil {
			return followBranch(tl, dag, out, direct, out.branch)
		}
	case dagspec.OperatorShortCircuit, dagspec.OperatorShortCircuitPython:
		if truthy(out.last) {
			tl.Infof("Condition result is %q (truthy): proceeding with downstream tasks", out.last)
			return out
		}
		if task.IgnoreDownstreamTriggerRules {
			out.skip = allDownstream(dag, task.TaskID)
		} else {
			out.skip = direct
		}
		tl.Infof("Condition result is %q (falsy): skipping downstream tasks %v", out.last, out.skip)
	}
	return out
}

// followBranch skips the direct downstream tasks a branch does not follow.
func followBranch(tl *taskLog, dag *dagspec.DAG, out outcome, direct, follow []string) outcome {
	var unknown []string
	for _, id := range follow {
		if dag.Task(id) == nil {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return outcome{state: tistate.Failed, reason: fmt.Sprintf("branch returned task ids that are not in the DAG: %s", strings.Join(unknown, ", "))}
	}
	keep := map[string]bool{}
	for _, id := range follow {
		keep[id] = true
	}
	for _, id := range direct {
		if !keep[id] {
			out.skip = append(out.skip, id)
		}
	}
	tl.Infof("Branch: following %v, skipping %v", follow, out.skip)
	return out
}

// parseBranch reads task ids: a JSON list or string, else separated by
// commas or spaces. Nothing means: follow no path.
func parseBranch(line string) ([]string, error) {
	line = strings.TrimSpace(line)
	if line == "" || line == "None" || line == "null" {
		return nil, nil
	}
	if strings.HasPrefix(line, "[") {
		var ids []string
		if err := json.Unmarshal([]byte(line), &ids); err != nil {
			return nil, fmt.Errorf("branch output %q is not a JSON list of task ids: %v", line, err)
		}
		return ids, nil
	}
	return strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }), nil
}

// truthy is Python's truthiness of the condition's printed value.
func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "false", "0", "none", "null", "no", "[]", "{}", "0.0", "''", `""`:
		return false
	}
	return true
}

func directDownstream(dag *dagspec.DAG, id string) []string {
	var out []string
	for _, t := range dag.Tasks {
		for _, u := range t.Upstream {
			if u == id {
				out = append(out, t.TaskID)
			}
		}
	}
	sort.Strings(out)
	return out
}

func allDownstream(dag *dagspec.DAG, id string) []string {
	seen := map[string]bool{}
	stack := []string{id}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range directDownstream(dag, n) {
			if !seen[d] {
				seen[d] = true
				stack = append(stack, d)
			}
		}
	}
	out := make([]string, 0, len(seen))
	for d := range seen {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}
