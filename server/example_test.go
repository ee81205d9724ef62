package server_test

import (
	"net/http"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/server"
)

// The server is one http.Handler with every feature mounted: the JSON API
// and the pages, behind one middleware.
func ExampleNew() {
	var svc *auth.Service // from auth.NewService, with LoadKeys called
	srv := server.New(svc, server.Config{InsecureCookie: false})
	http.ListenAndServe("127.0.0.1:8080", srv)
}
