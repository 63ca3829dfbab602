package metadb

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ErrExists is wrapped when a create names an object that already exists.
var ErrExists = errors.New("already exists")

// likeTerms turns one of the API's *_pattern values into the patterns of
// which a column must match one (`col ILIKE ANY(terms)`), as Airflow's
// search parameters do: case-insensitive and a substring match, the
// value's own % and _ being wildcards; "a | b" matches either term; "~"
// matches everything. "" gives no terms: no filter.
func likeTerms(p string) []string {
	if p == "" {
		return []string{}
	}
	if p == "~" {
		p = "%"
	}
	if strings.Contains(p, "|") {
		var out []string
		for _, t := range strings.Split(p, "|") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, "%"+t+"%")
			}
		}
		if len(out) > 1 {
			return out
		}
	}
	return []string{"%" + p + "%"}
}

// existing returns which of keys are in column col of table; both are
// constants of this package, never input.
func existing(ctx context.Context, q DBTX, table, col string, keys []string) (map[string]bool, error) {
	rows, err := q.Query(ctx, `SELECT `+col+` FROM `+table+` WHERE `+col+` = ANY($1)`, nonNil(keys))
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", table, err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", table, err)
	}
	out := make(map[string]bool, len(found))
	for _, k := range found {
		out[k] = true
	}
	return out, nil
}
