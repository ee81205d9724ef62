package bench

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where a run happened.
type Machine struct {
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
	CPUModel   string `json:"cpu_model,omitempty"` // from /proc/cpuinfo, when there is one
	MemoryMB   int    `json:"memory_mb,omitempty"` // from /proc/meminfo, when there is one
}

func thisMachine() Machine {
	m := Machine{
		GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, NumCPU: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
	}
	m.CPUModel = procField("/proc/cpuinfo", "model name", ":")
	if m.CPUModel == "" {
		m.CPUModel = procField("/proc/cpuinfo", "Model", ":") // arm64 boards
	}
	if kb := procField("/proc/meminfo", "MemTotal", ":"); kb != "" {
		if n, err := strconv.Atoi(strings.TrimSuffix(kb, " kB")); err == nil {
			m.MemoryMB = n / 1024
		}
	}
	return m
}

// procField returns the value of the first "key<sep> value" line of a
// /proc file, or "".
func procField(path, key, sep string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// rssMB returns this process's resident set size in MiB (current and peak),
// from /proc/self/status; zeros where that is not available.
func rssMB() (cur, peak float64) {
	parse := func(s string) float64 {
		n, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "kB")), 64)
		return n / 1024
	}
	return parse(procField("/proc/self/status", "VmRSS", ":")), parse(procField("/proc/self/status", "VmHWM", ":"))
}
