package httpapi

import (
	_ "embed"
	"net/http"
	"slices"
)

// openapiJSON is the OpenAPI 3.1 document of the whole HTTP API. It is
// written by hand and committed; openapi_test.go fails when it and the
// routes the server registers disagree.
//
//go:embed openapi.json
var openapiJSON []byte

// OpenAPI returns the OpenAPI 3.1 document served at GET /openapi.json.
func OpenAPI() []byte { return slices.Clone(openapiJSON) }

// handleOpenAPI: GET /openapi.json.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(openapiJSON)
}
