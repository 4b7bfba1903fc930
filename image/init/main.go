// Command init is PID 1 of the image npm run image builds: it moves the
// initramfs into a tmpfs (runc cannot pivot_root out of rootfs), mounts the
// kernel's file systems with the unified cgroup v2 hierarchy, loads the
// modules the image lists, brings the network up, runs the onboot commands,
// starts the services, loads the preloaded images into dockerd, and powers
// the machine off on Ctrl-Alt-Del (what the host sends to stop it), SIGTERM
// or SIGPWR. Everything it is told comes from /etc/moby-make/image.json,
// which the build writes from image.yml.
package main

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

const configPath = "/etc/moby-make/image.json"

// finit_module(2) on x86-64, which the syscall package does not name.
const sysFinitModule = 313

// Marker lines the host reads on the serial console.
const (
	readyMarker    = "moby-make-image: ready"
	failedMarker   = "moby-make-image: failed:"
	poweroffMarker = "moby-make-image: powering off"
)

type command struct {
	Name    string   `json:"name"`
	Command []string `json:"command"`
	Env     []string `json:"env"`
	// A path that exists once the service is ready (its socket): the next one starts after it.
	Ready string `json:"ready"`
}

type network struct {
	Interface string `json:"interface"`
	Address   string `json:"address"`
	Netmask   string `json:"netmask"`
	Gateway   string `json:"gateway"`
}

type forward struct {
	// A TCP port on the guest's address, forwarded to a unix socket; only the user network's gateway (QEMU's hostfwd) may connect.
	Port    int    `json:"port"`
	Socket  string `json:"socket"`
	Allowed string `json:"allowed"`
}

type config struct {
	Hostname     string    `json:"hostname"`
	Modules      []string  `json:"modules"`
	ModuleIndex  string    `json:"moduleIndex"`
	Network      network   `json:"network"`
	Onboot       []command `json:"onboot"`
	Services     []command `json:"services"`
	Images       []string  `json:"images"`
	DockerSocket string    `json:"dockerSocket"`
	Forward      forward   `json:"forward"`
}

func main() {
	if filepath.Base(os.Args[0]) == "modprobe" {
		os.Exit(modprobe(os.Args[1:]))
	}
	if len(os.Args) > 1 && os.Args[1] == enterJobArg {
		os.Exit(enterJob(os.Args[2:]))
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "init: not process 1; this is the image's init, booted by npm run image -- run")
		os.Exit(2)
	}
	if len(os.Args) < 2 || os.Args[1] != "switched" {
		if err := switchToTmpfs(); err != nil {
			fail(err)
		}
	}
	if err := boot(); err != nil {
		fail(err)
	}
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stdout, "moby-make-image: "+format+"\n", args...)
}

func fail(err error) {
	fmt.Fprintf(os.Stdout, "%s %v\n", failedMarker, err)
	powerOff()
}

// switchToTmpfs copies rootfs into a tmpfs, freeing each file as it goes, and
// re-executes init there as the root (what switch_root does).
func switchToTmpfs() error {
	const newRoot = "/newroot"
	if err := os.MkdirAll(newRoot, 0o755); err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", newRoot, "tmpfs", 0, "mode=0755,size=90%"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", newRoot, err)
	}
	err := filepath.WalkDir("/", func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == "/" {
			return nil
		}
		if path == newRoot || path == "/proc" || path == "/sys" || path == "/dev" {
			return fs.SkipDir
		}
		info, err := entry.Info()
		if err != nil {
			return err
		}
		target := newRoot + path
		switch {
		case entry.IsDir():
			return os.Mkdir(target, info.Mode().Perm()|modeBits(info.Mode()))
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.Mode().IsRegular():
			if err := copyFile(path, target, info.Mode()); err != nil {
				return err
			}
			return os.Remove(path)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("copy the initramfs into tmpfs: %w", err)
	}
	if err := os.Chdir(newRoot); err != nil {
		return err
	}
	if err := syscall.Mount(".", "/", "", syscall.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move %s to /: %w", newRoot, err)
	}
	if err := syscall.Chroot("."); err != nil {
		return err
	}
	if err := os.Chdir("/"); err != nil {
		return err
	}
	return syscall.Exec("/init", []string{"/init", "switched"}, os.Environ())
}

