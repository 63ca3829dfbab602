package metadb

import (
	"strconv"
	"strings"
)

// where collects a listing's conditions and their arguments, numbering the
// placeholders as conditions are added, so a filter that is not given adds
// nothing to the query (and nothing for the planner to see through).
type where struct {
	conds []string
	args  []any
}

// add appends cond, in which each '?' stands for the next of args. The
// conditions are constants of this package: '?' is never an operator there.
func (w *where) add(cond string, args ...any) {
	var b strings.Builder
	next := 0
	for _, r := range cond {
		if r == '?' && next < len(args) {
			w.args = append(w.args, args[next])
			next++
			b.WriteString("$" + strconv.Itoa(len(w.args)))
			continue
		}
		b.WriteRune(r)
	}
	w.conds = append(w.conds, b.String())
}

// sql is the conditions joined with AND (TRUE when there are none).
func (w *where) sql() string {
	if len(w.conds) == 0 {
		return "TRUE"
	}
	return strings.Join(w.conds, " AND ")
}
