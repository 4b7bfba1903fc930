// Command spdx-validate reads SPDX JSON documents with the SPDX project's own
// Go library and checks them with its validator, so the project's SBOMs are
// judged by the reference implementation rather than by the code that wrote
// them. It prints one line per document and exits 1 when any is invalid.
package main

import (
	"fmt"
	"os"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdxlib"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: spdx-validate FILE.spdx.json...")
		os.Exit(2)
	}
	invalid := 0
	for _, path := range os.Args[1:] {
		if err := validate(path); err != nil {
			fmt.Printf("%s: invalid: %v\n", path, err)
			invalid++
			continue
		}
		fmt.Printf("%s: valid\n", path)
	}
	if invalid > 0 {
		os.Exit(1)
	}
}

func validate(path string) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	doc, err := spdxjson.Read(file)
	if err != nil {
		return fmt.Errorf("not SPDX JSON: %w", err)
	}
	if doc.SPDXVersion != "SPDX-2.3" {
		return fmt.Errorf("spdxVersion is %q, not SPDX-2.3", doc.SPDXVersion)
	}
	return spdxlib.ValidateDocument(doc)
}