func modeBits(mode fs.FileMode) fs.FileMode {
	return mode & (fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

func copyFile(from, to string, mode fs.FileMode) error {
	source, err := os.Open(from)
	if err != nil {
		return err
	}
	defer source.Close()
	target, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, mode.Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(target, source); err != nil {
		target.Close()
		return err
	}
	if err := target.Chmod(mode.Perm() | modeBits(mode)); err != nil {
		target.Close()
		return err
	}
	return target.Close()
}

func boot() error {
	started := time.Now()
	if err := mountKernelFileSystems(); err != nil {
		return err
	}
	raw, err := os.ReadFile(configPath)
	if err != nil {
		return err
	}
	var cfg config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("%s: %w", configPath, err)
	}
	if err := syscall.Sethostname([]byte(cfg.Hostname)); err != nil {
		return err
	}
	// Ctrl-Alt-Del becomes SIGINT for init instead of an immediate reboot: the host's way to ask for a clean power-off.
	if err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_CAD_OFF); err != nil {
		return err
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM, syscall.SIGPWR)
	reaper := startReaper()
	if err := loadModules(cfg.Modules); err != nil {
		return err
	}
	if err := enableModprobe(cfg.ModuleIndex); err != nil {
		return err
	}
	if err := networkUp(cfg.Network); err != nil {
		return err
	}
	for _, step := range cfg.Onboot {
		if err := runToEnd(reaper, step); err != nil {
			return err
		}
	}
	if hasJobShare() {
		return runJob(reaper, stop)
	}
	var services []*service
	defer func() { stopServices(reaper, services) }()
	for _, spec := range cfg.Services {
		svc, err := startService(reaper, spec)
		if err != nil {
			return err
		}
		services = append(services, svc)
		if spec.Ready != "" {
			if err := waitFor(spec.Ready, svc, 120*time.Second); err != nil {
				return err
			}
		}
	}
	if cfg.DockerSocket != "" {
		if err := loadImages(cfg.DockerSocket, cfg.Images); err != nil {
			return err
		}
	}
	if cfg.Forward.Port != 0 {
		if err := forwardPort(cfg.Network.Address, cfg.Forward); err != nil {
			return err
		}
	}
	var uptime syscall.Sysinfo_t
	_ = syscall.Sysinfo(&uptime)
	say("up after %.1fs of init, %ds since the kernel started", time.Since(started).Seconds(), uptime.Uptime)
	fmt.Println(readyMarker)
	sig := <-stop
	say("%v: stopping services", sig)
	stopServices(reaper, services)
	services = nil
	powerOff()
	return nil
}

type kernelMount struct{ source, target, fstype, data string }

// The kernel's file systems every root of ours has: the machine's, and a job's.
var kernelMounts = []kernelMount{
	{"proc", "/proc", "proc", ""},
	{"sysfs", "/sys", "sysfs", ""},
	{"cgroup2", "/sys/fs/cgroup", "cgroup2", "nsdelegate"},
	{"devtmpfs", "/dev", "devtmpfs", "mode=0755"},
	{"devpts", "/dev/pts", "devpts", "newinstance,ptmxmode=0666,mode=0620"},
	{"tmpfs", "/dev/shm", "tmpfs", "mode=1777"},
	{"tmpfs", "/run", "tmpfs", "mode=0755"},
}

// mountUnder mounts each under root ("" for /), with /dev/fd and /dev/ptmx as links.
func mountUnder(root string, mounts []kernelMount, flags uintptr) error {
	for _, m := range mounts {
		target := root + m.target
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
		if err := syscall.Mount(m.source, target, m.fstype, flags, m.data); err != nil && !errors.Is(err, syscall.EBUSY) {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, target, err)
		}
	}
	_ = os.Symlink("/proc/self/fd", root+"/dev/fd")
	_ = os.Remove(root + "/dev/ptmx")
	_ = os.Symlink("pts/ptmx", root+"/dev/ptmx")
	return nil
}

