// Package metricstest reads a scrape of GET /metrics for tests, as a
// scraper would.
package metricstest

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// Parse reads a scrape in the Prometheus text format: the value of each
// series (name and labels as written), and the TYPE of each family. A
// sample whose value does not parse fails the test.
func Parse(t testing.TB, body []byte) (samples map[string]float64, types map[string]string) {
	t.Helper()
	samples, types = map[string]float64{}, map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(rest, " ")
			types[name] = typ
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples, types
}
