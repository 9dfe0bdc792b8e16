package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestGattDecodeOutput(t *testing.T) {
	var stdout, stderr bytes.Buffer
	// Blood pressure in kPa: 16.0 / 10.7 kPa, mean arterial pressure NaN.
	status := runGatt([]string{"decode", "--char", "2A35", "--hex", "01 A0 F0 6B F0 FF 07",
		"--device", "AA:BB", "--received", "2024-03-05T20:00:00Z"}, &stdout, &stderr)
	if status != 0 {
		t.Fatalf("exit status %d, stderr %q", status, stderr.String())
	}
	want := `{
  "measurement": {
    "characteristic": "2A35",
    "name": "Blood Pressure Measurement",
    "device": "AA:BB",
    "received": "2024-03-05T20:00:00Z",
    "blood_pressure": {
      "flags": 1,
      "unit": "kPa",
      "systolic": 16.0,
      "diastolic": 10.7,
      "mean_arterial": "NaN"
    }
  },
  "readings": [
    {
      "device": "AA:BB",
      "quantity": "systolic",
      "value": 120,
      "unit": "mm[Hg]",
      "original": "16.0 kPa",
      "time": "2024-03-05T20:00:00Z",
      "device_time": false
    },
    {
      "device": "AA:BB",
      "quantity": "diastolic",
      "value": 80.3,
      "unit": "mm[Hg]",
      "original": "10.7 kPa",
      "time": "2024-03-05T20:00:00Z",
      "device_time": false
    },
    {
      "device": "AA:BB",
      "quantity": "mean_arterial",
      "unit": "mm[Hg]",
      "original": "NaN kPa",
      "time": "2024-03-05T20:00:00Z",
      "device_time": false,
      "absent": "NaN (not a number)",
      "value": null
    }
  ]
}
`
	if got := stdout.String(); got != want {
		t.Errorf("pillctl gatt decode output =\n%s\nwant\n%s", got, want)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr = %q, want empty", stderr.String())
	}
}

func TestGattDecodeErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantErr    string
	}{
		{"truncated payload", []string{"decode", "--char", "2A35", "--hex", "02 78 00 50 00 5D 00 E8 07 03"}, 1,
			"pillctl gatt decode: 2A35: truncated: time stamp needs 7 bytes, 3 left\n"},
		{"trailing bytes", []string{"decode", "--char", "2a37", "--hex", "00:48:00"}, 1,
			"pillctl gatt decode: 2A37: trailing bytes: 1 byte after heart rate, the last field the flags announce\n"},
		{"unsupported characteristic", []string{"decode", "--char", "0x2A19", "--hex", "64"}, 1,
			"pillctl gatt decode: 2A19: unsupported characteristic"},
		{"bad hex digit", []string{"decode", "--char", "2A35", "--hex", "1E 7G"}, 2,
			`pillctl gatt decode: --hex: 'G' is not a hex digit`},
		{"odd hex", []string{"decode", "--char", "2A35", "--hex", "1E 7"}, 2,
			"pillctl gatt decode: --hex: 3 hex digits is not a whole number of bytes\n"},
		{"bad uuid", []string{"decode", "--char", "blood", "--hex", "00"}, 2,
			`pillctl gatt decode: --char: gatt: "blood" is not a 16-bit characteristic UUID`},
		{"missing hex", []string{"decode", "--char", "2A35"}, 2,
			"pillctl gatt decode: --char and --hex are required"},
		{"bad received", []string{"decode", "--char", "2A37", "--hex", "00 48", "--received", "yesterday"}, 2,
			"pillctl gatt decode: --received: want RFC 3339"},
		{"bad zone", []string{"decode", "--char", "2A37", "--hex", "00 48", "--zone", "Mars/Olympus"}, 2,
			"pillctl gatt decode: --zone:"},
		{"no subcommand", nil, 2, "usage: pillctl gatt decode"},
		{"unknown subcommand", []string{"encode"}, 2, "usage: pillctl gatt decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := runGatt(tt.args, &stdout, &stderr)
			if status != tt.wantStatus {
				t.Errorf("pillctl gatt %q exit status = %d, want %d", tt.args, status, tt.wantStatus)
			}
			if !strings.HasPrefix(stderr.String(), tt.wantErr) {
				t.Errorf("pillctl gatt %q stderr = %q, want prefix %q", tt.args, stderr.String(), tt.wantErr)
			}
			if stdout.Len() != 0 {
				t.Errorf("pillctl gatt %q stdout = %q, want nothing", tt.args, stdout.String())
			}
		})
	}
}

func TestGattDecodeDefaultsAndZone(t *testing.T) {
	var stdout, stderr bytes.Buffer
	// Temperature 36.4 °C stamped 2024-03-05 14:07:09 on a device clock in New York (EST, UTC-5).
	status := runGatt([]string{"decode", "--char", "2A1C", "--hex", "0x026C0100FFE80703050E0709",
		"--zone", "America/New_York"}, &stdout, &stderr)
	if status != 0 {
		t.Fatalf("exit status %d, stderr %q", status, stderr.String())
	}
	if !strings.Contains(stdout.String(), `"time": "2024-03-05T19:07:09Z"`) {
		t.Errorf("output does not carry the device time in UTC:\n%s", stdout.String())
	}
}

func TestGattDecodeRegistered(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if status := dispatch([]string{"gatt", "decode", "--char", "2A37", "--hex", "00 48", "--received", "2024-03-05T20:00:00Z"}, &stdout, &stderr); status != 0 {
		t.Fatalf("pillctl gatt decode via dispatch: status %d, stderr %q", status, stderr.String())
	}
	if !strings.Contains(stdout.String(), `"quantity": "pulse"`) {
		t.Errorf("output lacks the pulse reading:\n%s", stdout.String())
	}
}