func mountKernelFileSystems() error {
	if err := mountUnder("", append(kernelMounts, kernelMount{"tmpfs", "/tmp", "tmpfs", "mode=1777"}), syscall.MS_NOSUID); err != nil {
		return err
	}
	if err := os.Symlink("/run", "/var/run"); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	// The root cgroup hands every controller to its children, as systemd does on a cgroup v2 host.
	controllers, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
	if err != nil {
		return err
	}
	var enable []string
	for _, name := range strings.Fields(string(controllers)) {
		enable = append(enable, "+"+name)
	}
	return os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte(strings.Join(enable, " ")), 0o644)
}

func loadModules(paths []string) error {
	for _, path := range paths {
		if err := finitModule(path); err != nil {
			return err
		}
	}
	say("%d modules loaded", len(paths))
	return nil
}

// finitModule loads the module file with no parameters; one already loaded is fine.
func finitModule(path string) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	params := []byte{0}
	_, _, errno := syscall.Syscall(sysFinitModule, file.Fd(), uintptr(unsafe.Pointer(&params[0])), 0)
	if errno != 0 && errno != syscall.EEXIST {
		return fmt.Errorf("load module %s: %w", path, errno)
	}
	return nil
}

// The ioctls' struct ifreq and struct rtentry, as linux/if.h and linux/route.h lay them out on 64-bit.
type ifreqAddr struct {
	Name [16]byte
	Addr syscall.RawSockaddrInet4
	_    [8]byte
}

type ifreqFlags struct {
	Name  [16]byte
	Flags uint16
	_     [22]byte
}

type rtentry struct {
	_       uint64
	Dst     syscall.RawSockaddrInet4
	Gateway syscall.RawSockaddrInet4
	Genmask syscall.RawSockaddrInet4
	Flags   uint16
	_       int16
	_       uint64
	_       uintptr
	Metric  int16
	Dev     uintptr
	MTU     uint64
	Window  uint64
	IRTT    uint16
}

func ioctl(fd int, request uintptr, arg unsafe.Pointer) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), request, uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}

func inet4(address string) (syscall.RawSockaddrInet4, error) {
	ip := net.ParseIP(address).To4()
	if ip == nil {
		return syscall.RawSockaddrInet4{}, fmt.Errorf("%q is not an IPv4 address", address)
	}
	raw := syscall.RawSockaddrInet4{Family: syscall.AF_INET}
	copy(raw.Addr[:], ip)
	return raw, nil
}

func setUp(fd int, name string) error {
	var flags ifreqFlags
	copy(flags.Name[:], name)
	if err := ioctl(fd, syscall.SIOCGIFFLAGS, unsafe.Pointer(&flags)); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	flags.Flags |= syscall.IFF_UP
	return ioctl(fd, syscall.SIOCSIFFLAGS, unsafe.Pointer(&flags))
}

func networkUp(n network) error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	if err := setUp(fd, "lo"); err != nil {
		return err
	}
	if n.Interface == "" {
		return nil
	}
	// The network driver's module was just loaded: its interface may take a moment to appear.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := net.InterfaceByName(n.Interface); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no network interface %s", n.Interface)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, set := range []struct {
		request uintptr
		value   string
	}{{syscall.SIOCSIFADDR, n.Address}, {syscall.SIOCSIFNETMASK, n.Netmask}} {
		var req ifreqAddr
		copy(req.Name[:], n.Interface)
		if req.Addr, err = inet4(set.value); err != nil {
			return err
		}
		if err := ioctl(fd, set.request, unsafe.Pointer(&req)); err != nil {
			return fmt.Errorf("%s %s: %w", n.Interface, set.value, err)
		}
	}
	if err := setUp(fd, n.Interface); err != nil {
		return err
	}
	if n.Gateway != "" {
		var route rtentry
		route.Dst = syscall.RawSockaddrInet4{Family: syscall.AF_INET}
		route.Genmask = syscall.RawSockaddrInet4{Family: syscall.AF_INET}
		if route.Gateway, err = inet4(n.Gateway); err != nil {
			return err
		}
		route.Flags = syscall.RTF_UP | syscall.RTF_GATEWAY
		if err := ioctl(fd, syscall.SIOCADDRT, unsafe.Pointer(&route)); err != nil {
			return fmt.Errorf("default route via %s: %w", n.Gateway, err)
		}
	}
	say("network %s %s, gateway %s", n.Interface, n.Address, n.Gateway)
	return nil
}

