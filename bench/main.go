// Command bench is `make bench`: it measures tender's size, boot, memory and
// command-speed figures on this machine, prints a table, writes
// bench/results.json, and compares the run with the committed
// bench/RESULTS.md, printing every figure more than 20 % worse.
//
// It drives the real CLI (bin/tender) with a fresh TENDER_HOME and the real
// docker CLI, one VM at a time. Timings are measured here and never asserted
// in tests.
package main

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/test/kvmprobe"
)

// Results is bench/results.json: one flat object of figures.
type Results map[string]any

var (
	repo      string
	tenderBin string
	home      string
	runs      = envInt("TENDER_BENCH_RUNS", 3)
	memoryMiB = envInt("TENDER_BENCH_MEMORY_MIB", 2048)
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func run() (err error) {
	if repo, err = os.Getwd(); err != nil {
		return err
	}
	tenderBin = filepath.Join(repo, "bin", "tender")
	iso := filepath.Join(repo, "out", "tender.iso")
	for _, p := range []string{tenderBin, iso} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s is missing (run `make build iso`)", p)
		}
	}
	tmp, err := os.MkdirTemp("", "tender-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	home = filepath.Join(tmp, "home")
	// One shared folder, for the share figures.
	shareDir := filepath.Join(tmp, "share")
	if err := os.MkdirAll(shareDir, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(home, "config.yaml"), []byte("shares: ["+strconv.Quote(shareDir)+"]\n"), 0o600); err != nil {
		return err
	}
	defer tender("poweroff") //nolint:errcheck // best effort on the way out

	res := Results{}
	defer func() {
		// A failed run still shows what it measured before the failure.
		if err != nil && len(res) > 0 {
			fmt.Fprintf(os.Stderr, "bench: figures before the failure:\n%s", Table(res))
		}
	}()
	st, _ := os.Stat(iso)
	res["iso_bytes"] = st.Size()

	step("bare-kernel floor (%d runs)", runs)
	floor, err := bootFloor(iso)
	if err != nil {
		return err
	}
	res["boot_floor_s"] = round(floor, 2)
	if hostAccel == "tcg" && os.Getenv("TENDER_ACCEL") == "" {
		// tender would find it too, at each machine's first boot, and pay
		// for a KVM try in first_up_s.
		os.Setenv("TENDER_ACCEL", "tcg")
	}

	step("init + first up")
	start := time.Now()
	if _, err := tender("init", "--iso", iso, "--memory", strconv.Itoa(memoryMiB), "--disksize", "8GiB"); err != nil {
		return err
	}
	if _, err := tender("up"); err != nil {
		return err
	}
	res["first_up_s"] = round(time.Since(start).Seconds(), 2)

	step("up on a stopped machine (%d runs)", runs)
	var ups []float64
	var phases map[string]float64
	for i := 0; i < runs; i++ {
		if _, err := tender("down"); err != nil {
			return err
		}
		start := time.Now()
		if _, err := tender("up"); err != nil {
			return err
		}
		ups = append(ups, time.Since(start).Seconds())
		phases = serialPhases(filepath.Join(home, "machines", "default", "serial.log"))
		phases["host saw ready"] = round(ups[len(ups)-1], 2)
	}
	res["up_ready_s"] = round(median(ups), 2)
	res["boot_ratio"] = round(median(ups)/floor, 2)
	res["phases"] = phases

	step("guest memory 10 s after ready")
	time.Sleep(10 * time.Second)
	mem, err := guestMemUsed()
	if err != nil {
		return err
	}
	res["guest_mem_used_bytes"] = mem

	step("shellinit and status (50 runs each), shellinit paired with a Go hello-world")
	hello, err := buildHello(tmp)
	if err != nil {
		return err
	}
	shellMs, helloMs, vsHello, err := versusHello(hello, "shellinit", 50)
	if err != nil {
		return err
	}
	res["shellinit_ms"], res["hello_ms"], res["shellinit_vs_hello"] = round(shellMs, 2), round(helloMs, 2), round(vsHello, 2)
	statusMs, err := commandMillis("status", 50)
	if err != nil {
		return err
	}
	res["status_ms"] = round(statusMs, 2)
	for _, cmd := range []string{"shellinit", "status"} {
		children, err := childProcesses(cmd)
		if err != nil {
			return err
		}
		res[cmd+"_children"] = children
	}

	step("docker run --rm busybox true (5 runs)")
	if err := dockerShell("./scripts/busybox-image.sh"); err != nil {
		return err
	}
	var runsS []float64
	for i := 0; i < 5; i++ {
		start := time.Now()
		if err := dockerShell("docker run --rm busybox true"); err != nil {
			return err
		}
		runsS = append(runsS, time.Since(start).Seconds())
	}
	res["docker_run_s"] = round(median(runsS), 2)

	step("docker load of a 200 MB image")
	mbps, err := uploadSpeed(tmp)
	if err != nil {
		return err
	}
	res["upload_mb_s"] = round(mbps, 1)

	step("share vs guest disk: 256 MB read, find+stat over 10,000 files")
	readRatio, metaRatio, err := shareRatios(shareDir)
	if err != nil {
		return err
	}
	res["share_read_ratio"] = round(readRatio, 2)
	res["share_meta_ratio"] = round(metaRatio, 2)

	step("save and resume of an idle machine (%d runs)", runs)
	if err := benchSave(res, floor); err != nil {
		return err
	}

	step("network between two machines: %d MB machine to machine and machine to host", netBlobMB)
	if err := benchNetwork(res, iso); err != nil {
		return err
	}

	if err := benchARM64(res); err != nil {
		return err
	}
	return report(res)
}

