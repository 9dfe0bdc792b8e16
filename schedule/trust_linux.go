//go:build linux

package schedule

import (
	"errors"
	"io/fs"
	"time"

	"golang.org/x/sys/unix"
)

// KernelNTPSynced asks the kernel whether NTP (or chrony, or
// systemd-timesyncd) has disciplined the clock: adjtimex reports TIME_ERROR
// and sets STA_UNSYNC until a time daemon has synchronised it.
func KernelNTPSynced() (bool, error) {
	var tx unix.Timex // Modes 0: read only
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return false, err
	}
	return state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0, nil
}

// rtcDevice is the first hardware clock, where Linux has one.
const rtcDevice = "/dev/rtc0"

// ReadRTC reads the hardware real-time clock, which Linux keeps in UTC; ok
// is false when the device has none.
func ReadRTC() (time.Time, bool, error) {
	fd, err := unix.Open(rtcDevice, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	defer unix.Close(fd)
	rt, err := unix.IoctlGetRTCTime(fd)
	if err != nil {
		return time.Time{}, false, err
	}
	return time.Date(int(rt.Year)+1900, time.Month(rt.Mon+1), int(rt.Mday),
		int(rt.Hour), int(rt.Min), int(rt.Sec), 0, time.UTC), true, nil
}