// reaper is init's only wait4 caller: it reaps every child (orphans included)
// and hands the exit of a process init started to whoever waits for it.
type reaper struct {
	mu      sync.Mutex
	waiting map[int]chan syscall.WaitStatus
}

func startReaper() *reaper {
	r := &reaper{waiting: map[int]chan syscall.WaitStatus{}}
	children := make(chan os.Signal, 16)
	signal.Notify(children, syscall.SIGCHLD)
	go func() {
		for range children {
			for {
				var status syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
				r.mu.Lock()
				ch, ok := r.waiting[pid]
				delete(r.waiting, pid)
				r.mu.Unlock()
				if ok {
					ch <- status
				}
			}
		}
	}()
	return r
}

// start forks a process whose exit the reaper will deliver (registered before the child can exit).
func (r *reaper) start(spec command, output *os.File) (int, chan syscall.WaitStatus, error) {
	env := append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"}, spec.Env...)
	pid, exited, err := r.fork(spec.Command, env, "/", 0, output)
	if err != nil {
		return 0, nil, fmt.Errorf("start %s (%s): %w", spec.Name, spec.Command[0], err)
	}
	return pid, exited, nil
}

// fork starts argv in a session of its own (in the new namespaces unshare names), stdin /dev/null and both outputs to output.
func (r *reaper) fork(argv, env []string, dir string, unshare uintptr, output *os.File) (int, chan syscall.WaitStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{
		Dir:   dir,
		Env:   env,
		Files: []uintptr{devNull().Fd(), output.Fd(), output.Fd()},
		Sys:   &syscall.SysProcAttr{Unshareflags: unshare, Setsid: true},
	})
	if err != nil {
		return 0, nil, err
	}
	ch := make(chan syscall.WaitStatus, 1)
	r.waiting[pid] = ch
	return pid, ch, nil
}

var nullFile *os.File

func devNull() *os.File {
	if nullFile == nil {
		nullFile, _ = os.Open("/dev/null")
	}
	return nullFile
}

func logFile(name string) (*os.File, error) {
	if err := os.MkdirAll("/var/log", 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile("/var/log/"+name+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}

func runToEnd(r *reaper, spec command) error {
	output, err := logFile(spec.Name)
	if err != nil {
		return err
	}
	defer output.Close()
	_, exited, err := r.start(spec, output)
	if err != nil {
		return err
	}
	if status := <-exited; status.ExitStatus() != 0 {
		return fmt.Errorf("onboot %s exited with %d (its log: /var/log/%s.log)", spec.Name, status.ExitStatus(), spec.Name)
	}
	say("onboot %s done", spec.Name)
	return nil
}

type service struct {
	name   string
	pid    int
	exited chan syscall.WaitStatus
	status *syscall.WaitStatus
}

func startService(r *reaper, spec command) (*service, error) {
	output, err := logFile(spec.Name)
	if err != nil {
		return nil, err
	}
	defer output.Close()
	pid, exited, err := r.start(spec, output)
	if err != nil {
		return nil, err
	}
	say("service %s started (pid %d, log /var/log/%s.log)", spec.Name, pid, spec.Name)
	return &service{name: spec.Name, pid: pid, exited: exited}, nil
}

func (s *service) hasExited() bool {
	if s.status != nil {
		return true
	}
	select {
	case status := <-s.exited:
		s.status = &status
		return true
	default:
		return false
	}
}

func waitFor(path string, svc *service, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if svc.hasExited() {
			return fmt.Errorf("service %s exited with %d before %s appeared (its log: /var/log/%s.log)", svc.name, svc.status.ExitStatus(), path, svc.name)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("service %s: no %s after %v", svc.name, path, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stopServices stops the services last-started first, each with SIGTERM and 20 seconds before SIGKILL.
func stopServices(r *reaper, services []*service) {
	for i := len(services) - 1; i >= 0; i-- {
		svc := services[i]
		if svc.hasExited() {
			continue
		}
		_ = syscall.Kill(svc.pid, syscall.SIGTERM)
		select {
		case status := <-svc.exited:
			svc.status = &status
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-svc.pid, syscall.SIGKILL)
			_ = syscall.Kill(svc.pid, syscall.SIGKILL)
		}
		say("service %s stopped", svc.name)
	}
}

func unixClient(socket string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "unix", socket)
		},
	}}
}

