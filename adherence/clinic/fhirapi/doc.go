// Package fhirapi is the clinic's FHIR R4 read API (mounted by adherenced
// at /fhir): a CapabilityStatement, read and search of the resources the
// export writes (adherence/report's mapping, the same ids), SMART Backend
// Services authorisation (a token endpoint taking private_key_jwt client
// assertions, verified with go-jose against each client's registered
// JWKS) and Bulk Data v2 export as NDJSON.
//
// It owns the search-parameter table (params.go), from which both the
// parser and the CapabilityStatement are made, so that what metadata
// claims and what search does cannot drift; the JOSE dependency; and the
// bulk-export job runner. It reads the clinic only through clinic.Service
// and its Store, so it works on every backend.
//
// A client sees only the patients of its grant (clinic.FHIRGrant, read at
// each request): anything else is 404, whether asked for by id, through
// _include, a paging link or a bulk file. Every answer that carries a
// patient's data is audited first, one entry per patient.
package fhirapi
