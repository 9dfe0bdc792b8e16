package pgtest

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sys/unix"
)

// helperEnv makes the test binary a stand-in for a test process that is
// killed while its cluster runs (see TestKilledTestProcess): it starts a
// cluster under the folder the variable names, prints where, and waits.
const (
	helperEnv      = "PGTEST_HELPER_TMP"
	helperDeathEnv = "PGTEST_HELPER_DEATHSIG"
)

func TestMain(m *testing.M) {
	if tmp := os.Getenv(helperEnv); tmp != "" {
		helperMain(tmp, os.Getenv(helperDeathEnv) == "1")
	}
	Main(m, Settings{})
}

func helperMain(tmp string, deathSignal bool) {
	c, err := startCluster(tmp, Settings{}, func(string, ...any) {}, deathSignal)
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Println("READY", c.dir, c.cmd.Process.Pid, c.url("postgres"))
	select {} // until killed
}

func connect(t *testing.T, connString string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), connString)
	if err != nil {
		t.Fatalf("pgxpool.New: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := connect(t, New(t))
	if _, err := pool.Exec(ctx, `CREATE TABLE events (id text PRIMARY KEY, seq bigint NOT NULL UNIQUE,
at timestamptz NOT NULL, detail text)`); err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID     string
		Seq    int64
		At     time.Time
		Detail *string
	}
	text := "pills=1 éàü"
	want := []row{
		{"ev-1", 1, time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC), &text},
		{"ev-2", 2, time.Date(2026, 12, 7, 8, 0, 3, 500_000_000, time.UTC), nil},
		{"ev-3", 3, time.Date(2026, 12, 7, 8, 5, 0, 0, time.UTC), &text},
	}
	insert := func() int64 {
		var b pgx.Batch
		for _, r := range want {
			b.Queue(`INSERT INTO events VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`, r.ID, r.Seq, r.At, r.Detail)
		}
		br := pool.SendBatch(ctx, &b)
		defer br.Close()
		var n int64
		for range want {
			tag, err := br.Exec()
			if err != nil {
				t.Fatal(err)
			}
			n += tag.RowsAffected()
		}
		return n
	}
	if n := insert(); n != 3 {
		t.Errorf("first insert stored %d rows, want 3", n)
	}
	if n := insert(); n != 0 {
		t.Errorf("second insert of the same rows stored %d, want 0", n)
	}
	rows, err := pool.Query(ctx, `SELECT id, seq, at, detail FROM events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d rows, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Seq != w.Seq || !g.At.Equal(w.At) || (g.Detail == nil) != (w.Detail == nil) ||
			(g.Detail != nil && *g.Detail != *w.Detail) {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
	}
}

// The server listens on its socket only, with the fast settings.
func TestServerSettings(t *testing.T) {
	t.Parallel()
	pool := connect(t, New(t))
	tests := []struct{ setting, want string }{
		{"listen_addresses", ""},
		{"fsync", "off"},
		{"synchronous_commit", "off"},
		{"full_page_writes", "off"},
		{"server_encoding", "UTF8"},
	}
	for _, tt := range tests {
		t.Run(tt.setting, func(t *testing.T) {
			var got string
			if err := pool.QueryRow(context.Background(), "SHOW "+tt.setting).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("SHOW %s = %q, want %q", tt.setting, got, tt.want)
			}
		})
	}
	var addr *string
	if err := pool.QueryRow(context.Background(), "SELECT host(inet_server_addr())").Scan(&addr); err != nil {
		t.Fatal(err)
	}
	if addr != nil {
		t.Errorf("connected over TCP to %s, want the Unix socket", *addr)
	}
}

func TestServerSettingsDurable(t *testing.T) {
	fast := []string{"fsync=off", "synchronous_commit=off", "full_page_writes=off"}
	tests := []struct {
		s        Settings
		wantFast bool
	}{
		{Settings{}, true},
		{Settings{Durable: true}, false},
	}
	for _, tt := range tests {
		got := serverSettings(tt.s, "/sock")
		for _, f := range fast {
			if slices.Contains(got, f) != tt.wantFast {
				t.Errorf("serverSettings(%+v) has %s: %t, want %t", tt.s, f, !tt.wantFast, tt.wantFast)
			}
		}
		if !slices.Contains(got, "listen_addresses=") || !slices.Contains(got, "unix_socket_directories=/sock") {
			t.Errorf("serverSettings(%+v) = %q, want a socket in /sock and no TCP", tt.s, got)
		}
	}
}

func dbName(t *testing.T, connString string) string {
	t.Helper()
	u, err := url.Parse(connString)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

func dbExists(t *testing.T, pool *pgxpool.Pool, name string) bool {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// Each test gets its own empty database, dropped when the test ends.
func TestFreshDatabases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := New(t), New(t)
	if a == b {
		t.Fatalf("two New calls returned the same database %s", a)
	}
	pa, pb := connect(t, a), connect(t, b)
	if _, err := pa.Exec(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	var reg *string
	if err := pb.QueryRow(ctx, "SELECT to_regclass('public.only_in_a')::text").Scan(&reg); err != nil {
		t.Fatal(err)
	}
	if reg != nil {
		t.Errorf("a table made in %s is in %s too", dbName(t, a), dbName(t, b))
	}
	var inner string
	t.Run("inner", func(t *testing.T) {
		inner = New(t)
		p := connect(t, inner)
		if err := p.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if dbExists(t, pa, dbName(t, inner)) {
		t.Errorf("database %s still exists after its test ended", dbName(t, inner))
	}
}

var (
	prepared int
	fixture  = NewTemplate("fixture", func(ctx context.Context, connString string) error {
		prepared++
		conn, err := pgx.Connect(ctx, connString)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "CREATE TABLE patients (id text PRIMARY KEY); INSERT INTO patients VALUES ('pt_1')")
		return err
	})
)

// A template is built once and copied; the copies are independent.
func TestTemplate(t *testing.T) {
	ctx := context.Background()
	count := func(pool *pgxpool.Pool) int {
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM patients").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	one := connect(t, fixture.New(t))
	if _, err := one.Exec(ctx, "INSERT INTO patients VALUES ('pt_2')"); err != nil {
		t.Fatal(err)
	}
	two := connect(t, fixture.New(t))
	if got := count(one); got != 2 {
		t.Errorf("patients in the first copy = %d, want 2", got)
	}
	if got := count(two); got != 1 {
		t.Errorf("patients in the second copy = %d, want 1 (the first copy's insert leaked)", got)
	}
	if prepared != 1 {
		t.Errorf("the template was prepared %d times, want 1", prepared)
	}
}

func TestNewTemplateName(t *testing.T) {
	tests := []struct {
		name  string
		panic bool
	}{
		{"store_v1", false},
		{"Store", true},
		{"1store", true},
		{"a; DROP DATABASE postgres", true},
		{strings.Repeat("a", 41), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if got := recover() != nil; got != tt.panic {
					t.Errorf("NewTemplate(%q) panicked: %t, want %t", tt.name, got, tt.panic)
				}
			}()
			NewTemplate(tt.name, nil)
		})
	}
}

// fakeServer makes a folder with the three programs findBin looks for.
func fakeServer(t *testing.T, dir string, progs ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range progs {
		if err := os.WriteFile(filepath.Join(dir, p), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindBin(t *testing.T) {
	all := []string{"initdb", "postgres", "pg_ctl"}
	tests := []struct {
		name     string
		versions map[string][]string // version folder -> programs in its bin
		want     string              // version folder, "" for none
	}{
		{"newest by number, not by text", map[string][]string{"9.6": all, "13": all, "15": all}, "15"},
		{"a version without its server is passed over", map[string][]string{"13": all, "16": {"initdb"}}, "13"},
		{"no server at all", map[string][]string{"15": {"psql"}}, ""},
		{"nothing installed", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			t.Setenv("PATH", t.TempDir()) // no initdb on PATH either
			for v, progs := range tt.versions {
				fakeServer(t, filepath.Join(root, v, "bin"), progs...)
			}
			got, err := findBin(filepath.Join(root, "*", "bin"))
			if tt.want == "" {
				if err == nil {
					t.Fatalf("findBin = %s, want no server", got)
				}
				if _, ok := err.(*noServerError); !ok {
					t.Errorf("findBin error %T (%v), want a *noServerError (a skip, not a failure)", err, err)
				}
				return
			}
			if want := filepath.Join(root, tt.want, "bin"); got != want || err != nil {
				t.Errorf("findBin = %s, %v, want %s", got, err, want)
			}
		})
	}
	t.Run("from PATH", func(t *testing.T) {
		bin, link := t.TempDir(), t.TempDir()
		fakeServer(t, bin, all...)
		if err := os.Symlink(filepath.Join(bin, "initdb"), filepath.Join(link, "initdb")); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", link)
		if got, err := findBin(filepath.Join(t.TempDir(), "*", "bin")); got != bin || err != nil {
			t.Errorf("findBin = %s, %v, want %s (the folder the initdb on PATH links to)", got, err, bin)
		}
	})
}

// recorder is a testing.TB that records a skip or a fatal failure.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()           {}
func (r *recorder) Skip(args ...any)  { r.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Fatal(args ...any) { r.failed = fmt.Sprint(args...); runtime.Goexit() }

func TestSkipOrFail(t *testing.T) {
	tests := []struct {
		env      string
		wantFail bool
	}{
		{"", false},
		{"0", false},
		{"1", true},
	}
	for _, tt := range tests {
		t.Run("env="+tt.env, func(t *testing.T) {
			t.Setenv(RequireEnv, tt.env)
			r := &recorder{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				skipOrFail(r, "no initdb here")
			}()
			<-done
			got := r.skipped
			if tt.wantFail {
				got = r.failed
			}
			if !strings.Contains(got, "no initdb here") || !strings.Contains(got, "apt-get install postgresql") {
				t.Errorf("skipOrFail with %s=%q: skipped %q, failed %q; want a %s naming the reason and the fix",
					RequireEnv, tt.env, r.skipped, r.failed, map[bool]string{true: "failure", false: "skip"}[tt.wantFail])
			}
			if !tt.wantFail && !strings.HasPrefix(r.skipped, "SKIPPED, NOT PASSED") {
				t.Errorf("skip message %q does not start with SKIPPED, NOT PASSED", r.skipped)
			}
		})
	}
}

// deadPid returns the pid of a process that has ended.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.Pid()
}

// stageTmp makes a temp folder the server's account can pass through.
func stageTmp(t *testing.T) string {
	t.Helper()
	tmp, err := os.MkdirTemp("", "pgtest-stale-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	if err := os.Chmod(tmp, 0o711); err != nil {
		t.Fatal(err)
	}
	return tmp
}

func TestCleanStale(t *testing.T) {
	tmp := stageTmp(t)
	dead := deadPid(t)
	mk := func(name string, lockFile, hold bool) string {
		dir := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
			t.Fatal(err)
		}
		if !lockFile {
			return dir
		}
		f, err := os.Create(filepath.Join(dir, "lock"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		if hold {
			if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	tests := []struct {
		name      string
		dir       string
		wantKept  bool
		situation string
	}{
		{"locked", mk(fmt.Sprintf("%s%d-a", dirPrefix, dead), true, true), true, "its lock is held (its test process runs)"},
		{"unlocked", mk(fmt.Sprintf("%s%d-b", dirPrefix, os.Getpid()), true, false), false, "its lock is free (its test process ended)"},
		{"no lock, live pid", mk(fmt.Sprintf("%s%d-c", dirPrefix, os.Getpid()), false, false), true, "its process, alive, has not locked it yet"},
		{"no lock, dead pid", mk(fmt.Sprintf("%s%d-d", dirPrefix, dead), false, false), false, "its process died before locking it"},
		{"not a cluster", mk("pillbox-other-e", false, false), true, "it is not a cluster folder"},
	}
	var logs []string
	cleanStale(tmp, func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) })
	for _, tt := range tests {
		_, err := os.Stat(tt.dir)
		if kept := err == nil; kept != tt.wantKept {
			t.Errorf("%s: after cleanStale the folder exists: %t, want %t, as %s", tt.name, kept, tt.wantKept, tt.situation)
		}
	}
	if removed := 2; len(logs) != removed {
		t.Errorf("cleanStale logged %q, want one line per removed folder (%d)", logs, removed)
	}
}

// A test process killed while its cluster runs leaves no server behind
// (with the death signal the postmaster stops itself; without it, as for a
// postmaster that outlived its test process anyway, the next cleanStale
// stops it), and its folder is removed by the next run. Meanwhile its
// cluster and this process's are two separate servers.
func TestKilledTestProcess(t *testing.T) {
	ownDataDir := func() string {
		var d string
		if err := connect(t, New(t)).QueryRow(context.Background(), "SHOW data_directory").Scan(&d); err != nil {
			t.Fatal(err)
		}
		return d
	}()
	for _, deathSignal := range []bool{true, false} {
		t.Run(fmt.Sprintf("deathsignal=%t", deathSignal), func(t *testing.T) {
			t.Parallel()
			tmp := stageTmp(t)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"="+tmp, helperDeathEnv+"="+map[bool]string{true: "1", false: "0"}[deathSignal])
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			line, err := bufio.NewReader(out).ReadString('\n')
			f := strings.Fields(line)
			if err != nil || len(f) != 4 || f[0] != "READY" {
				t.Fatalf("helper said %q (%v), want READY DIR PID URL", line, err)
			}
			dir, connString := f[1], f[3]
			pid, err := strconv.Atoi(f[2])
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) }) // if the test failed halfway

			var theirs string
			if err := connect(t, connString).QueryRow(context.Background(), "SHOW data_directory").Scan(&theirs); err != nil {
				t.Fatal(err)
			}
			if theirs == ownDataDir || !strings.HasPrefix(theirs, dir) {
				t.Errorf("the helper's server serves %s, want its own folder under %s (not ours, %s)", theirs, dir, ownDataDir)
			}

			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			if deathSignal {
				if err := waitGone(pid, time.Minute); err != nil {
					t.Fatalf("postmaster after its test process was killed: %v", err)
				}
			} else if !alive(pid) {
				t.Fatal("without the death signal the postmaster should have outlived its test process")
			}
			cleanStale(tmp, t.Logf)
			if err := waitGone(pid, 0); err != nil {
				t.Errorf("postmaster after cleanStale: %v", err)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("stale cluster folder %s still there after cleanStale (%v)", dir, err)
			}
		})
	}
}