// loadImages sends each preloaded docker-save folder to POST /images/load as a tar stream.
func loadImages(socket string, dirs []string) error {
	client := unixClient(socket)
	deadline := time.Now().Add(60 * time.Second)
	for {
		response, err := client.Get("http://docker/_ping")
		if err == nil {
			response.Body.Close()
			if response.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd did not answer /_ping on %s", socket)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, dir := range dirs {
		reader, writer := io.Pipe()
		go func() { writer.CloseWithError(tarFolder(dir, writer)) }()
		response, err := client.Post("http://docker/images/load?quiet=1", "application/x-tar", reader)
		if err != nil {
			return fmt.Errorf("load %s: %w", dir, err)
		}
		body, _ := io.ReadAll(response.Body)
		response.Body.Close()
		if response.StatusCode != http.StatusOK || strings.Contains(string(body), `"error"`) {
			return fmt.Errorf("load %s: %s %s", dir, response.Status, strings.TrimSpace(string(body)))
		}
		say("image %s loaded", filepath.Base(dir))
	}
	return nil
}

func tarFolder(dir string, out io.Writer) error {
	archive := tar.NewWriter(out)
	var names []string
	err := filepath.WalkDir(dir, func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir {
			names = append(names, path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, path := range names {
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		header, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		header.Name, _ = filepath.Rel(dir, path)
		if info.IsDir() {
			header.Name += "/"
		}
		if err := archive.WriteHeader(header); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			file, err := os.Open(path)
			if err != nil {
				return err
			}
			_, err = io.Copy(archive, file)
			file.Close()
			if err != nil {
				return err
			}
		}
	}
	return archive.Close()
}

// forwardPort makes dockerd's unix socket reachable on the guest's address for QEMU's hostfwd, from the gateway alone.
func forwardPort(address string, f forward) error {
	listener, err := net.Listen("tcp", fmt.Sprintf("%s:%d", address, f.Port))
	if err != nil {
		return err
	}
	allowed := net.ParseIP(f.Allowed)
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			remote, _ := conn.RemoteAddr().(*net.TCPAddr)
			if remote == nil || !remote.IP.Equal(allowed) {
				conn.Close()
				continue
			}
			go func() {
				defer conn.Close()
				upstream, err := net.Dial("unix", f.Socket)
				if err != nil {
					return
				}
				defer upstream.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(upstream, conn); closeWrite(upstream); done <- struct{}{} }()
				go func() { _, _ = io.Copy(conn, upstream); closeWrite(conn); done <- struct{}{} }()
				<-done
				<-done
			}()
		}
	}()
	say("%s on %s:%d (from %s only)", f.Socket, address, f.Port, f.Allowed)
	return nil
}

func closeWrite(conn net.Conn) {
	if half, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = half.CloseWrite()
	}
}

func powerOff() {
	fmt.Println(poweroffMarker)
	syscall.Sync()
	_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}
