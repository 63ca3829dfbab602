package metadb

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// importErrorOrder maps the API's order_by names to columns; gust has one
// DAG bundle, so bundle_name orders nothing.
var importErrorOrder = map[string]string{"id": "id", "import_error_id": "id", "timestamp": "timestamp",
	"filename": "filename", "stacktrace": "stacktrace", "bundle_name": "NULL::text"}

// ListImportErrorsPage returns a page of the import errors whose file name
// matches pattern (an API *_pattern, see likeTerms) and how many match.
func ListImportErrorsPage(ctx context.Context, q DBTX, pattern string, page Page) ([]ImportError, int, error) {
	order, err := page.orderBy(importErrorOrder, "id")
	if err != nil {
		return nil, 0, err
	}
	const where = `(cardinality($1::text[]) = 0 OR filename ILIKE ANY($1))`
	terms := likeTerms(pattern)
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM import_error WHERE `+where, terms).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count import errors: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT id, filename, stacktrace, timestamp FROM import_error WHERE `+where+
		` ORDER BY `+order+fmt.Sprintf(` LIMIT %d OFFSET %d`, page.Limit, page.Offset), terms)
	if err != nil {
		return nil, 0, fmt.Errorf("list import errors: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ImportError])
	if err != nil {
		return nil, 0, fmt.Errorf("list import errors: %w", err)
	}
	return out, total, nil
}

// GetImportError returns one import error, or ErrNotFound.
func GetImportError(ctx context.Context, q DBTX, id int64) (*ImportError, error) {
	var e ImportError
	err := q.QueryRow(ctx, `SELECT id, filename, stacktrace, timestamp FROM import_error WHERE id = $1`, id).
		Scan(&e.ID, &e.Filename, &e.Stacktrace, &e.Timestamp)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("import error %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get import error %d: %w", id, err)
	}
	return &e, nil
}

// DagFileKnown reports whether an active DAG was parsed from fileloc.
func DagFileKnown(ctx context.Context, q DBTX, fileloc string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM dag WHERE fileloc = $1 AND is_active)`, fileloc).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("look up dag file %s: %w", fileloc, err)
	}
	return ok, nil
}