// benchARM64 adds the arm64 image's size, floor and boot ratio ([arm64]),
// measured the same way as amd64's, when out/tender-arm64.iso is there
// (`make iso-arm64`). On an amd64 host the guest runs under TCG.
func benchARM64(res Results) error {
	iso := filepath.Join(repo, "out", "tender-arm64.iso")
	st, err := os.Stat(iso)
	if err != nil {
		step("arm64: skipped, %s is missing (make iso-arm64)", iso)
		return nil
	}
	if _, err := tender("poweroff"); err != nil {
		return err
	}
	res["arm64_iso_bytes"] = st.Size()
	step("arm64: bare-kernel floor (%d runs)", runs)
	floor, err := bootFloorArch("arm64", iso)
	if err != nil {
		return err
	}
	res["arm64_boot_floor_s"] = round(floor, 2)
	step("arm64: init + first up")
	if _, err := tender("init", "--arch", "arm64", "--iso", iso, "--memory", strconv.Itoa(memoryMiB), "--disksize", "8GiB", "arm64"); err != nil {
		return err
	}
	defer tender("delete", "-f", "arm64") //nolint:errcheck // best effort
	if _, err := tender("up", "arm64"); err != nil {
		return err
	}
	step("arm64: up on a stopped machine (%d runs)", runs)
	var ups []float64
	for i := 0; i < runs; i++ {
		if _, err := tender("down", "arm64"); err != nil {
			return err
		}
		start := time.Now()
		if _, err := tender("up", "arm64"); err != nil {
			return err
		}
		ups = append(ups, time.Since(start).Seconds())
	}
	res["arm64_up_ready_s"] = round(median(ups), 2)
	res["arm64_boot_ratio"] = round(median(ups)/floor, 2)
	return nil
}

// hostAccel is the accelerator the amd64 floor ran with.
var hostAccel = "tcg"

// bootFloor runs scripts/bench-floor.sh with the QEMU flags tender uses.
func bootFloor(iso string) (float64, error) { return bootFloorArch("amd64", iso) }

