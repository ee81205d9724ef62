package httpx

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// userAgentVectors are real User-Agent headers with what the device list
// shows for them.
var userAgentVectors = []struct {
	name, ua, want string
}{
	{"ChromeWindows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome 131 on Windows"},
	{"ChromeMac", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome 131 on macOS"},
	{"ChromeLinux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36", "Chrome 130 on Linux"},
	{"ChromeAndroid", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36", "Chrome 131 on Android"},
	{"ChromeIOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "Chrome 131 on iOS"},
	{"ChromeOS", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36", "Chrome 129 on ChromeOS"},
	{"HeadlessChrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36", "Chrome 156 on Linux"},
	{"AndroidWebView", "Mozilla/5.0 (Linux; Android 13; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.230 Mobile Safari/537.36", "Chrome 120 on Android"},
	{"FirefoxWindows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox 133 on Windows"},
	{"FirefoxMac", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox 133 on macOS"},
	{"FirefoxLinux", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox 128 on Linux"},
	{"FirefoxAndroid", "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", "Firefox 133 on Android"},
	{"FirefoxIOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15", "Firefox 133 on iOS"},
	{"SafariMac", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "Safari 18 on macOS"},
	{"SafariIPhone", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari 18 on iOS"},
	{"SafariIPad", "Mozilla/5.0 (iPad; CPU OS 16_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1", "Safari 16 on iPadOS"},
	{"EdgeWindows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70", "Edge 131 on Windows"},
	{"EdgeMac", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70", "Edge 131 on macOS"},
	{"EdgeAndroid", "Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36 EdgA/131.0.2903.87", "Edge 131 on Android"},
	{"EdgeIOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/131.2903.68 Mobile/15E148 Safari/605.1.15", "Edge 131 on iOS"},
	{"EdgeLegacy", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19045", "Edge 18 on Windows"},
	{"Opera", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0", "Opera 115 on Windows"},
	{"SamsungInternet", "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", "Samsung Internet 26 on Android"},
	{"Curl", "curl/7.88.1", "curl 7"},
	{"GoClient", "Go-http-client/1.1", "Unknown device"},
	{"UnknownBrowserLinux", "SomeBot/1.0 (X11; Linux x86_64)", "Unknown browser on Linux"},
	{"Empty", "", "Unknown device"},
	{"Garbage", "\x00\xff\xfe<script>", "Unknown device"},
	{"VersionWithoutDigits", "Mozilla/5.0 (Windows NT 10.0) Firefox/", "Firefox on Windows"},
}

func TestParseUserAgent(t *testing.T) {
	for _, v := range userAgentVectors {
		t.Run(v.name, func(t *testing.T) {
			if got := ParseUserAgent(v.ua).String(); got != v.want {
				t.Errorf("ParseUserAgent(%q) = %q, want %q", v.ua, got, v.want)
			}
		})
	}
}

func TestParseUserAgentAllocations(t *testing.T) {
	ua := userAgentVectors[0].ua
	if n := testing.AllocsPerRun(100, func() { ParseUserAgent(ua) }); n != 0 {
		t.Errorf("ParseUserAgent allocates %v times", n)
	}
}

func BenchmarkParseUserAgent(b *testing.B) {
	ua := userAgentVectors[0].ua
	for b.Loop() {
		ParseUserAgent(ua)
	}
}

// FuzzParseUserAgent: any header parses, to names from the tables and a
// short run of digits.
func FuzzParseUserAgent(f *testing.F) {
	for _, v := range userAgentVectors {
		f.Add(v.ua)
	}
	browsers, systems := map[string]bool{"": true}, map[string]bool{"": true}
	for _, r := range browserRules {
		browsers[r.name] = true
	}
	for _, r := range osRules {
		systems[r.name] = true
	}
	f.Fuzz(func(t *testing.T, s string) {
		ua := ParseUserAgent(s)
		if !browsers[ua.Browser] || !systems[ua.OS] {
			t.Fatalf("ParseUserAgent(%q) = %+v: a name not in the tables", s, ua)
		}
		if len(ua.Version) > 6 || strings.Trim(ua.Version, "0123456789") != "" {
			t.Fatalf("ParseUserAgent(%q) version %q", s, ua.Version)
		}
		if str := ua.String(); !utf8.ValidString(str) || len(str) > 64 {
			t.Fatalf("ParseUserAgent(%q).String() = %q", s, str)
		}
	})
}
