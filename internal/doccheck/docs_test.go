package doccheck

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Every command README.md and docs/*.md show runs as written, or is
// checked as far as it can be here (doccheck.go's classes), or is listed
// in testdata/not-run.txt with the reason it cannot run here.
//
// The commands of each file run in order, with bash (pipefail), in a
// scratch copy of what a reader has after `make run`: the example config
// as dispenser.yaml, ./data with the demo clinic and the simulated
// dispenser after a simulated day, dispenser.db and clinic.db copies of
// their databases, and the binaries on PATH. The test changes a command
// only where the reader's machine and this one must differ, as prepare
// says: the fixed ports become free ones, the installed system's files
// the scratch ones, the placeholders pt_... dv_... tk_... the ids the demo
// (or an earlier command) made.

const (
	repoRoot = "../.."
	notRun   = "testdata/not-run.txt"
)

// binaries are built once for the test, into one folder on PATH.
var binaries = []string{"dispenserd", "adherenced", "pillctl", "pillload", "pillstress"}

func TestDocCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and runs the docs' commands; not in -short")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatalf("the docs' commands are shell commands and need bash: %v", err)
	}
	bin := buildBinaries(t)
	listed, listLines := readNotRun(t)
	fixture := makeFixture(t, bin)
	mk := readMakefile(t)

	files := []string{"README.md"}
	docs, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		rel, _ := filepath.Rel(repoRoot, d)
		files = append(files, rel)
	}
	census := map[Class]int{}
	seen := map[string]bool{}
	total := 0
	for _, file := range files {
		src, err := os.ReadFile(filepath.Join(repoRoot, file))
		if err != nil {
			t.Fatal(err)
		}
		cmds := Extract(file, src)
		if len(cmds) == 0 {
			continue
		}
		r := newReader(t, bin, fixture)
		for _, c := range cmds {
			total++
			text := r.prepare(c.Text)
			class, why := Classify(c, text, listed)
			census[class]++
			if class == Listed {
				seen[c.Text] = true
			}
			var fail string
			switch class {
			case Run:
				fail = r.run(text)
			case Daemon:
				fail = r.daemon(text)
			case MakeTarget:
				fail = mk.check(text)
			case GoCommand:
				fail = checkGo(t, bin, text)
			}
			if testing.Verbose() {
				t.Logf("%s:%d: %-11s %s%s", c.File, c.Line, class, c.Text, ifNotEmpty(" -- ", why))
			}
			if fail != "" {
				ran := ""
				if text != c.Text {
					ran = "\n\tran as: " + text
				}
				t.Errorf("%s:%d: `%s` does not run as written (%s)%s\n\t%s\n\tFix the command in %s, or, if it cannot run on a developer's machine, "+
					"add it to internal/doccheck/%s with the reason.", c.File, c.Line, c.Text, class, ran,
					strings.ReplaceAll(fail, "\n", "\n\t"), c.File, notRun)
			}
		}
		r.close()
	}
	// The check itself can fail: commands broken as a doc could break
	// them are caught, each by the check its class gets.
	t.Run("broken examples fail", func(t *testing.T) {
		r := newReader(t, bin, fixture)
		defer r.close()
		for _, text := range []string{
			"pillctl pinmap --no-such-flag dispenser.yaml > pinmap.svg", // flag provided but not defined
			"pillctl no-such-subcommand",                                // usage
			"pillctl clinic device add pt_... --label",                  // a flag without its value
			"dispenserd --check-config examples/broken.yaml",            // exit status
			"curl -s localhost:8080/api/no-such-route | grep -q ok",     // pipefail
			"dispenserd --sim --config examples/broken.yaml",            // a daemon that does not start
		} {
			c := Command{File: "broken.md", Line: 1, Text: text}
			prepared := r.prepare(text)
			var fail string
			switch class, _ := Classify(c, prepared, nil); class {
			case Run:
				fail = r.run(prepared)
			case Daemon:
				fail = r.daemon(prepared)
			default:
				t.Errorf("Classify(%q) = %s, want run or daemon", text, class)
				continue
			}
			if fail == "" {
				t.Errorf("%q (run as %q) passed the check, want it to fail", text, prepared)
			}
		}
		if fail := mk.check("make run NO_SUCH_VAR=1 no-such-target"); !strings.Contains(fail, "NO_SUCH_VAR") || !strings.Contains(fail, "no-such-target") {
			t.Errorf("the make check of an unknown variable and target = %q, want both named", fail)
		}
		if fail := checkGo(t, bin, "go test -run TestNoSuchTest ./schedule/"); fail == "" {
			t.Errorf("the go test check passed a -run that names no test")
		}
		if fail := checkGo(t, bin, "pillctl backtest --no-such-flag"); fail == "" {
			t.Errorf("the harness check passed pillctl backtest --no-such-flag")
		}
	})

	for text, line := range listLines {
		if !seen[text] {
			t.Errorf("internal/doccheck/%s:%d lists `%s`, which README.md and docs/ no longer show: remove it from the list", notRun, line, text)
		}
	}
	t.Logf("docs commands: %d found in %d files; %d run, %d daemons started and stopped, %d make targets and %d go commands checked, "+
		"%d need the device's or server's system, %d only named in prose, %d listed in %s as not runnable here",
		total, len(files), census[Run], census[Daemon], census[MakeTarget], census[GoCommand], census[System], census[Mention], census[Listed], notRun)
}

func ifNotEmpty(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// readNotRun reads the list of commands that cannot run here: a command
// as the docs write it, a tab, and why.
func readNotRun(t *testing.T) (map[string]string, map[string]int) {
	t.Helper()
	b, err := os.ReadFile(notRun)
	if err != nil {
		t.Fatal(err)
	}
	why, lines := map[string]string{}, map[string]int{}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		cmd, reason, ok := strings.Cut(l, "\t")
		if !ok || strings.TrimSpace(reason) == "" {
			t.Fatalf("%s:%d: want the command, a tab and why it cannot run here; got %q", notRun, i+1, l)
		}
		cmd = strings.TrimSpace(cmd)
		if _, dup := why[cmd]; dup {
			t.Fatalf("%s:%d: %q is listed twice", notRun, i+1, cmd)
		}
		why[cmd], lines[cmd] = strings.TrimSpace(reason), i+1
	}
	return why, lines
}

func buildBinaries(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	args := []string{"build", "-o", bin + string(filepath.Separator)}
	for _, b := range binaries {
		args = append(args, "./cmd/"+b)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// fixture is the demo setup every file's commands start from.
type fixture struct {
	dir           string
	patient       string // the demo patient
	device, token string // the demo dispenser and a token id
}

// makeFixture runs the demo clinic and the simulated dispenser as make run
// does, lets a simulated day pass, stops them, and adds the files
// the docs name for a reader's own.
func makeFixture(t *testing.T, bin string) fixture {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "examples"), os.DirFS(filepath.Join(repoRoot, "examples"))); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(repoRoot, "examples", "dispenser.yaml"), filepath.Join(dir, "dispenser.yaml"))
	env := environ(bin, dir)
	clinicAddr, dispAddr := freeAddr(t), freeAddr(t)
	clinic, err := startDaemon(dir, env, fmt.Sprintf("adherenced --demo --data ./data/clinic --listen %s --demo-dispenser-config examples/dispenser.yaml", clinicAddr))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	disp, err := startDaemon(dir, env, fmt.Sprintf("dispenserd --sim --config ./data/clinic/demo-dispenser.yaml --data ./data/dispenser "+
		"--sim-state ./data/dispenser/world.json --listen %s", dispAddr))
	if err != nil {
		clinic.stop()
		t.Fatalf("fixture: %v", err)
	}
	// A simulated day: doses taken and missed, texts, in the dispenser's
	// database (the docs' reports read it).
	post(t, "http://"+dispAddr+"/api/sim/clock", `{"advance":"24h"}`)
	for _, d := range []*daemon{disp, clinic} {
		if err := d.stop(); err != "" {
			t.Fatalf("fixture: %s", err)
		}
	}
	copyFile(t, filepath.Join(dir, "data", "dispenser", "dispenser.db"), filepath.Join(dir, "dispenser.db"))
	copyFile(t, filepath.Join(dir, "data", "clinic", "clinic.db"), filepath.Join(dir, "clinic.db"))
	f := fixture{dir: dir}
	db := filepath.Join(dir, "data", "clinic", "clinic.db")
	f.patient = firstID(t, bin, "pt_", "clinic", "patients", "--db", db)
	f.device = firstID(t, bin, "dv_", "clinic", "devices", "--db", db)
	f.token = firstID(t, bin, "tk_", "clinic", "tokens", "--db", db)
	return f
}

var ids = map[string]*regexp.Regexp{
	"pt_": regexp.MustCompile(`\bpt_[0-9a-f]{8,}\b`),
	"dv_": regexp.MustCompile(`\bdv_[0-9a-z_-]{4,}\b`),
	"tk_": regexp.MustCompile(`\btk_[0-9a-f]{8,}\b`),
}

func firstID(t *testing.T, bin, prefix string, args ...string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(bin, "pillctl"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("fixture: pillctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	id := ids[prefix].FindString(string(out))
	if id == "" && prefix == "dv_" {
		id = "demo-dispenser" // the demo's device id
	}
	if id == "" {
		t.Fatalf("fixture: pillctl %s printed no %s id:\n%s", strings.Join(args, " "), prefix, out)
	}
	return id
}

// reader runs one file's commands in its own copy of the fixture.
type reader struct {
	t      *testing.T
	dir    string
	env    []string
	ids    map[string]string // placeholder prefix -> id
	live   *daemon           // a simulated dispenser for curl and pillctl api
	liveAt string
}

func newReader(t *testing.T, bin string, f fixture) *reader {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(f.dir)); err != nil {
		t.Fatal(err)
	}
	return &reader{t: t, dir: dir, env: environ(bin, dir),
		ids: map[string]string{"pt_": f.patient, "dv_": f.device, "tk_": f.token}}
}

func (r *reader) close() {
	if r.live != nil {
		if err := r.live.stop(); err != "" {
			r.t.Errorf("the simulated dispenser for curl: %s", err)
		}
	}
}

var (
	docPort    = regexp.MustCompile(`\b(localhost|127\.0\.0\.1):80[89]\d\b`)
	listenFlag = regexp.MustCompile(`--listen[ =]\S+`)
)

// prepare makes the changes a command needs to run here rather than on
// the reader's machine.
func (r *reader) prepare(text string) string {
	s := text
	// pillctl needs root only for the installed files, which the scratch
	// copy replaces; go run ./cmd/pillctl is the built pillctl.
	s = strings.ReplaceAll(s, "sudo pillctl ", "pillctl ")
	s = strings.ReplaceAll(s, "go run ./cmd/pillctl ", "pillctl ")
	s = strings.ReplaceAll(s, "/etc/pillbox/dispenser.yaml", "dispenser.yaml")
	s = strings.ReplaceAll(s, "/var/lib/pillbox-clinic", "data/clinic")
	for prefix, id := range r.ids {
		s = strings.ReplaceAll(s, prefix+"...", id)
	}
	ws := Words(s)
	if len(ws) > 2 && ws[0] == "pillctl" && ws[1] == "clinic" && !strings.Contains(s, "--db") && !strings.ContainsAny(s, "|;&") {
		s += " --db data/clinic/clinic.db" // pillctl clinic's default is the installed server's
	}
	if len(ws) > 1 && ws[0] == "pillctl" && ws[1] == "api" && !strings.Contains(s, "--url") {
		s += " --url http://" + r.liveAddr()
	}
	if len(ws) > 0 && (ws[0] == "dispenserd" || ws[0] == "adherenced") {
		return s // prepareDaemon gives it a port
	}
	if docPort.MatchString(s) {
		s = docPort.ReplaceAllString(s, r.liveAddr())
	}
	return s
}

// liveAddr starts the simulated dispenser curl commands talk to.
func (r *reader) liveAddr() string {
	if r.live == nil {
		r.liveAt = freeAddr(r.t)
		d, err := startDaemon(r.dir, r.env, "dispenserd --sim --config examples/dispenser.yaml --data .live --listen "+r.liveAt)
		if err != nil {
			r.t.Fatalf("the simulated dispenser for curl: %v", err)
		}
		r.live = d
	}
	return r.liveAt
}

// usage is what a command that was given wrong flags or arguments prints,
// even where it exits 0.
var usage = regexp.MustCompile(`(?im)^\s*usage:|flag provided but not defined`)

// help is a command asking for its usage.
var help = regexp.MustCompile(`(^|\s)--?(h|help)(\s|$)`)

// run runs a command to completion; it returns why it failed, or "".
func (r *reader) run(text string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", text)
	cmd.Dir, cmd.Env = r.dir, r.env
	ownGroup(cmd)
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.CombinedOutput()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // anything it left behind
	}
	for prefix, re := range ids {
		if id := re.FindString(string(out)); id != "" {
			r.ids[prefix] = id // later commands' placeholders mean this one
		}
	}
	switch {
	case ctx.Err() != nil:
		return "still running after 3 minutes; output:\n" + clip(out)
	case err != nil:
		return fmt.Sprintf("%v; output:\n%s", err, clip(out))
	case usage.Match(out) && !help.MatchString(text):
		return "it printed usage:\n" + clip(out)
	case strings.HasPrefix(text, "curl ") && strings.Contains(string(out), `"error"`):
		return "the API answered an error:\n" + clip(out)
	}
	return ""
}

// daemon starts a daemon command on a free port, waits until it says it
// is ready, and stops it; it returns why it failed, or "".
func (r *reader) daemon(text string) string {
	addr := freeAddr(r.t)
	if listenFlag.MatchString(text) {
		text = listenFlag.ReplaceAllString(text, "--listen "+addr)
	} else {
		text += " --listen " + addr
	}
	d, err := startDaemon(r.dir, r.env, text)
	if err != nil {
		return err.Error()
	}
	return d.stop()
}

// daemon is a dispenserd or adherenced started by the test.
type daemon struct {
	cmd  *exec.Cmd
	done chan error
	mu   sync.Mutex
	log  strings.Builder
}

// startDaemon starts a daemon command and returns once it logs that it is
// ready; an error says why not, with its log.
func startDaemon(dir string, env []string, text string) (*daemon, error) {
	cmd := exec.Command("bash", "-c", "exec "+text)
	cmd.Dir, cmd.Env = dir, env
	ownGroup(cmd)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d := &daemon{cmd: cmd, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := false
		for sc.Scan() {
			d.mu.Lock()
			d.log.WriteString(sc.Text() + "\n")
			d.mu.Unlock()
			if !once && strings.Contains(sc.Text(), ": ready") {
				once = true
				close(ready)
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		d.done <- err
	}()
	select {
	case <-ready:
		return d, nil
	case err := <-d.done:
		d.done <- err
		return nil, fmt.Errorf("it stopped before it was ready (%v); its log:\n%s", err, clip([]byte(d.logText())))
	case <-time.After(60 * time.Second):
		d.stop()
		return nil, fmt.Errorf("it did not say it was ready within 60s; its log:\n%s", clip([]byte(d.logText())))
	}
}

func (d *daemon) logText() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// stop ends the daemon as systemd would, its whole process group; it
// returns why it did not stop cleanly, or "".
func (d *daemon) stop() string {
	syscall.Kill(-d.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			return fmt.Sprintf("it did not stop cleanly on SIGTERM (%v); its log:\n%s", err, clip([]byte(d.logText())))
		}
		return ""
	case <-time.After(30 * time.Second):
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
		return "it did not stop within 30s of SIGTERM; its log:\n" + clip([]byte(d.logText()))
	}
}

// ownGroup puts a command and whatever it starts in a process group of
// their own, which a timeout or stop ends together: a command that leaves
// a process behind (cmd &) must not outlive the test.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
}

// makefile is what the Makefile defines.
type makefile struct{ targets, vars map[string]bool }

func readMakefile(t *testing.T) makefile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := makefile{targets: map[string]bool{}, vars: map[string]bool{}}
	rule := regexp.MustCompile(`^([A-Za-z0-9_. -]+):([^=]|$)`)
	variable := regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*[?:+]?=`)
	for _, l := range strings.Split(string(b), "\n") {
		if v := variable.FindStringSubmatch(l); v != nil {
			m.vars[v[1]] = true
		} else if r := rule.FindStringSubmatch(l); r != nil {
			for _, name := range strings.Fields(r[1]) {
				m.targets[name] = true
			}
		}
	}
	return m
}

// check says which target or variable a make command names that the
// Makefile does not have.
func (m makefile) check(text string) string {
	var bad []string
	for _, w := range Words(text)[1:] {
		if name, _, ok := strings.Cut(w, "="); ok {
			if !m.vars[name] {
				bad = append(bad, "no variable "+name)
			}
		} else if !strings.HasPrefix(w, "-") && !m.targets[w] {
			bad = append(bad, "no target "+w)
		}
	}
	if len(bad) > 0 {
		return "the Makefile has " + strings.Join(bad, ", ")
	}
	return ""
}

// goTestFlags are go test's own flags that take a value.
var goTestFlags = map[string]bool{"run": true, "bench": true, "benchtime": true, "count": true, "cpu": true, "o": true,
	"timeout": true, "fuzz": true, "fuzztime": true, "list": true, "skip": true, "p": true, "tags": true, "coverprofile": true}

// checkGo checks a go test or go run of a harness without running it: the
// packages exist, the -run or -bench pattern names a test in them, and
// the flags exist. It returns why not, or "".
func checkGo(t *testing.T, bin, text string) string {
	ws := Words(text)
	for len(ws) > 0 && assignment.MatchString(ws[0]) {
		ws = ws[1:]
	}
	switch {
	case ws[0] == "pillctl": // pillctl backtest (Classify)
		return checkHarnessFlags(bin, ws[:2], ws[2:])
	case ws[1] == "run":
		return checkHarnessFlags(bin, []string{filepath.Base(ws[2])}, ws[3:])
	}
	var pkgs, patterns, testFlags []string
	for i := 2; i < len(ws); i++ {
		w := ws[i]
		switch {
		case strings.HasPrefix(w, "./"):
			pkgs = append(pkgs, w)
		case strings.HasPrefix(w, "-"):
			name := strings.TrimLeft(w, "-")
			name, val, hasVal := strings.Cut(name, "=")
			if !goTestFlags[name] && !slices.Contains([]string{"v", "race", "c", "json", "short", "benchmem", "failfast", "cover"}, name) {
				testFlags = append(testFlags, name) // the test binary's own
				continue
			}
			if goTestFlags[name] && !hasVal && i+1 < len(ws) {
				i++
				val = ws[i]
			}
			if name == "run" || name == "bench" {
				patterns = append(patterns, val)
			}
		}
	}
	cmd := exec.Command("go", append([]string{"list", "-f", "{{.Dir}}"}, pkgs...)...)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Sprintf("go list %s: %v\n%s", strings.Join(pkgs, " "), err, out)
	}
	var names []string
	var sources strings.Builder
	fn := regexp.MustCompile(`(?m)^func ((Test|Benchmark|Fuzz|Example)\w*)\(`)
	for _, dir := range strings.Fields(string(out)) {
		files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			sources.Write(b)
			for _, m := range fn.FindAllStringSubmatch(string(b), -1) {
				names = append(names, m[1])
			}
		}
	}
	for _, p := range patterns {
		if p == "^$" || p == "." {
			continue
		}
		top, _, _ := strings.Cut(p, "/")
		re, err := regexp.Compile(top)
		if err != nil {
			return fmt.Sprintf("the pattern %q is not a regular expression: %v", p, err)
		}
		if !slices.ContainsFunc(names, re.MatchString) {
			return fmt.Sprintf("no test, benchmark or fuzz target in %s matches %q", strings.Join(pkgs, " "), p)
		}
	}
	for _, f := range testFlags {
		if !strings.Contains(sources.String(), `"`+f+`"`) {
			return fmt.Sprintf("the tests of %s define no flag -%s", strings.Join(pkgs, " "), f)
		}
	}
	return ""
}

// checkHarnessFlags says which flags of a harness (its program and
// subcommand, name) its -h does not list.
func checkHarnessFlags(bin string, name, args []string) string {
	out, _ := exec.Command(filepath.Join(bin, name[0]), slices.Concat(name[1:], []string{"-h"})...).CombinedOutput()
	var bad []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		flag, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(flag) + `\b`).Match(out) {
			bad = append(bad, "-"+flag)
		}
	}
	if len(bad) > 0 {
		return fmt.Sprintf("%s -h lists no %s:\n%s", strings.Join(name, " "), strings.Join(bad, ", "), clip(out))
	}
	return ""
}

// `make run` builds pillctl too (the docs go on to use it), and LISTEN and
// CLINIC (which the README names) move the two daemons' ports.
func TestMakeRun(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make is needed to read the Makefile's run target: %v", err)
	}
	tests := []struct {
		name string
		vars []string
		want []string
	}{
		{"defaults", nil, []string{"./cmd/pillctl", "adherenced --demo --data ./data/clinic --listen 127.0.0.1:8090",
			"--listen 127.0.0.1:8080"}},
		{"other ports", []string{"LISTEN=127.0.0.1:9080", "CLINIC=127.0.0.1:9090"},
			[]string{"--listen 127.0.0.1:9090", "--listen 127.0.0.1:9080"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("make", append([]string{"-n", "run"}, tt.vars...)...)
			cmd.Dir = repoRoot
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("make -n run %s: %v\n%s", strings.Join(tt.vars, " "), err, out)
			}
			build := ""
			for _, l := range strings.Split(string(out), "\n") {
				if strings.Contains(l, " build ") {
					build = l
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("make -n run %s lacks %q:\n%s", strings.Join(tt.vars, " "), w, out)
				}
			}
			if !strings.Contains(build, "./cmd/pillctl") {
				t.Errorf("make run builds %q, want pillctl among the binaries", build)
			}
		})
	}
}

func environ(bin, dir string) []string {
	env := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + filepath.Join(dir, ".home")}
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOPROXY", "TMPDIR", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func post(t *testing.T, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s = %s: %s", url, resp.Status, b)
	}
}

// clip keeps the end of long output, where the error is.
func clip(b []byte) string {
	s := strings.TrimRight(string(b), "\n")
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return s
}