// bootFloorArch is bootFloor for a guest architecture, amd64 or arm64.
func bootFloorArch(arch, iso string) (float64, error) {
	smp := "2"
	machine, accel := "q35", "tcg,thread=single"
	if arch == "arm64" {
		machine = "virt"
	}
	switch {
	case arch == "amd64" && runtime.GOARCH == "amd64":
		if kvmprobe.Usable("qemu-system-x86_64", iso) {
			accel = "kvm"
		}
	case arch == "arm64" && runtime.GOARCH == "arm64":
		if _, err := os.Stat("/dev/kvm"); err == nil {
			accel = "kvm"
		}
	}
	if arch == "amd64" {
		hostAccel = strings.Split(accel, ",")[0]
	}
	flags := fmt.Sprintf("-machine %s -accel %s -cpu max -smp %s -m %d -display none -no-reboot -nodefaults", machine, accel, smp, memoryMiB)
	cmd := exec.Command(filepath.Join(repo, "scripts", "bench-floor.sh"), iso)
	cmd.Env = append(os.Environ(), "TENDER_BENCH_QEMU="+flags, fmt.Sprintf("TENDER_BENCH_RUNS=%d", runs), "TENDER_BENCH_ARCH="+arch)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("bench-floor.sh: %w", err)
	}
	m := regexp.MustCompile(`([0-9]+\.[0-9]+)`).FindAllString(string(out), -1)
	if len(m) == 0 {
		return 0, fmt.Errorf("bench-floor.sh printed no figure: %q", out)
	}
	return strconv.ParseFloat(m[len(m)-1], 64)
}

// serialPhases reads the agent's phase lines (api.PhaseLine).
func serialPhases(path string) map[string]float64 {
	out := map[string]float64{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if ev, ok := api.ParseConsoleLine(sc.Text()); ok && ev.Kind == api.ConsolePhase {
			out[ev.Phase] = ev.Seconds
		}
	}
	return out
}

func guestMemUsed() (int64, error) { return guestMemUsedOf("default") }

// guestMemUsedOf is MemTotal − MemAvailable in machine's guest.
func guestMemUsedOf(machine string) (int64, error) {
	out, err := tender("ssh", machine, "--", "cat /proc/meminfo")
	if err != nil {
		return 0, err
	}
	var total, avail int64
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "MemTotal:":
			total = n * 1024
		case "MemAvailable:":
			avail = n * 1024
		}
	}
	if total == 0 {
		return 0, errors.New("no MemTotal in the guest's /proc/meminfo")
	}
	return total - avail, nil
}

func commandMillis(cmd string, n int) (float64, error) {
	var ds []float64
	for i := 0; i < n; i++ {
		c := exec.Command(tenderBin, cmd)
		c.Env = env()
		start := time.Now()
		if err := c.Run(); err != nil {
			return 0, fmt.Errorf("tender %s: %w", cmd, err)
		}
		ds = append(ds, float64(time.Since(start).Microseconds())/1000)
	}
	return median(ds), nil
}

// versusHello times tender CMD and the hello-world program n times each,
// alternating (hello, tender, hello, tender …) so that both see the same
// load on the host. It returns the two medians and the median of the
// per-pair ratios (tender over hello): a pair shares its moment's load, so
// the ratio stays steady while the host's load swings.
func versusHello(hello, cmd string, n int) (cmdMs, helloMs, ratio float64, err error) {
	var cs, hs, rs []float64
	for i := 0; i < n; i++ {
		h, err := runMillis(exec.Command(hello))
		if err != nil {
			return 0, 0, 0, fmt.Errorf("%s: %w", hello, err)
		}
		c := exec.Command(tenderBin, cmd)
		c.Env = env()
		t, err := runMillis(c)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("tender %s: %w", cmd, err)
		}
		cs, hs, rs = append(cs, t), append(hs, h), append(rs, t/h)
	}
	return median(cs), median(hs), median(rs), nil
}

func runMillis(c *exec.Cmd) (float64, error) {
	start := time.Now()
	if err := c.Run(); err != nil {
		return 0, err
	}
	return float64(time.Since(start).Microseconds()) / 1000, nil
}

// helloProgram is what shellinit_vs_hello compares tender with: the least
// a Go program does, printing a line to stdout as shellinit does.
const helloProgram = `package main

import "fmt"

func main() { fmt.Println("hello, world") }
`

