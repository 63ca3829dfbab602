package worker

import (
	"os"
	"strconv"
	"strings"
)

// loadAvg returns the 1, 5 and 15 minute load averages, or nil where
// /proc/loadavg is not available.
func loadAvg() []float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return nil
	}
	out := make([]float64, 3)
	for i := range out {
		out[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return out
}
