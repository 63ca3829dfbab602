package metadb

import (
	"reflect"
	"testing"
)

func TestLikeTerms(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"etl", []string{"%etl%"}},
		{"etl_%", []string{"%etl_%%"}},
		{"~", []string{"%%%"}},
		{"a | b|c", []string{"%a%", "%b%", "%c%"}},
		{"a|", []string{"%a|%"}}, // one term: the value as it is
	} {
		if got := likeTerms(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("likeTerms(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
