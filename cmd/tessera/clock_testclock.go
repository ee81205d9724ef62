//go:build tessera_testclock

package main

import (
	"os"
	"time"

	"github.com/tessera-auth/tessera/internal/clock"
)

// A binary built with -tags tessera_testclock (internal/e2e builds it so)
// runs every command on real time moved by TESSERA_TEST_CLOCK_OFFSET (a Go
// duration), so that the end-to-end tests run the real server years away
// from today and a wall-clock read in an expiry path fails them. Release
// builds have no such setting.
func init() {
	v := os.Getenv("TESSERA_TEST_CLOCK_OFFSET")
	if v == "" {
		return
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		panic("TESSERA_TEST_CLOCK_OFFSET: " + err.Error())
	}
	processClock = clock.NewOffset(d).Now
}