// buildHello builds helloProgram into dir/hello with the flags bin/tender
// was built with (helloBuildArgs), so that the two differ only in what
// tender itself links and runs.
func buildHello(dir string) (string, error) {
	info, err := buildinfo.ReadFile(tenderBin)
	if err != nil {
		return "", fmt.Errorf("reading the build flags of %s: %w", tenderBin, err)
	}
	src := filepath.Join(dir, "hello")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(helloProgram), 0o644); err != nil {
		return "", err
	}
	// The go line sets the GODEBUG defaults; the toolchain's own, as `go
	// mod init` writes it (tender's go.mod names the same).
	gomod := "module hello\n\ngo " + strings.TrimPrefix(info.GoVersion, "go") + "\n"
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte(gomod), 0o644); err != nil {
		return "", err
	}
	envs, args := helloBuildArgs(info, stripped(tenderBin))
	bin := filepath.Join(src, "hello")
	c := exec.Command("go", append(append([]string{"build"}, args...), "-o", bin, ".")...)
	c.Dir = src
	c.Env = append(os.Environ(), envs...)
	if out, err := c.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the hello-world: %w: %s", err, out)
	}
	return bin, nil
}

// helloBuildArgs turns a binary's build info into the environment and go
// build flags that build another program the same way. -ldflags is not in
// the build info of a -trimpath build, so stripped (no symbol table, as
// -ldflags=-s leaves a binary) stands for it; the -X stamps do not matter to
// another program.
func helloBuildArgs(info *debug.BuildInfo, stripped bool) (envs, args []string) {
	for _, s := range info.Settings {
		switch s.Key {
		case "CGO_ENABLED", "GOARCH", "GOOS", "GOAMD64", "GOARM64":
			envs = append(envs, s.Key+"="+s.Value)
		case "-tags":
			args = append(args, "-tags", s.Value)
		case "-trimpath":
			if s.Value == "true" {
				args = append(args, "-trimpath")
			}
		}
	}
	if stripped {
		args = append(args, "-ldflags", "-s -w")
	}
	return envs, args
}

// stripped reports whether the ELF binary at path has no symbol table.
func stripped(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return f.Section(".symtab") == nil
}

// childProcesses counts the programs one run of tender CMD starts, with
// strace: every execve after tender's own.
func childProcesses(cmd string) (int, error) {
	if _, err := exec.LookPath("strace"); err != nil {
		return -1, errors.New("strace is missing (run scripts/deps.sh)")
	}
	trace := filepath.Join(os.TempDir(), "tender-bench-strace.txt")
	defer os.Remove(trace)
	c := exec.Command("strace", "-f", "-qq", "-e", "trace=execve", "-o", trace, tenderBin, cmd)
	c.Env = env()
	if out, err := c.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("strace tender %s: %w: %s", cmd, err, out)
	}
	data, err := os.ReadFile(trace)
	if err != nil {
		return 0, err
	}
	return strings.Count(string(data), "execve(") - 1, nil
}

func uploadSpeed(tmp string) (float64, error) {
	rootfs := filepath.Join(tmp, "big")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return 0, err
	}
	script := fmt.Sprintf(`set -e
head -c 200000000 /dev/urandom > %[1]q/blob
tar -C %[1]q -c . | docker import - tender-bench-big:latest >/dev/null
docker save -o %[2]q tender-bench-big:latest
docker rmi tender-bench-big:latest >/dev/null`, rootfs, filepath.Join(tmp, "big.tar"))
	if err := dockerShell(script); err != nil {
		return 0, err
	}
	st, err := os.Stat(filepath.Join(tmp, "big.tar"))
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := dockerShell(fmt.Sprintf("docker load -q -i %q >/dev/null", filepath.Join(tmp, "big.tar"))); err != nil {
		return 0, err
	}
	return float64(st.Size()) / 1e6 / time.Since(start).Seconds(), nil
}

// report prints the table, writes results.json and compares with RESULTS.md.
func report(res Results) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(repo, "bench", "results.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	table := Table(res)
	fmt.Print(table)
	fmt.Printf("\nmachine: %s\n", MachineLine())
	prev, err := os.ReadFile(filepath.Join(repo, "bench", "RESULTS.md"))
	if err == nil {
		for _, w := range Compare(ParseTable(string(prev)), res) {
			fmt.Println("worse:", w)
		}
	}
	return nil
}

