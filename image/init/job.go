package main

// A job is a command of the host's run inside the guest, on the guest's
// kernel: npm run image -- exec, and test-integration --vm. The host shares
// its root read-only (9p) and a job folder read-write; the command runs in a
// mount namespace of its own whose root is an overlay of the host's root
// (its writes stay in the guest's memory), its output goes to the job folder
// as it comes, and at the end the folders the job names are copied back
// there before power-off.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const (
	jobTag      = "moby-make-job"
	jobMount    = "/run/moby-make-job"
	hostMount   = "/run/moby-make-host"
	scratchRoot = "/run/moby-make-scratch"
	jobRoot     = "/job-root"
)

type scratch struct {
	// A folder of the host that the job writes into: a tmpfs here, with the host's entries bound into it but for Fresh.
	Path string `json:"path"`
	// Entries that start empty (the job's results, daemons' data roots: overlayfs cannot be their upper layer).
	Fresh []string `json:"fresh"`
}

type shared struct {
	Path string `json:"path"`
	Tag  string `json:"tag"`
}

type jobSpec struct {
	// The 9p tag of the host's root, shared read-only.
	Root    string    `json:"root"`
	Argv    []string  `json:"argv"`
	Env     []string  `json:"env"`
	Dir     string    `json:"dir"`
	Scratch []scratch `json:"scratch"`
	// Folders of the host the job writes through to (its caches), each a 9p tag of its own: what the job makes there stays.
	Shared []shared `json:"shared"`
	// Folders whose regular files are copied to the job folder's copy/ at the end, as the host's results.
	CopyBack []string `json:"copyBack"`
	// Files larger than this stay behind (daemons' layers and images are not results).
	CopyLimit int64 `json:"copyLimit"`
}

// hasJobShare says whether the host shared a job folder (a 9p device with the job's tag).
func hasJobShare() bool {
	tags, _ := filepath.Glob("/sys/bus/virtio/drivers/9pnet_virtio/virtio*/mount_tag")
	for _, tag := range tags {
		if raw, err := os.ReadFile(tag); err == nil && strings.TrimRight(string(raw), "\x00\n") == jobTag {
			return true
		}
	}
	return false
}

func mount9p(tag, target string, readOnly bool) error {
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	var flags uintptr
	if readOnly {
		flags = syscall.MS_RDONLY
	}
	// msize: large reads for binaries; cache=loose for the read-only root (it does not change under the job), none for the job folder.
	cache := "none"
	if readOnly {
		cache = "loose"
	}
	options := fmt.Sprintf("trans=virtio,version=9p2000.L,msize=512000,cache=%s", cache)
	if err := syscall.Mount(tag, target, "9p", flags, options); err != nil {
		return fmt.Errorf("mount 9p %s on %s: %w", tag, target, err)
	}
	return nil
}

// runJob runs the host's command and powers off; it reports on the console and in the job folder.
func runJob(r *reaper, stop <-chan os.Signal) error {
	if err := mount9p(jobTag, jobMount, false); err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(jobMount, "job.json"))
	if err != nil {
		return err
	}
	var job jobSpec
	if err := json.Unmarshal(raw, &job); err != nil {
		return fmt.Errorf("job.json: %w", err)
	}
	if err := jobFileSystems(job); err != nil {
		return err
	}
	output, err := os.OpenFile(filepath.Join(jobMount, "output.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	say("job: %s (in %s, on the host's root)", strings.Join(job.Argv, " "), job.Dir)
	started := time.Now()
	argv := append([]string{"/init", enterJobArg, job.Dir}, job.Argv...)
	pid, exited, err := r.fork(argv, job.Env, "/", syscall.CLONE_NEWNS, output)
	if err != nil {
		return fmt.Errorf("start the job %s: %w", job.Argv[0], err)
	}
	var status syscall.WaitStatus
	select {
	case status = <-exited:
	case sig := <-stop:
		// The host asked to stop: the job gets SIGTERM, as a terminal's Ctrl-C would give it, then a minute.
		say("%v: stopping the job", sig)
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case status = <-exited:
		case <-time.After(60 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			status = <-exited
		}
	}
	output.Close()
	code := status.ExitStatus()
	if status.Signaled() {
		code = 128 + int(status.Signal())
	}
	say("job: exit %d after %.1fs", code, time.Since(started).Seconds())
	copied, err := copyBack(job)
	if err != nil {
		say("job: copying back: %v", err)
	}
	say("job: %d files copied back", copied)
	// Written last: the host takes it as the job's end, with everything else in place.
	if err := os.WriteFile(filepath.Join(jobMount, "exit-code"), []byte(fmt.Sprintf("%d\n", code)), 0o644); err != nil {
		return err
	}
	syscall.Sync()
	powerOff()
	return nil
}

const enterJobArg = "enter-job"

// enterJob runs in the job's fresh mount namespace: it makes the job's root
// that namespace's root with pivot_root, then becomes the job. A chroot would
// not do: runc exec joins a container's mount namespace and starts at that
// namespace's root, which under a chrooted dockerd is this init's root, not
// the container's (docker exec then finds none of the image's commands).
func enterJob(args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "init enter-job: want DIR ARGV...")
		return 2
	}
	dir, argv := args[0], args[1:]
	err := func() error {
		// Private first: pivot_root refuses a shared parent, and nothing done here should reach the init's namespace.
		if err := syscall.Mount("", "/", "", syscall.MS_PRIVATE|syscall.MS_REC, ""); err != nil {
			return fmt.Errorf("make / private: %w", err)
		}
		if err := os.Chdir(jobRoot); err != nil {
			return err
		}
		// pivot_root(".", "."): the old root stacks under the new one and is detached at once, no folder needed for it.
		if err := syscall.PivotRoot(".", "."); err != nil {
			return fmt.Errorf("pivot_root to %s: %w", jobRoot, err)
		}
		if err := syscall.Unmount(".", syscall.MNT_DETACH); err != nil {
			return fmt.Errorf("detach the init's root: %w", err)
		}
		if err := os.Chdir(dir); err != nil {
			return err
		}
		// image/job.ts gives an absolute path.
		return syscall.Exec(argv[0], argv, os.Environ())
	}()
	fmt.Fprintf(os.Stderr, "init enter-job: %v\n", err)
	return 1
}

