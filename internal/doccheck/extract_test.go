package doccheck

import (
	"slices"
	"testing"
)

func TestExtract(t *testing.T) {
	tests := []struct {
		name string
		md   string
		want []Command
	}{
		{"shell block, comment dropped, prompt removed",
			"x\n```sh\n$ pillctl check a.yaml   # or: dispenserd --check-config\n\nmake test\n```\n",
			[]Command{{File: "f.md", Line: 3, Text: "pillctl check a.yaml"}, {File: "f.md", Line: 5, Text: "make test"}}},
		{"continued lines joined",
			"```bash\ncurl -s \\\n  localhost:8080/api/status |\n  grep ok\n```\n",
			[]Command{{File: "f.md", Line: 2, Text: "curl -s localhost:8080/api/status | grep ok"}}},
		{"a loop is one command",
			"```sh\nfor i in 1 2; do\n  pillctl check $i\ndone\n```\n",
			[]Command{{File: "f.md", Line: 2, Text: "for i in 1 2; do pillctl check $i done"}}},
		{"text and yaml blocks hold no commands",
			"```text\npillctl check a.yaml\n```\n```yaml\nmake: test\n```\n", nil},
		{"unmarked block: only lines starting with a program",
			"```\nbroken.yaml:22: a problem\npillctl pinmap a.yaml\n```\n",
			[]Command{{File: "f.md", Line: 3, Text: "pillctl pinmap a.yaml"}}},
		{"indented block after a blank line",
			"Run:\n\n    pillctl clinic users\n    not a command\n",
			[]Command{{File: "f.md", Line: 3, Text: "pillctl clinic users"}}},
		{"code spans in prose that start with a program",
			"Use `pillctl report --days 7` or `the --days flag`; `LISTEN=x make run`.\n",
			[]Command{{File: "f.md", Line: 1, Text: "pillctl report --days 7", Inline: true},
				{File: "f.md", Line: 1, Text: "LISTEN=x make run", Inline: true}}},
		{"a # inside quotes is not a comment",
			"```sh\ncurl -d '{\"a\":\"#1\"}' x # really\n```\n",
			[]Command{{File: "f.md", Line: 2, Text: `curl -d '{"a":"#1"}' x`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Extract("f.md", []byte(tt.md)); !slices.Equal(got, tt.want) {
				t.Errorf("Extract(%q) = %+v, want %+v", tt.md, got, tt.want)
			}
		})
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`pillctl  check a.yaml`, []string{"pillctl", "check", "a.yaml"}},
		{`pillctl clinic user add --admin admin "Clinic admin"`, []string{"pillctl", "clinic", "user", "add", "--admin", "admin", "Clinic admin"}},
		{`curl -d '{"advance":"1h"}'`, []string{"curl", "-d", `{"advance":"1h"}`}},
		{`x ""`, []string{"x", ""}},
	}
	for _, tt := range tests {
		if got := Words(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Words(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	listed := map[string]string{"pillctl gatt decode --hex \"1E ...\"": "illustrative"}
	tests := []struct {
		text   string
		inline bool
		want   Class
	}{
		{"pillctl pinmap dispenser.yaml > pinmap.svg", false, Run},
		{"dispenserd --check-config dispenser.yaml", false, Run},
		{"dispenserd --version", false, Run},
		{"dispenserd --sim --config examples/dispenser.yaml", false, Daemon},
		{"adherenced --demo --data ./data/clinic", false, Daemon},
		{"make run LISTEN=127.0.0.1:9080", false, MakeTarget},
		{"go test -run TestX ./schedule/", false, GoCommand},
		{"go run ./cmd/pillload --devices d.txt", false, GoCommand},
		{"go run ./cmd/pillctl check a.yaml", false, Run},
		{"pillctl backtest --fit-prior", false, GoCommand},
		{"pillctl backtest --cohort c.jsonl --vitals-only", false, Run},
		{"sudo systemctl reload dispenserd", false, System},
		{"journalctl -u dispenserd", false, System},
		{"cat /etc/pillbox/device-token", false, System},
		{"pillctl gatt decode --hex \"1E ...\"", false, Listed},
		{"pillctl api", true, Mention},
		{"dispenserd --sim --listen", true, Mention},
		{"pillctl report --days 7 --out -", true, Run},
		{"export PATH=$PWD/data/bin:$PATH", false, Mention},
	}
	for _, tt := range tests {
		c := Command{File: "f.md", Line: 1, Text: tt.text, Inline: tt.inline}
		if got, why := Classify(c, tt.text, listed); got != tt.want {
			t.Errorf("Classify(%q, inline %v) = %s (%s), want %s", tt.text, tt.inline, got, why, tt.want)
		}
	}
}
