package main

// The kernel asks for modules it lacks by running /proc/sys/kernel/modprobe
// ("modprobe -q -- nft-chain-2-nat"): iptables' tables and matches, nftables'
// expressions, crypto. The image has no kmod and no depmod files, so init
// stands in: the build wrote an index of the autoload folders' modules (by
// name, their dependencies, their aliases), and this loads what a request
// names, dependencies first, as modprobe would.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
)

const modprobePath = "/sbin/modprobe"

type moduleIndex struct {
	Modules map[string]struct {
		Path    string   `json:"path"`
		Depends []string `json:"depends"`
		SoftPre []string `json:"softPre"`
	} `json:"modules"`
	Aliases [][2]string `json:"aliases"`
}

// enableModprobe points the kernel's module requests at init, under the name modprobe.
func enableModprobe(index string) error {
	if index == "" {
		return nil
	}
	if err := os.MkdirAll(path.Dir(modprobePath), 0o755); err != nil {
		return err
	}
	if err := os.Symlink("/init", modprobePath); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return os.WriteFile("/proc/sys/kernel/modprobe", []byte(modprobePath+"\n"), 0o644)
}

// modprobe loads the modules its arguments name (options such as -q are taken and ignored); 1 when one is unknown.
func modprobe(args []string) int {
	raw, err := os.ReadFile(configPath)
	if err != nil {
		return 1
	}
	var cfg config
	if json.Unmarshal(raw, &cfg) != nil || cfg.ModuleIndex == "" {
		return 1
	}
	raw, err = os.ReadFile(cfg.ModuleIndex)
	if err != nil {
		return 1
	}
	var index moduleIndex
	if json.Unmarshal(raw, &index) != nil {
		return 1
	}
	status := 0
	for _, arg := range args {
		if strings.HasPrefix(arg, "-") {
			continue
		}
		if err := index.load(arg, false, map[string]bool{}); err != nil {
			fmt.Fprintf(os.Stderr, "modprobe: %v\n", err)
			status = 1
		}
	}
	return status
}

// resolve gives the module a request names: its own name (dashes and underscores alike) or an alias pattern that matches.
func (index *moduleIndex) resolve(name string) (string, bool) {
	normal := strings.ReplaceAll(name, "-", "_")
	if _, ok := index.Modules[normal]; ok {
		return normal, true
	}
	for _, alias := range index.Aliases {
		if matched, _ := path.Match(alias[0], name); matched {
			return alias[1], true
		}
	}
	return "", false
}

func (index *moduleIndex) load(name string, soft bool, seen map[string]bool) error {
	module, ok := index.resolve(name)
	if !ok {
		if soft {
			return nil
		}
		return fmt.Errorf("no module %s in the image", name)
	}
	if seen[module] {
		return nil
	}
	seen[module] = true
	entry := index.Modules[module]
	for _, dependency := range entry.SoftPre {
		_ = index.load(dependency, true, seen)
	}
	for _, dependency := range entry.Depends {
		if err := index.load(dependency, false, seen); err != nil {
			return err
		}
	}
	return finitModule(entry.Path)
}
