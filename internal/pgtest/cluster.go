package pgtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sys/unix"
)

// debianBins is where Debian's postgresql packages put the server, one
// folder per major version.
const debianBins = "/usr/lib/postgresql/*/bin"

// superuser is the cluster's superuser role (initdb -U).
const superuser = "postgres"

// dirPrefix names a cluster's folder in the temp folder, followed by the
// pid of the test process that owns it.
const dirPrefix = "pillbox-pgtest-"

// unprivileged is the account the server runs as when the tests run as
// root: initdb and postgres refuse to run as root.
const unprivileged = "nobody"

// cluster is a running throwaway PostgreSQL.
type cluster struct {
	bin  string // the folder of initdb, postgres and pg_ctl
	dir  string // everything of this cluster; removed by stop
	data string
	sock string // the Unix socket's folder
	cred *syscall.Credential
	lock *os.File // flocked while this process owns dir

	cmd    *exec.Cmd
	exited chan struct{} // closed when the postmaster has exited
	logs   *logTail

	adminMu   sync.Mutex
	adminConn *pgx.Conn
	stopOnce  sync.Once
	stopErr   error
}

// findBin returns the folder of the newest server under glob, or of the
// initdb on PATH.
func findBin(glob string) (string, error) {
	dirs, _ := filepath.Glob(glob)
	type found struct {
		dir     string
		version []int
	}
	var fs []found
	for _, d := range dirs {
		if !hasServer(d) {
			continue
		}
		var v []int
		for _, p := range strings.Split(filepath.Base(filepath.Dir(d)), ".") {
			n, err := strconv.Atoi(p)
			if err != nil {
				v = nil
				break
			}
			v = append(v, n)
		}
		if v != nil {
			fs = append(fs, found{d, v})
		}
	}
	if len(fs) > 0 {
		return slices.MaxFunc(fs, func(a, b found) int { return slices.Compare(a.version, b.version) }).dir, nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && hasServer(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
	}
	return "", &noServerError{fmt.Sprintf("no initdb, postgres and pg_ctl in %s or on PATH", glob)}
}

func hasServer(dir string) bool {
	for _, b := range []string{"initdb", "postgres", "pg_ctl"} {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// startCluster makes a cluster in a new folder under tmp and starts it.
// With deathSignal the postmaster gets SIGQUIT (immediate shutdown) when
// this process ends, so that a killed test leaves no server running.
func startCluster(tmp string, s Settings, logf func(string, ...any), deathSignal bool) (_ *cluster, err error) {
	bin, err := findBin(debianBins)
	if err != nil {
		return nil, err
	}
	cleanStale(tmp, logf)
	c := &cluster{bin: bin, exited: make(chan struct{}), logs: &logTail{}}
	if c.dir, err = os.MkdirTemp(tmp, fmt.Sprintf("%s%d-", dirPrefix, os.Getpid())); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	defer func() {
		if err != nil {
			c.stop()
		}
	}()
	// The lock file appears already locked (made under another name, then
	// renamed), so that no other process's cleanStale can take it for a
	// dead one's in between.
	if c.lock, err = os.Create(filepath.Join(c.dir, "lock.new")); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if err := unix.Flock(int(c.lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return nil, fmt.Errorf("pgtest: lock %s: %w", c.dir, err)
	}
	if err := os.Rename(c.lock.Name(), filepath.Join(c.dir, "lock")); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c.data, c.sock = filepath.Join(c.dir, "data"), filepath.Join(c.dir, "sock")
	// The socket's path must fit in sockaddr_un (108 bytes with the NUL).
	if n := len(c.sock) + len("/.s.PGSQL.5432"); n > 107 {
		return nil, fmt.Errorf("pgtest: socket path %s is %d bytes, over the 107 a Unix socket allows: set TMPDIR to a shorter folder", c.sock, n)
	}
	if c.cred, err = serverCredential(); err != nil {
		return nil, err
	}
	for _, d := range []string{c.data, c.sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, fmt.Errorf("pgtest: %w", err)
		}
		if c.cred != nil {
			if err := os.Chown(d, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
				return nil, fmt.Errorf("pgtest: %w", err)
			}
		}
	}
	if c.cred != nil {
		// The server's account must pass through the folder to its own
		// data and socket folders; it cannot list it.
		if err := os.Chmod(c.dir, 0o711); err != nil {
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	// --no-sync: a throwaway cluster need not survive a power cut.
	initdb := c.command("initdb", "-D", c.data, "-U", superuser, "--auth=trust", "-E", "UTF8", "--locale=C",
		"--no-sync", "--no-instructions")
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pgtest: initdb: %v\n%s", err, out)
	}
	if err := c.startServer(s, deathSignal); err != nil {
		return nil, err
	}
	logf("pgtest: PostgreSQL cluster in %s (server %s, durable=%t)", c.dir, bin, s.Durable)
	return c, nil
}

// serverCredential is the account to run the server as: nil (this
// process's) unless this process is root.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(unprivileged)
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root, and the server cannot run as root: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pgtest: user %s: %w", unprivileged, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// command runs one of the server's programs as the server's account, in
// an environment without PG* variables that would point it elsewhere.
func (c *cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = []string{"LC_ALL=C", "PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd
}

// serverSettings are the postgres -c options: a socket only, and the
// speed settings unless s.Durable.
func serverSettings(s Settings, sock string) []string {
	opts := []string{
		"listen_addresses=", "unix_socket_directories=" + sock, "unix_socket_permissions=0700",
		"max_connections=100", "shared_buffers=32MB", "lc_messages=C",
	}
	if !s.Durable {
		opts = append(opts, "fsync=off", "synchronous_commit=off", "full_page_writes=off")
	}
	return opts
}

// startServer starts the postmaster and waits until it accepts
// connections. It is started directly rather than by pg_ctl start so that
// it can be this process's child, with a death signal.
func (c *cluster) startServer(s Settings, deathSignal bool) error {
	var args []string
	for _, o := range serverSettings(s, c.sock) {
		args = append(args, "-c", o)
	}
	c.cmd = c.command("postgres", append([]string{"-D", c.data}, args...)...)
	if deathSignal {
		c.cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	}
	logFile, err := os.Create(filepath.Join(c.dir, "postgres.log"))
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		logFile.Close()
		return fmt.Errorf("pgtest: %w", err)
	}
	c.cmd.Stdout, c.cmd.Stderr = w, w
	ready := make(chan struct{})
	go func() {
		// Every server process holds the pipe: EOF comes when the whole
		// cluster has exited.
		defer logFile.Close()
		defer r.Close()
		c.logs.copy(logFile, r, "database system is ready to accept connections", ready)
	}()
	startErr := make(chan error, 1)
	go func() {
		// The death signal is sent when the thread that started the child
		// ends, not the process: keep this thread for the postmaster's
		// life.
		runtime.LockOSThread()
		if err := c.cmd.Start(); err != nil {
			startErr <- err
			close(c.exited)
			return
		}
		startErr <- nil
		c.cmd.Wait()
		close(c.exited)
	}()
	err = <-startErr
	w.Close()
	if err != nil {
		r.Close()
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	select {
	case <-ready:
		return nil
	case <-c.exited:
		return fmt.Errorf("pgtest: postgres exited before accepting connections:\n%s", c.logs.String())
	case <-time.After(2 * time.Minute):
		return fmt.Errorf("pgtest: postgres not ready after 2 minutes:\n%s", c.logs.String())
	}
}

// stop shuts the server down with pg_ctl stop (fast: ends sessions) and
// removes the cluster's folder.
func (c *cluster) stop() error {
	c.stopOnce.Do(func() {
		c.adminMu.Lock()
		if c.adminConn != nil {
			c.adminConn.Close(context.Background())
		}
		c.adminMu.Unlock()
		var errs []error
		if c.cmd != nil && c.cmd.Process != nil {
			select {
			case <-c.exited:
				errs = append(errs, fmt.Errorf("pgtest: postgres exited while the tests ran:\n%s", c.logs.String()))
			default:
				if out, err := c.command("pg_ctl", "stop", "-D", c.data, "-m", "fast", "-w", "-t", "60").CombinedOutput(); err != nil {
					errs = append(errs, fmt.Errorf("pgtest: pg_ctl stop: %v\n%s", err, out))
					c.cmd.Process.Signal(syscall.SIGQUIT)
				}
				<-c.exited
			}
		}
		if c.dir != "" {
			if err := os.RemoveAll(c.dir); err != nil {
				errs = append(errs, fmt.Errorf("pgtest: %w", err))
			}
		}
		if c.lock != nil {
			c.lock.Close()
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

// cleanStale removes the cluster folders under tmp whose test process is
// gone (its lock is free), stopping a postmaster left running in one.
// Folders of live test processes, this one's included, are left alone.
func cleanStale(tmp string, logf func(string, ...any)) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, dirPrefix+"*"))
	for _, dir := range dirs {
		f, err := os.Open(filepath.Join(dir, "lock"))
		if err != nil {
			// A process killed between making its folder and locking it;
			// or one still in that instant, if its pid is alive.
			if pid, ok := ownerPid(dir); !ok || alive(pid) {
				continue
			}
		} else {
			err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
			if err != nil {
				f.Close()
				continue // its test process is running
			}
		}
		if err := stopOrphan(filepath.Join(dir, "data")); err != nil {
			logf("pgtest: stale cluster %s: %v", dir, err)
		}
		if err := os.RemoveAll(dir); err != nil {
			logf("pgtest: remove stale cluster: %v", err)
		} else {
			logf("pgtest: removed the stale cluster %s of a test process that ended without stopping it", dir)
		}
		if f != nil {
			f.Close()
		}
	}
}

// ownerPid reads the test process's pid from a cluster folder's name.
func ownerPid(dir string) (int, bool) {
	rest := strings.TrimPrefix(filepath.Base(dir), dirPrefix)
	pid, err := strconv.Atoi(rest[:max(strings.IndexByte(rest, '-'), 0)])
	return pid, err == nil && pid > 0
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// stopOrphan stops the postmaster of data, if one is still running
// (postmaster.pid names it; the pid counts only if that process is a
// postgres serving data, as pids are reused), with SIGQUIT: an immediate
// shutdown, the data being thrown away anyway.
func stopOrphan(data string) error {
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return nil // never started, or shut down cleanly
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil || pid <= 0 {
		return nil
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !slices.Contains(strings.Split(string(cmdline), "\x00"), data) {
		return nil // gone, or the pid now belongs to another process
	}
	if err := syscall.Kill(pid, syscall.SIGQUIT); err != nil {
		return fmt.Errorf("stop postmaster %d: %w", pid, err)
	}
	return waitGone(pid, 30*time.Second)
}

// waitGone waits until process pid has exited, through a pidfd (no
// polling), for at most d.
func waitGone(pid int, d time.Duration) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("wait for process %d: %w", pid, err)
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(d)
	for {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(max(time.Until(deadline), 0).Milliseconds()))
		switch {
		case errors.Is(err, unix.EINTR):
		case err != nil:
			return fmt.Errorf("wait for process %d: %w", pid, err)
		case n > 0:
			return nil
		case !time.Now().Before(deadline):
			return fmt.Errorf("process %d still running after %v", pid, d)
		}
	}
}

// logTail copies the server's log to a file and keeps its last lines for
// error messages.
type logTail struct {
	mu    sync.Mutex
	lines []string
}

const tailLines = 40

// copy copies r to w line by line until EOF, closing ready at the first
// line that contains marker.
func (l *logTail) copy(w io.Writer, r io.Reader, marker string, ready chan struct{}) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	signalled := false
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(w, line)
		l.mu.Lock()
		l.lines = append(l.lines, line)
		if len(l.lines) > tailLines {
			l.lines = l.lines[len(l.lines)-tailLines:]
		}
		l.mu.Unlock()
		if !signalled && strings.Contains(line, marker) {
			signalled = true
			close(ready)
		}
	}
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
