package twilio

import "github.com/twilio/twilio-go/client"

// NewUnchecked returns a copy of s using token, bypassing New's checks, so
// tests can show how the client itself treats credentials New refuses.
func NewUnchecked(s *Sender, token string) *Sender {
	c := *s
	c.creds = client.NewCredentials(s.account, token)
	return &c
}
