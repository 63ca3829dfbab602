package apiserver

import (
	"math"
	"time"

	"github.com/gust-sched/gust/metadb"
)

// The spec's range filters come as _gte/_gt and _lte/_lt pairs. PostgreSQL
// keeps timestamps to the microsecond, so a strict bound is the inclusive
// one a microsecond further in; lower and upper fold each pair into the
// tighter inclusive bound the queries take.

func lower(gte, gt *time.Time) *time.Time {
	if gt != nil {
		t := gt.Add(time.Microsecond)
		if gte == nil || t.After(*gte) {
			return &t
		}
	}
	return gte
}

func upper(lte, lt *time.Time) *time.Time {
	if lt != nil {
		t := lt.Add(-time.Microsecond)
		if lte == nil || t.Before(*lte) {
			return &t
		}
	}
	return lte
}

func lowerF(gte, gt *float64) *float64 {
	if gt != nil {
		v := math.Nextafter(*gt, math.Inf(1))
		if gte == nil || v > *gte {
			return &v
		}
	}
	return gte
}

func upperF(lte, lt *float64) *float64 {
	if lt != nil {
		v := math.Nextafter(*lt, math.Inf(-1))
		if lte == nil || v < *lte {
			return &v
		}
	}
	return lte
}

// batchPage reads the page of a POST .../list body: Airflow's page_limit
// (default 100, capped as limit is), page_offset and order_by.
func batchPage(limit, offset *int, orderBy *string) (metadb.Page, error) {
	page := metadb.Page{Limit: 100}
	if limit != nil {
		if *limit < 0 {
			return page, invalid("Input should be greater than or equal to 0", "greater_than_equal", "body", "page_limit")
		}
		page.Limit = min(*limit, maxPageLimit)
	}
	if offset != nil {
		if *offset < 0 {
			return page, invalid("Input should be greater than or equal to 0", "greater_than_equal", "body", "page_offset")
		}
		page.Offset = *offset
	}
	if orderBy != nil {
		page.OrderBy = []string{*orderBy}
	}
	return page, nil
}