// jobFileSystems makes the job's root: the host's root under an overlay whose upper layer is memory, the kernel's file systems, and the scratch folders.
func jobFileSystems(job jobSpec) error {
	if err := mount9p(job.Root, hostMount, true); err != nil {
		return err
	}
	layers := "/run/moby-make-overlay"
	for _, dir := range []string{layers, jobRoot} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if err := syscall.Mount("tmpfs", layers, "tmpfs", 0, "mode=0755"); err != nil {
		return err
	}
	for _, dir := range []string{layers + "/upper", layers + "/work"} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			return err
		}
	}
	options := fmt.Sprintf("lowerdir=%s,upperdir=%s/upper,workdir=%s/work", hostMount, layers, layers)
	if err := syscall.Mount("overlay", jobRoot, "overlay", 0, options); err != nil {
		return fmt.Errorf("overlay of the host's root: %w", err)
	}
	// /tmp stays the host's, under the overlay: a job's files may live there (a test's temporary checkout).
	if err := mountUnder(jobRoot, kernelMounts, 0); err != nil {
		return err
	}
	// The job's TMPDIR (image/job.ts): temporary files in guest memory.
	if err := os.Mkdir(jobRoot+"/run/moby-make-tmp", 0o755); err != nil {
		return err
	}
	if err := os.Chmod(jobRoot+"/run/moby-make-tmp", 0o777|fs.ModeSticky); err != nil {
		return err
	}
	// The host's resolver is the host's; in here it is QEMU's user network's.
	if err := os.WriteFile(jobRoot+"/etc/resolv.conf", []byte("nameserver 10.0.2.3\n"), 0o644); err != nil {
		return err
	}
	for _, s := range job.Shared {
		if err := mount9p(s.Tag, jobRoot+s.Path, false); err != nil {
			return err
		}
	}
	for i, s := range job.Scratch {
		if err := scratchFolder(s, fmt.Sprintf("%s/%d", scratchRoot, i)); err != nil {
			return err
		}
	}
	return nil
}

// scratchFolder puts a tmpfs on the folder and brings the host's entries back into it (folders bound, links and files as they are) but for the fresh ones.
func scratchFolder(s scratch, below string) error {
	target := jobRoot + s.Path
	for _, dir := range []string{target, below} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	// The overlay's own folder, reached from elsewhere once the tmpfs hides it: the entries keep writing into the overlay.
	if err := syscall.Mount(target, below, "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s: %w", s.Path, err)
	}
	if err := syscall.Mount("tmpfs", target, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("tmpfs on %s: %w", s.Path, err)
	}
	fresh := map[string]bool{}
	for _, name := range s.Fresh {
		fresh[name] = true
	}
	entries, err := os.ReadDir(below)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, entry := range entries {
		if fresh[entry.Name()] {
			continue
		}
		from := filepath.Join(below, entry.Name())
		to := filepath.Join(target, entry.Name())
		info, err := os.Lstat(from)
		if err != nil {
			return err
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(from)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, to); err != nil {
				return err
			}
		case info.IsDir():
			if err := os.Mkdir(to, info.Mode().Perm()); err != nil {
				return err
			}
			if err := syscall.Mount(from, to, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
				return fmt.Errorf("bind %s: %w", to, err)
			}
		case info.Mode().IsRegular():
			if err := copyFile(from, to, info.Mode()); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyBack copies the regular files of the named folders, as the job left them, into the job folder's copy/.
func copyBack(job jobSpec) (int, error) {
	copied := 0
	for _, dir := range job.CopyBack {
		err := filepath.WalkDir(jobRoot+dir, func(path string, entry fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
					return nil
				}
				return err
			}
			info, err := entry.Info()
			if err != nil || !info.Mode().IsRegular() || (job.CopyLimit > 0 && info.Size() > job.CopyLimit) {
				return nil
			}
			target := filepath.Join(jobMount, "copy", strings.TrimPrefix(path, jobRoot))
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			if err := copyFile(path, target, info.Mode()); err != nil {
				return err
			}
			copied++
			return nil
		})
		if err != nil {
			return copied, err
		}
	}
	return copied, nil
}
