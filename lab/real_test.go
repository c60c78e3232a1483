package lab

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kjump/kjump/dist"
)

// commands returns the shell commands of a script: comments dropped,
// continued lines joined, blanks collapsed.
func commands(script string) []string {
	var out []string
	trailing := regexp.MustCompile(`\s+#.*$`)
	cur := ""
	for _, line := range strings.Split(script, "\n") {
		t := strings.TrimSpace(line)
		if cur == "" && (t == "" || strings.HasPrefix(t, "#")) {
			continue
		}
		if strings.HasSuffix(t, `\`) {
			cur += strings.TrimSuffix(t, `\`) + " "
			continue
		}
		cmd := strings.Join(strings.Fields(trailing.ReplaceAllString(cur+t, "")), " ")
		cur = ""
		out = append(out, cmd)
	}
	return out
}

// TestInstallIsTheREADME: real/install.sh, which installs kjump into the real
// machine, runs exactly the commands of dist/README.md's "Installing" steps
// 1-5, in order — except the build (the lab builds kjump on the host the
// same way) and 'kjump doctor' (the scenarios run it on the booted machine);
// its own extra lines, marked "# lab:", do what the README says in words.
func TestInstallIsTheREADME(t *testing.T) {
	readme, err := dist.Files.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i := strings.Index(s, "## Installing")
	if i < 0 {
		t.Fatal("dist/README.md has no Installing section")
	}
	block := s[i:]
	start := strings.Index(block, "```sh\n")
	end := strings.Index(block[start+6:], "```")
	block = block[start+6 : start+6+end]
	step6 := strings.Index(block, "# 6.")
	if step6 < 0 {
		t.Fatal("the Installing steps have no step 6")
	}
	var want []string
	for _, c := range commands(block[:step6]) {
		if strings.HasPrefix(c, "CGO_ENABLED=0 go build") || c == "kjump doctor" {
			continue
		}
		want = append(want, c)
	}
	install, err := realFiles.ReadFile("real/install.sh")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(string(install), "\n") {
		if strings.Contains(line, "# lab:") || strings.TrimSpace(line) == "set -eux" {
			continue
		}
		got = append(got, line)
	}
	if g := commands(strings.Join(got, "\n")); !slices.Equal(g, want) {
		t.Errorf("real/install.sh runs\n  %s\nbut dist/README.md's steps 1-5 are\n  %s", strings.Join(g, "\n  "), strings.Join(want, "\n  "))
	}
	if len(want) < 10 {
		t.Errorf("only %d commands found in the README's steps: %q", len(want), want)
	}
}
