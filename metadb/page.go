package metadb

import (
	"fmt"
	"strings"
)

// Page is one page of a listing: the API's limit, offset and order_by.
type Page struct {
	Limit, Offset int
	// OrderBy are field names, each optionally prefixed with "-" for
	// descending order, as the API's order_by parameter.
	OrderBy []string
}

// ErrBadOrder is wrapped when order_by names a field that cannot be sorted.
var ErrBadOrder = fmt.Errorf("bad order_by")

// orderBy turns the page's order into SQL using allowed (API name ->
// column); tie is the unique column that makes the order stable.
func (p Page) orderBy(allowed map[string]string, tie string) (string, error) {
	var parts []string
	for _, f := range p.OrderBy {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		dir := "ASC"
		if strings.HasPrefix(f, "-") {
			dir, f = "DESC", f[1:]
		}
		col, ok := allowed[f]
		if !ok {
			return "", fmt.Errorf("%w: Ordering with '%s' is disallowed or the attribute does not exist on the model", ErrBadOrder, f)
		}
		parts = append(parts, col+" "+dir+" NULLS LAST")
	}
	parts = append(parts, tie+" ASC")
	return strings.Join(parts, ", "), nil
}
