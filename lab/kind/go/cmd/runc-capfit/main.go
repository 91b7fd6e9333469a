// runc-capfit is an OCI runtime wrapper for hosts that cannot grant every capability.
//
// The lab VM's capability bounding set lacks CAP_SYS_RESOURCE, so runc fails on any spec
// that asks for it (every privileged container, such as a kind node) and on any process
// whose oom_score_adj is lower than the caller's. Before handing over to the real runc,
// this wrapper removes from the spec each capability outside its own bounding set and
// raises oomScoreAdj to its own score when lowering it is not allowed. On a host that can
// grant everything, it changes nothing.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

const capSysResource = 24

// capNames maps capability numbers to the names OCI specs use.
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

func main() {
	args := os.Args[1:]
	if err := fitArgs(args); err != nil {
		fmt.Fprintf(os.Stderr, "runc-capfit: %v\n", err)
		os.Exit(1)
	}
	real := realRunc()
	if err := syscall.Exec(real, append([]string{real}, args...), os.Environ()); err != nil {
		fmt.Fprintf(os.Stderr, "runc-capfit: exec %s: %v\n", real, err)
		os.Exit(1)
	}
}

// realRunc: $RUNC_CAPFIT_REAL, else the distribution's runc.
func realRunc() string {
	if p := os.Getenv("RUNC_CAPFIT_REAL"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc.real"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "/usr/sbin/runc"
}

// fitArgs finds the spec a runc command line will read (the bundle's config.json for
// create/run, the --process file for exec) and fits it to this host.
func fitArgs(args []string) error {
	cmd, rest := subcommand(args)
	switch cmd {
	case "create", "run":
		bundle := flagValue(rest, "--bundle", "-b")
		if bundle == "" {
			bundle = "."
		}
		return fitFile(filepath.Join(bundle, "config.json"), true)
	case "exec":
		if p := flagValue(rest, "--process", "-p"); p != "" {
			return fitFile(p, false)
		}
	}
	return nil
}

// subcommand skips runc's global flags (those with a value take the next argument
// unless written as --flag=value).
func subcommand(args []string) (string, []string) {
	valued := map[string]bool{"--root": true, "--log": true, "--log-format": true, "--criu": true, "--rootless": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return a, args[i+1:]
		}
		if valued[a] {
			i++
		}
	}
	return "", nil
}

func flagValue(args []string, long, short string) string {
	for i, a := range args {
		if a == "--" {
			break
		}
		if (a == long || a == short) && i+1 < len(args) {
			return args[i+1]
		}
		if strings.HasPrefix(a, long+"=") {
			return strings.TrimPrefix(a, long+"=")
		}
	}
	return ""
}

// fitFile rewrites a spec (whole bundle config, or the process object of exec) in place,
// keeping its mode, only when something had to change.
func fitFile(path string, bundle bool) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	process := doc
	if bundle {
		p, ok := doc["process"].(map[string]any)
		if !ok {
			return nil
		}
		process = p
	}
	bounding, err := ownBoundingSet()
	if err != nil {
		return err
	}
	changed := fitCapabilities(process, bounding)
	if bounding&(1<<capSysResource) == 0 && fitOOMScore(process) {
		changed = true
	}
	if !changed {
		return nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, info.Mode().Perm())
}

func ownBoundingSet() (uint64, error) {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("no CapBnd in /proc/self/status")
}

// fitCapabilities drops, from every capability set of the process, what the bounding set
// of this host does not hold.
func fitCapabilities(process map[string]any, bounding uint64) bool {
	caps, ok := process["capabilities"].(map[string]any)
	if !ok {
		return false
	}
	missing := map[string]bool{}
	for n, name := range capNames {
		if bounding&(1<<uint(n)) == 0 {
			missing[name] = true
		}
	}
	changed := false
	for set, v := range caps {
		list, ok := v.([]any)
		if !ok {
			continue
		}
		kept := make([]any, 0, len(list))
		for _, c := range list {
			if s, ok := c.(string); ok && missing[s] {
				changed = true
				continue
			}
			kept = append(kept, c)
		}
		caps[set] = kept
	}
	return changed
}

// fitOOMScore raises a requested oom_score_adj below this process's own: lowering it
// needs CAP_SYS_RESOURCE.
func fitOOMScore(process map[string]any) bool {
	want, ok := process["oomScoreAdj"].(float64)
	if !ok {
		return false
	}
	raw, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return false
	}
	own, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || int(want) >= own {
		return false
	}
	process["oomScoreAdj"] = own
	return true
}