// Table renders the figures as a Markdown table, keys sorted.
func Table(res Results) string {
	var keys []string
	for k := range res {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("| figure | value |\n|---|---|\n")
	for _, k := range keys {
		if ph, ok := res[k].(map[string]float64); ok {
			var names []string
			for n := range ph {
				names = append(names, n)
			}
			sort.Slice(names, func(i, j int) bool { return ph[names[i]] < ph[names[j]] })
			for _, n := range names {
				fmt.Fprintf(&b, "| phases.%s | %v |\n", n, ph[n])
			}
			continue
		}
		fmt.Fprintf(&b, "| %s | %v |\n", k, res[k])
	}
	return b.String()
}

// ParseTable reads the figures back from a Markdown table written by Table.
func ParseTable(md string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(md, "\n") {
		f := strings.Split(line, "|")
		if len(f) < 4 {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(f[2]), 64)
		if err == nil {
			out[strings.TrimSpace(f[1])] = v
		}
	}
	return out
}

// higherIsBetter lists the figures where a bigger number is an improvement.
var higherIsBetter = map[string]bool{"net_vm_vm_mb_s": true, "net_vm_host_mb_s": true, "net_vm_vm_ratio": true, "upload_mb_s": true, "share_read_ratio": true, "share_meta_ratio": true}

// Compare lists every figure more than 20 % worse than before.
func Compare(prev map[string]float64, res Results) []string {
	var worse []string
	var keys []string
	for k := range res {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		now, ok := toFloat(res[k])
		before, had := prev[k]
		if !ok || !had || before == 0 {
			continue
		}
		change := (now - before) / math.Abs(before)
		if higherIsBetter[k] {
			change = -change
		}
		if change > 0.20 {
			worse = append(worse, fmt.Sprintf("%s: %v, was %v (%+.0f%%)", k, now, before, change*100))
		}
	}
	return worse
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

// MachineLine describes the host for RESULTS.md.
func MachineLine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`model name\s*:\s*(.*)`).FindSubmatch(data); m != nil {
			model = string(m[1])
		}
	}
	accel := hostAccel
	if _, err := os.Stat("/dev/kvm"); err != nil {
		accel = "tcg (no /dev/kvm)"
	} else if accel == "tcg" {
		accel = "tcg (this host's KVM cannot boot the ISO)"
	}
	return fmt.Sprintf("%s, %d cores, %s, %s", model, runtime.NumCPU(), accel, time.Now().UTC().Format("2006-01-02"))
}

