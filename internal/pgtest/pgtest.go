// Package pgtest gives tests a real PostgreSQL: Debian's server, in a
// throwaway cluster this test process starts on first use (initdb in a temp
// folder, a Unix socket only, no TCP), and a fresh database for each test.
// One cluster serves every test of a package's test binary; Main stops it
// (pg_ctl stop) and removes its folder when the tests end.
//
// Without a server the tests that ask for one are skipped, loudly, with the
// reason; with PILLBOX_REQUIRE_POSTGRES=1 (CI sets it) they fail instead,
// so that a missing server never reads as a pass.
//
// Two test binaries running at once (go test runs packages in parallel)
// each have their own folder, socket and postmaster. A binary that dies
// without running Main's cleanup (killed, timed out) takes its postmaster
// with it (the postmaster gets SIGQUIT, PostgreSQL's immediate shutdown,
// when the test process ends); its folder is removed by the next test
// process that starts a cluster.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// RequireEnv is the variable that turns a skip for want of a server into
// a failure.
const RequireEnv = "PILLBOX_REQUIRE_POSTGRES"

// Settings are the cluster's, for all the tests of a package.
type Settings struct {
	// Durable keeps fsync, synchronous_commit and full_page_writes on, as
	// on a production server. Off (the default) the cluster never waits
	// for the disk, which makes tests several times faster and is
	// acceptable only for tests that do not measure durability or commit
	// cost: benchmarks of writes and crash tests must set it.
	Durable bool
}

var (
	mu         sync.Mutex
	mainCalled bool
	settings   Settings
	shared     *cluster
	sharedErr  error
	started    bool
)

// Main runs the package's tests with s and then stops the cluster, if a
// test started one, and exits. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m, pgtest.Settings{}) }
func Main(m *testing.M, s Settings) {
	mu.Lock()
	mainCalled, settings = true, s
	mu.Unlock()
	code := m.Run()
	mu.Lock()
	c := shared
	mu.Unlock()
	if c != nil {
		if err := c.stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// New returns the pgx connection string (a postgres:// URL) of a new,
// empty database, dropped when the test ends. The first call of the
// process starts the cluster (a few seconds); it skips or fails the test
// when there is no server (see the package doc).
func New(t testing.TB) string {
	t.Helper()
	return get(t).newDatabase(t, "template0")
}

// Template is a database built once per test process (migrations,
// fixtures) and copied for each test that asks for it, which is much faster
// than building it again for each test.
type Template struct {
	name    string
	prepare func(ctx context.Context, connString string) error

	once sync.Once
	err  error
}

var templateName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// NewTemplate declares a template database called name (lower-case letters,
// digits and _) that prepare fills through connString; prepare must close
// its connections before it returns (PostgreSQL copies only a database
// nobody is connected to). Declare it in a package variable; it is built
// on first use.
func NewTemplate(name string, prepare func(ctx context.Context, connString string) error) *Template {
	if !templateName.MatchString(name) {
		panic(fmt.Sprintf("pgtest: template name %q: want lower-case letters, digits and _, at most 40", name))
	}
	return &Template{name: "tmpl_" + name, prepare: prepare}
}

// New returns the connection string of a new database copied from the
// template, dropped when the test ends.
func (tp *Template) New(t testing.TB) string {
	t.Helper()
	c := get(t)
	tp.once.Do(func() { tp.err = c.buildTemplate(tp.name, tp.prepare) })
	if tp.err != nil {
		t.Fatalf("pgtest: template %s: %v", tp.name, tp.err)
	}
	return c.newDatabase(t, tp.name)
}

// get returns the process's cluster, starting it on first use.
func get(t testing.TB) *cluster {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if !mainCalled {
		t.Fatal("pgtest: call pgtest.Main(m, pgtest.Settings{...}) from TestMain, so that the cluster is stopped when the tests end")
	}
	if !started {
		started = true
		shared, sharedErr = startCluster(os.TempDir(), settings, t.Logf, true)
	}
	var missing *noServerError
	switch {
	case errors.As(sharedErr, &missing):
		skipOrFail(t, missing.Error())
	case sharedErr != nil:
		t.Fatal(sharedErr)
	}
	return shared
}

// noServerError says why there is no server to start: the one case that
// skips rather than fails.
type noServerError struct{ reason string }

func (e *noServerError) Error() string { return e.reason }

// skipOrFail skips t, loudly, or fails it when RequireEnv is set.
func skipOrFail(t testing.TB, reason string) {
	t.Helper()
	msg := "PostgreSQL test needs Debian's postgresql (apt-get install postgresql): " + reason
	if os.Getenv(RequireEnv) == "1" {
		t.Fatal(msg + " (" + RequireEnv + "=1)")
	}
	t.Skip("SKIPPED, NOT PASSED: " + msg)
}

// dbCounter numbers the databases of the process.
var dbCounter struct {
	sync.Mutex
	n int
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

// newDatabase creates a database from template for t and drops it when t
// ends; its name carries the test's, for reading the server log.
func (c *cluster) newDatabase(t testing.TB, template string) string {
	t.Helper()
	dbCounter.Lock()
	dbCounter.n++
	n := dbCounter.n
	dbCounter.Unlock()
	name := fmt.Sprintf("t%d_%s", n, unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "_"))
	if len(name) > 63 {
		name = name[:63]
	}
	if err := c.admin(func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{template}.Sanitize())
		return err
	}); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		// FORCE ends connections a test left open, so that a leak shows
		// as that test's error (its pool fails), not as this one.
		if err := c.admin(func(ctx context.Context, conn *pgx.Conn) error {
			_, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
			return err
		}); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return c.url(name)
}

// buildTemplate creates the template database and lets prepare fill it.
func (c *cluster) buildTemplate(name string, prepare func(ctx context.Context, connString string) error) error {
	if err := c.admin(func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0")
		return err
	}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return prepare(ctx, c.url(name))
}

// url is the connection string of database name.
func (c *cluster) url(name string) string {
	q := url.Values{"host": {c.sock}, "sslmode": {"disable"}}
	return (&url.URL{Scheme: "postgres", User: url.User(superuser), Path: "/" + name, RawQuery: q.Encode()}).String()
}

// admin runs f on the cluster's maintenance connection, one at a time
// (CREATE DATABASE copies a template nobody may be connected to).
func (c *cluster) admin(f func(ctx context.Context, conn *pgx.Conn) error) error {
	c.adminMu.Lock()
	defer c.adminMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if c.adminConn == nil || c.adminConn.IsClosed() {
		conn, err := pgx.Connect(ctx, c.url("postgres"))
		if err != nil {
			return err
		}
		c.adminConn = conn
	}
	return f(ctx, c.adminConn)
}
