package quality

import (
	"bufio"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/pillbox/pillbox/hw/gatt"
)

// payload is one characteristic value of testdata/payloads.txt.
type payload struct {
	char   uint16
	data   []byte
	source string
}

// loadPayloads reads testdata/payloads.txt: blocks of "key: value" lines
// separated by blank lines, # lines being comments on the bytes.
func loadPayloads(t testing.TB) map[string]payload {
	t.Helper()
	f, err := os.Open("testdata/payloads.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]payload{}
	var name string
	var p payload
	flush := func() {
		if name == "" {
			return
		}
		if p.char == 0 || p.data == nil || p.source == "" {
			t.Fatalf("testdata/payloads.txt: %s lacks its char, hex or source", name)
		}
		out[name] = p
		name, p = "", payload{}
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			flush()
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("testdata/payloads.txt: %q is not key: value", line)
		}
		switch key {
		case "name":
			name = value
		case "char":
			u, err := gatt.ParseUUID(value)
			if err != nil {
				t.Fatal(err)
			}
			p.char = uint16(u)
		case "hex":
			b, err := hex.DecodeString(strings.ReplaceAll(value, " ", ""))
			if err != nil {
				t.Fatalf("testdata/payloads.txt: %s: %v", name, err)
			}
			p.data = b
		case "source":
			p.source = value
		default:
			t.Fatalf("testdata/payloads.txt: unknown key %q", key)
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
