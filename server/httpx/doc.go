// Package httpx is the small HTTP toolkit that every feature of the server is
// written over: reading credentials and authenticating a request
// (credential.go), the session cookie (cookie.go), the cross-origin check,
// problem+json errors and the one table that maps error codes to statuses
// (errors.go), strict body and query decoding (decode.go), safe redirect
// targets (returnto.go), the client's IP (client.go), and the shared layout,
// style sheet and error page of the HTML pages (pages.go).
//
// A Kit holds one configured instance of all of it; the server builds one
// and hands it to each feature package (server/session, server/account,
// server/oauth, ...), which mounts its routes on the server's mux. Nothing
// here knows about any one feature.
package httpx
