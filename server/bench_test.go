package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tessera-auth/tessera/server/servertest"
)

// The HTTP session check against its floor, a bare net/http handler, both
// over loopback with the same client:
//
//	go test ./server -run x -bench HTTP -benchtime=2s
//
// The ratio of their ns/op is the cost of the whole auth stack per request.
func BenchmarkHTTP(b *testing.B) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	get := func(b *testing.B, url, cookie string) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest("GET", url, nil)
				if cookie != "" {
					req.Header.Set("Cookie", "__Host-tessera_session="+cookie)
				}
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
	b.Run("Floor", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"status":"ok"}`)
		}))
		defer srv.Close()
		get(b, srv.URL, "")
	})
	e := servertest.New(b)
	e.MustUser("bench@example.com", servertest.Password)
	cookie := e.Login("bench@example.com", servertest.Password)
	b.Run("Healthz", func(b *testing.B) { get(b, e.Srv.URL+"/healthz", "") })
	b.Run("SessionCheck", func(b *testing.B) { get(b, e.Srv.URL+"/v1/session", cookie) })
}
