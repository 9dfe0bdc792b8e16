package notify

import "testing"

func TestMessageStatus(t *testing.T) {
	tests := []struct {
		s            MessageStatus
		known, final bool
	}{
		{StatusAccepted, true, false}, {StatusScheduled, true, false}, {StatusCanceled, true, true},
		{StatusQueued, true, false}, {StatusSending, true, false}, {StatusSent, true, false},
		{StatusFailed, true, true}, {StatusDelivered, true, true}, {StatusUndelivered, true, true},
		{StatusReceiving, true, false}, {StatusReceived, true, false}, {StatusRead, true, true},
		{StatusPartiallyDelivered, true, false},
		{"exploded", false, false}, {"", false, false}, {"Delivered", false, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.s), func(t *testing.T) {
			if got := tt.s.Known(); got != tt.known {
				t.Errorf("%q.Known() = %v, want %v", tt.s, got, tt.known)
			}
			if got := tt.s.Final(); got != tt.final {
				t.Errorf("%q.Final() = %v, want %v", tt.s, got, tt.final)
			}
		})
	}
}
