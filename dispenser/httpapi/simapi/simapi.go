// Package simapi is the simulator's part of the local API beyond the
// patient's actions (package httpapi has those): the NTP state the
// clock-trust gate sees, sensor faults, the list of every route and the
// runtime figures a soak test watches (Controls); the SMS outbox viewer,
// its reply box and the answering of calls (SMS); readings injected
// through a device's path, with the device's clock (Readings); and the
// settling that makes a step of the simulated clock answer once everything
// it set off is logged (Settler, Clock). The daemon mounts its routes in
// sim mode only.
package simapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/pillbox/pillbox/dispenser/httpapi"
)

// maxBody bounds the bodies of the controls; each is a few dozen bytes.
const maxBody = 4 << 10

// readJSON reads a JSON body of at most limit bytes: right content type,
// bounded size. It answers the error itself.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	if !httpapi.JSONBody(r.Header.Get("Content-Type")) {
		httpapi.WriteError(w, http.StatusUnsupportedMediaType, "body must be application/json")
		return nil, false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		httpapi.WriteError(w, http.StatusRequestEntityTooLarge, "body too large")
		return nil, false
	}
	return b, true
}

// readParsed reads a JSON body as readJSON does and parses it; a body
// parse refuses is answered 400 with parse's error, which names the field.
func readParsed[T any](w http.ResponseWriter, r *http.Request, limit int64, parse func([]byte) (T, error)) (T, bool) {
	var v T
	b, ok := readJSON(w, r, limit)
	if !ok {
		return v, false
	}
	v, err := parse(b)
	if err != nil {
		httpapi.WriteError(w, http.StatusBadRequest, err.Error())
		return v, false
	}
	return v, true
}

// errMore is decodeStrict's error for a body of several JSON values.
var errMore = errors.New("more than one JSON value")

// decodeStrict decodes one JSON object with no unknown fields into v.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errMore
	}
	return nil
}