func tender(args ...string) (string, error) {
	c := exec.Command(tenderBin, args...)
	c.Env = env()
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return stdout.String(), fmt.Errorf("tender %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// dockerShell runs a bash script with the environment shellinit prints.
func dockerShell(script string) error {
	c := exec.Command("bash", "-c", `eval "$("$TENDER" shellinit)"`+"\n"+script)
	c.Env = append(env(), "TENDER="+tenderBin)
	c.Dir = repo
	c.Stderr = os.Stderr
	if out, err := c.Output(); err != nil {
		return fmt.Errorf("%s: %w\n%s", script, err, out)
	}
	return nil
}

func env() []string { return append(os.Environ(), "TENDER_HOME="+home) }

// benchSave adds the figures of [resume] on the default machine, booted
// with its share on 9p (virtiofs cannot be saved): save_s is `tender save`
// until QEMU has exited, resume_s `tender up` of the saved machine until
// /_ping answers over TLS, save_bytes the state file, beside the guest's
// used memory before the save.
func benchSave(res Results, floor float64) error {
	if _, err := tender("down"); err != nil {
		return err
	}
	os.Setenv("TENDER_SHARE_TYPE", "9p")
	defer os.Unsetenv("TENDER_SHARE_TYPE")
	if _, err := tender("up"); err != nil {
		return err
	}
	time.Sleep(10 * time.Second)
	used, err := guestMemUsed()
	if err != nil {
		return err
	}
	var saves, resumes []float64
	var size int64
	for i := 0; i < runs; i++ {
		start := time.Now()
		if _, err := tender("save"); err != nil {
			return err
		}
		saves = append(saves, time.Since(start).Seconds())
		st, err := os.Stat(filepath.Join(home, "machines", "default", "qemu.state"))
		if err != nil {
			return fmt.Errorf("after tender save: %w", err)
		}
		size = st.Size()
		start = time.Now()
		out, err := tender("up")
		if err != nil {
			return err
		}
		resumes = append(resumes, time.Since(start).Seconds())
		if _, err := os.Stat(filepath.Join(home, "machines", "default", "qemu.state")); err == nil {
			return fmt.Errorf("tender up left the state file behind:\n%s", out)
		}
	}
	res["save_s"] = round(median(saves), 2)
	res["resume_s"] = round(median(resumes), 2)
	res["resume_ratio"] = round(median(resumes)/floor, 2)
	res["save_bytes"] = size
	res["save_guest_mem_used_bytes"] = used
	res["save_bytes_ratio"] = round(float64(size)/float64(used), 2)
	return nil
}

func step(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// shareBenchScript times, in the guest, a cold read of a 256 MB file and a
// cold find+stat over 10,000 small files, on the guest's own disk and
// through the share; it prints the four times in milliseconds.
const shareBenchScript = `set -e
S=%s; L=/home/docker/sharebench
mkdir -p $L/small
[ -f $L/big ] || dd if=/dev/urandom of=$L/big bs=1M count=256 2>/dev/null
if [ ! -f $L/small/d099/f09999 ]; then
  i=0; while [ $i -lt 100 ]; do d=$(printf d%%03d $i); mkdir -p $L/small/$d
    j=0; while [ $j -lt 100 ]; do echo xxxxxxxxxxxxxxxx > $L/small/$d/$(printf f%%05d $((i*100+j))); j=$((j+1)); done; i=$((i+1)); done
fi
ms() { read s _ </proc/uptime; "$@" >/dev/null; read e _ </proc/uptime; awk -v a=$s -v b=$e 'BEGIN{printf "%%d ", (b-a)*1000}'; }
drop() { sync; echo 3 | sudo tee /proc/sys/vm/drop_caches >/dev/null; }
drop; ms dd if=$L/big of=/dev/null bs=1M
drop; ms dd if=$S/big of=/dev/null bs=1M
drop; ms sh -c "find $L/small -type f | xargs stat -c %%s"
drop; ms sh -c "find $S/small -type f | xargs stat -c %%s"
`

// shareRatios fills dir (shared with the guest) with the test files and
// returns guest-disk time / share time for the read and the metadata walk:
// 1 is as fast as the guest's own disk.
func shareRatios(dir string) (read, meta float64, err error) {
	big := make([]byte, 1<<20)
	f, err := os.Create(filepath.Join(dir, "big"))
	if err != nil {
		return 0, 0, err
	}
	for i := 0; i < 256; i++ {
		for j := range big {
			big[j] = byte(i*31 + j)
		}
		if _, err := f.Write(big); err != nil {
			f.Close()
			return 0, 0, err
		}
	}
	if err := f.Close(); err != nil {
		return 0, 0, err
	}
	for i := 0; i < 10000; i++ {
		d := filepath.Join(dir, "small", fmt.Sprintf("d%03d", i/100))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 0, 0, err
		}
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%05d", i)), []byte("xxxxxxxxxxxxxxxx\n"), 0o644); err != nil {
			return 0, 0, err
		}
	}
	out, err := tender("ssh", "--", fmt.Sprintf(shareBenchScript, dir))
	if err != nil {
		return 0, 0, err
	}
	var diskRead, shareRead, diskMeta, shareMeta float64
	if _, err := fmt.Sscan(out, &diskRead, &shareRead, &diskMeta, &shareMeta); err != nil {
		return 0, 0, fmt.Errorf("share bench printed %q: %w", out, err)
	}
	fmt.Fprintf(os.Stderr, "  read: disk %.0f ms, share %.0f ms; find+stat: disk %.0f ms, share %.0f ms\n", diskRead, shareRead, diskMeta, shareMeta)
	return diskRead / max(shareRead, 1), diskMeta / max(shareMeta, 1), nil
}
