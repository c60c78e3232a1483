package lab

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/kjump/kjump/lab/qemu"
)

// Scenario is one end-to-end check on a real kernel.
type Scenario struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, l *Lab) error
}

var scenarios = map[string]Scenario{}

func register(s Scenario) { scenarios[s.Name] = s }

// Scenarios lists every scenario, by name.
func Scenarios() []Scenario {
	out := make([]Scenario, 0, len(scenarios))
	for _, s := range scenarios {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup resolves scenario names; none means all.
func Lookup(names []string) ([]Scenario, error) {
	if len(names) == 0 {
		return Scenarios(), nil
	}
	var out []Scenario
	for _, n := range names {
		s, ok := scenarios[n]
		if !ok {
			var known []string
			for _, s := range Scenarios() {
				known = append(known, s.Name)
			}
			return nil, fmt.Errorf("no lab scenario %q (have: %s)", n, strings.Join(known, ", "))
		}
		out = append(out, s)
	}
	return out, nil
}

// Result is one scenario's outcome.
type Result struct {
	Name string
	Err  error
	Took time.Duration
}

// Test runs scenarios one after the other, printing a line per scenario and a
// summary line, and returns the results.
func (l *Lab) Test(ctx context.Context, ss []Scenario, w io.Writer) []Result {
	var res []Result
	failed := 0
	for _, s := range ss {
		start := time.Now()
		err := s.Run(ctx, l)
		r := Result{Name: s.Name, Err: err, Took: time.Since(start)}
		res = append(res, r)
		if err != nil {
			failed++
			fmt.Fprintf(w, "FAIL %s: %v (%.1fs)\n", s.Name, err, r.Took.Seconds())
		} else {
			fmt.Fprintf(w, "PASS %s (%.1fs)\n", s.Name, r.Took.Seconds())
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", len(res)-failed, failed)
	return res
}

// expectOK waits for init's report on command cmd and fails on its FAIL line, a
// kernel panic, or the timeout. The error names the console log.
func expectOK(vm *qemu.VM, cmd string, timeout time.Duration) error {
	idx, line, err := vm.Expect(timeout,
		`kjump-init: ok: `+regexpQuote(cmd)+` \(`,
		`kjump-init: FAIL: `+regexpQuote(cmd)+`: `,
		`Kernel panic`,
	)
	if err != nil {
		return err
	}
	if idx != 0 {
		vm.Kill()
		return fmt.Errorf("%s (log: %s)", strings.TrimSpace(line), vm.LogPath())
	}
	// A second kernel jumps back even when one of its commands failed: catch that.
	for _, l := range strings.Split(vm.Console(), "\n") {
		if strings.Contains(l, "kjump-init: FAIL: ") {
			vm.Kill()
			return fmt.Errorf("%s (log: %s)", strings.TrimSpace(l), vm.LogPath())
		}
	}
	return nil
}

// RunJob boots a guest whose init runs job (kjump.run=), waits for init's ok
// line for it and for the power-off, and returns the stopped VM, whose Console
// and LogPath the caller inspects. Any failure names the console log.
func (l *Lab) RunJob(ctx context.Context, g Guest, job string, timeout time.Duration) (*qemu.VM, error) {
	g.Append = strings.TrimSpace(g.Append + ` kjump.run="` + job + `"`)
	vm, err := l.Boot(ctx, g)
	if err != nil {
		return nil, err
	}
	defer vm.Kill()
	if err := expectOK(vm, job, timeout); err != nil {
		return vm, err
	}
	return vm, powerOff(vm)
}

// powerOff waits for the guest to power itself off.
func powerOff(vm *qemu.VM) error {
	if _, _, err := vm.Expect(60*time.Second, `reboot: Power down`); err != nil {
		return err
	}
	return vm.Wait(30 * time.Second)
}
