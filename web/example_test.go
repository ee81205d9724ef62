package web_test

import (
	"net/http"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/httpapi"
	"github.com/tessera-auth/tessera/web"
)

// The pages mount on the API server, behind its middleware, with the same
// cookie and proxy settings.
func ExampleHandler_Mount() {
	var svc *auth.Service // from auth.NewService, with LoadKeys called
	cfg := httpapi.Config{InsecureCookie: false}
	api := httpapi.New(svc, cfg)
	web.New(svc, web.Config{InsecureCookie: cfg.InsecureCookie, TrustedProxies: cfg.TrustedProxies}).Mount(api)
	http.ListenAndServe("127.0.0.1:8080", api)
}
