package guard_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/tessera-auth/tessera/guard"
)

func ExampleNew() {
	g, err := guard.New(guard.Config{
		Issuer:       "https://auth.example.com",
		ClientID:     os.Getenv("TESSERA_CLIENT_ID"),
		ClientSecret: os.Getenv("TESSERA_CLIENT_SECRET"),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()

	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := guard.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "hello %s\n", p.Subject)
	})
	mux := http.NewServeMux()
	mux.Handle("/api/", g.Fast(hello))
	mux.Handle("/billing/", g.Strict(hello))
	mux.Handle("/admin/", g.Fast(guard.RequireRoles("admin")(hello)))
	log.Fatal(http.ListenAndServe(":8081", mux))
}

func ExampleGuard_Verify() {
	var g *guard.Guard // from guard.New
	var token string   // from a gRPC metadata entry, a queue message, ...
	p, err := g.Verify(context.Background(), token)
	switch {
	case errors.Is(err, guard.ErrUnauthorized):
		// refuse: invalid, expired or revoked
	case err != nil:
		// the server was needed and could not answer: retry later
	default:
		fmt.Println(p.Subject, p.Scopes)
	}
}
