package password

import "strings"

// common holds passwords that top every published breach list. It is short on
// purpose: an offline server cannot query a breach corpus, and the list exists to
// stop the handful of choices that credential-stuffing tries first. Operators with
// a larger list can front Tessera's user creation with it.
var common = map[string]bool{}

func init() {
	for _, p := range strings.Fields(`
		password password1 password12 password123 password1234 passw0rd p@ssw0rd p@ssword
		12345678 123456789 1234567890 12345678910 123123123 11111111 00000000 87654321
		qwertyui qwerty123 qwertyuiop 1q2w3e4r 1q2w3e4r5t 1qaz2wsx zaq12wsx asdfghjk
		iloveyou sunshine princess football baseball welcome1 welcome123 letmein1
		abc12345 abcd1234 admin123 administrator trustno1 superman starwars dragon123
		monkey123 master123 changeme changeme1 secret123 qazwsxedc michael1 jennifer
		computer internet whatever 123qweasd qweasdzxc 1234qwer q1w2e3r4 aa123456
		`) {
		common[p] = true
	}
}

func isCommon(pw string) bool { return common[strings.ToLower(pw)] }
