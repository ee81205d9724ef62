package httpx

import "strings"

// UserAgent is what the device lists show of a User-Agent header: the
// browser, its major version and the operating system. Empty fields are
// unknown.
type UserAgent struct {
	Browser string // "Chrome", "Firefox", "Safari", "Edge", …
	Version string // the browser's major version, digits only
	OS      string // "Windows", "macOS", "Linux", "Android", "iOS", …
}

// String is the device's name in words: "Chrome 131 on Windows".
func (ua UserAgent) String() string {
	b := ua.Browser
	if b != "" && ua.Version != "" {
		b += " " + ua.Version
	}
	switch {
	case b != "" && ua.OS != "":
		return b + " on " + ua.OS
	case b != "":
		return b
	case ua.OS != "":
		return "Unknown browser on " + ua.OS
	}
	return "Unknown device"
}

// browserRules are tried in order; the first whose token appears (and whose
// requirement, if any, too) names the browser. Order matters: Edge, Opera and
// Samsung Internet also say "Chrome/", Chrome and every iOS browser also say
// "Safari/", so the specific tokens come first and Safari last.
var browserRules = []struct {
	token    string // followed by the version
	name     string
	requires string
}{
	{"EdgiOS/", "Edge", ""},
	{"EdgA/", "Edge", ""},
	{"Edg/", "Edge", ""},
	{"Edge/", "Edge", ""},
	{"OPiOS/", "Opera", ""},
	{"OPR/", "Opera", ""},
	{"SamsungBrowser/", "Samsung Internet", ""},
	{"FxiOS/", "Firefox", ""},
	{"Firefox/", "Firefox", ""},
	{"CriOS/", "Chrome", ""},
	{"HeadlessChrome/", "Chrome", ""},
	{"Chromium/", "Chromium", ""},
	{"Chrome/", "Chrome", ""},
	{"Version/", "Safari", "Safari/"},
	{"curl/", "curl", ""},
}

// osRules are tried in order. iOS says "like Mac OS X" and Android says
// "Linux", so they come before macOS and Linux.
var osRules = []struct{ token, name string }{
	{"Windows NT", "Windows"},
	{"Windows", "Windows"},
	{"iPhone", "iOS"},
	{"iPad", "iPadOS"},
	{"iPod", "iOS"},
	{"Android", "Android"},
	{"CrOS", "ChromeOS"},
	{"Macintosh", "macOS"},
	{"Mac OS X", "macOS"},
	{"Linux", "Linux"},
	{"X11", "Linux"},
}

// ParseUserAgent reads a User-Agent header by the tables above. It never
// fails: what it does not recognise stays empty.
func ParseUserAgent(s string) UserAgent {
	if len(s) > 512 {
		s = s[:512] // sessions store at most this much
	}
	var ua UserAgent
	for _, r := range browserRules {
		i := strings.Index(s, r.token)
		if i < 0 || (r.requires != "" && !strings.Contains(s, r.requires)) {
			continue
		}
		ua.Browser, ua.Version = r.name, majorVersion(s[i+len(r.token):])
		break
	}
	for _, r := range osRules {
		if strings.Contains(s, r.token) {
			ua.OS = r.name
			break
		}
	}
	return ua
}

// majorVersion is the leading digits of s, at most 6.
func majorVersion(s string) string {
	n := 0
	for n < len(s) && n < 6 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return s[:n]
}
