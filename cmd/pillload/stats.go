package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the unit of the CPU times in /proc: 100 on every Linux.
const userHZ = 100

// usage is a snapshot of the CPU time spent so far: by this process, by
// the server (when its pid is known) and by the whole machine.
type usage struct {
	at          time.Time
	self        time.Duration
	server      time.Duration
	serverOK    bool
	total, idle uint64 // /proc/stat ticks, all CPUs
	iowait      uint64
}

func sample(serverPid int) usage {
	u := usage{at: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if serverPid > 0 {
		u.server, u.serverOK = procCPU(serverPid)
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		for i, v := range f[1:] {
			n, _ := strconv.ParseUint(v, 10, 64)
			if i < 8 { // user..steal; guest time is already in user
				u.total += n
			}
			switch i {
			case 3:
				u.idle = n
			case 4:
				u.iowait = n
			}
		}
	}
	return u
}

// procCPU is the user and system time of process pid.
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name may hold spaces and parentheses: fields start
	// after its last ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * time.Second / userHZ, true
}

// procField reads a number field of /proc/PID/FILE: "VmHWM" of status
// (in kB there, returned in bytes), "write_bytes" of io.
func procField(pid int, file, field string) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			v, kB := strings.CutSuffix(strings.TrimSpace(rest), " kB")
			n, err := strconv.ParseInt(v, 10, 64)
			if kB {
				n *= 1024
			}
			return n, err == nil
		}
	}
	return 0, false
}

// cores is CPU time as a number of cores busy over wall.
func cores(cpu, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return cpu.Seconds() / wall.Seconds()
}

// percentile returns the q-quantile (0..1) of sorted latencies, by the
// nearest-rank method.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

// limits reads the CPU figures: what held the run back.
func limits(wall time.Duration, start, end usage, ncpu int) string {
	total := float64(end.total - start.total)
	if total <= 0 {
		return "no CPU figures (/proc/stat unreadable)"
	}
	idle := float64(end.idle-start.idle) / total
	iowait := float64(end.iowait-start.iowait) / total
	server := cores(end.server-start.server, wall)
	self := cores(end.self-start.self, wall)
	switch {
	case iowait > 0.2:
		return fmt.Sprintf("the disk: the CPUs waited on I/O %.0f%% of the time", 100*iowait)
	case idle < 0.1 && end.serverOK:
		return fmt.Sprintf("the machine's %d CPUs, all busy: adherenced %.2f cores, pillload %.2f, the rest other processes; "+
			"adherenced's share is what it costs per sync, a separate load machine would show more", ncpu, server, self)
	case idle < 0.1:
		return fmt.Sprintf("the machine's %d CPUs, all busy (pillload %.2f cores)", ncpu, self)
	case end.serverOK && server < 1.25 && idle > 0.2:
		return fmt.Sprintf("adherenced's serial work: it used %.2f cores while %.0f%% of the CPUs stayed idle (one database writer at a time)",
			server, 100*idle)
	default:
		return fmt.Sprintf("no single resource: CPUs %.0f%% idle, adherenced %.2f cores, pillload %.2f", 100*idle, server, self)
	}
}

// fileSize is the size of a SQLite database with its WAL.
func fileSize(db string) int64 {
	var n int64
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if fi, err := os.Stat(db + suffix); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// sortedLatencies merges the devices' latencies.
func sortedLatencies(devs []*device) []time.Duration {
	var all []time.Duration
	for _, d := range devs {
		all = append(all, d.latencies...)
	}
	slices.Sort(all)
	return all
}

var ncpu = runtime.NumCPU()
