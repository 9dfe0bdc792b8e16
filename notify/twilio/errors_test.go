package twilio

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	date := "Sun, 01 Mar 2026 12:00:00 GMT"
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"absent", http.Header{}, 0},
		{"nil", nil, 0},
		{"seconds", http.Header{"Retry-After": {"7"}}, 7 * time.Second},
		{"padded", http.Header{"Retry-After": {" 30 "}}, 30 * time.Second},
		{"negative", http.Header{"Retry-After": {"-3"}}, 0},
		{"huge", http.Header{"Retry-After": {"99999999999"}}, 0},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0},
		{"date", http.Header{"Retry-After": {"Sun, 01 Mar 2026 12:01:30 GMT"}, "Date": {date}}, 90 * time.Second},
		{"date in the past", http.Header{"Retry-After": {"Sun, 01 Mar 2026 11:00:00 GMT"}, "Date": {date}}, 0},
		{"date without Date", http.Header{"Retry-After": {"Sun, 01 Mar 2026 12:01:30 GMT"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryAfter(tt.header); got != tt.want {
				t.Errorf("retryAfter(%v) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Class: Permanent, Config: true, Code: 20003, HTTPStatus: 401, Reason: "authentication failed"},
			"twilio: send: permanent configuration error (code 20003, HTTP 401): authentication failed"},
		{&Error{Class: Retryable, Code: 20429, HTTPStatus: 429, RetryAfter: 7 * time.Second, Reason: "rate limited"},
			"twilio: send: retryable (code 20429, HTTP 429): rate limited, retry after 7s"},
		{&Error{Class: Retryable, HTTPStatus: 502, Reason: "proxy"}, "twilio: send: retryable (HTTP 502): proxy"},
		{&Error{Class: Retryable, Reason: "timed out"}, "twilio: send: retryable: timed out"},
		{&Error{Class: 9, Reason: "x"}, "twilio: send: Class(9): x"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
