// Package web is adherenced's HTTP front: the clinicians' pages (sign-in,
// the panel sorted by need, the patient page with its charts, the false-miss
// forms), the JSON API, the report downloads and the devices' sync
// endpoint, over the clinic's domain (clinic.Service).
//
// It owns authentication (bearer tokens, session cookies, CSRF tokens,
// sign-in delays through the clinic's store) and object-level
// authorisation: every route is registered through one table with the
// access it needs, a route whose pattern names {patient} is checked
// against the caller's panel by the router itself (any other id gets
// 404, never 403), and every request refused before its handler is
// audited. Every read of patient data is audited before it answers.
package web
