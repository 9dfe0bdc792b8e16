package twilioconf

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	const (
		sid  = "AC0123456789abcdef0123456789abcdef"
		from = "+15005550006"
		pub  = "https://pillbox.example.org"
	)
	tests := []struct {
		name string
		s    Section
		want []string // "path: part of the message", in order
	}{
		{"full", Section{AccountSID: sid, From: from, AuthTokenFile: "/etc/pillbox/twilio", PublicURL: pub}, nil},
		{"service instead of number", Section{AccountSID: sid, MessagingServiceSID: "MG0123456789abcdef0123456789abcdef"}, nil},
		{"everything wrong", Section{AccountSID: "AC123", AuthToken: "secret", PublicURL: "ftp://x"},
			[]string{"auth_token: must not be written in the config file", "account_sid: missing or malformed",
				": no sender", "public_url: absolute http(s) URL"}},
		{"both senders", Section{AccountSID: sid, From: from, MessagingServiceSID: "MG0123456789abcdef0123456789abcdef"},
			[]string{"from: both"}},
		{"bad sender", Section{AccountSID: sid, From: "5005550006"}, []string{"from: not an E.164"}},
		{"bad service", Section{AccountSID: sid, MessagingServiceSID: "MG123"}, []string{"messaging_service_sid: malformed"}},
		{"upper-case account", Section{AccountSID: strings.ToUpper(sid), From: from}, []string{"account_sid: missing or malformed"}},
		{"listen", Section{AccountSID: sid, From: from, PublicURL: pub, Listen: "127.0.0.1:8081"}, nil},
		{"listen, every interface", Section{AccountSID: sid, From: from, PublicURL: pub, Listen: ":8081"}, nil},
		{"listen on a host name", Section{AccountSID: sid, From: from, PublicURL: pub, Listen: "pillbox.local:8081"}, nil},
		{"listen without a port", Section{AccountSID: sid, From: from, PublicURL: pub, Listen: "127.0.0.1"},
			[]string{"listen: is not host:port"}},
		{"listen, port out of range", Section{AccountSID: sid, From: from, PublicURL: pub, Listen: "127.0.0.1:70000"},
			[]string{"listen: port from 1 to 65535"}},
		{"listen, bad host", Section{AccountSID: sid, From: from, PublicURL: pub, Listen: "bad_host:8081"},
			[]string{"listen: is not a host name"}},
		{"listen without public_url", Section{AccountSID: sid, From: from, Listen: "127.0.0.1:8081"},
			[]string{"listen: without public_url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			probs := tt.s.Validate()
			var got []string
			for _, p := range probs {
				got = append(got, p.Path+": "+p.Msg)
				if p.Fix == "" {
					t.Errorf("problem %q has no fix", p.Msg)
				}
				if strings.Contains(p.Msg, "secret") || strings.Contains(p.Fix, "secret") {
					t.Errorf("problem %v echoes the auth token", p)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Validate() = %q, want %d problems like %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				path, msg, _ := strings.Cut(w, ": ")
				if !strings.HasPrefix(got[i], path+": ") || !strings.Contains(got[i], msg) {
					t.Errorf("problem %d = %q, want %q", i, got[i], w)
				}
			}
		})
	}
}

func TestWebhookListen(t *testing.T) {
	tests := []struct {
		s    Section
		want string
	}{
		{Section{}, ""},
		{Section{Listen: "127.0.0.1:9000"}, ""},
		{Section{PublicURL: "https://pillbox.example.org"}, DefaultListen},
		{Section{PublicURL: "https://pillbox.example.org", Listen: "127.0.0.1:9000"}, "127.0.0.1:9000"},
	}
	for _, tt := range tests {
		if got := tt.s.WebhookListen(); got != tt.want {
			t.Errorf("%+v.WebhookListen() = %q, want %q", tt.s, got, tt.want)
		}
	}
}
