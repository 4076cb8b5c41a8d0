// The distribution registry with the filesystem storage driver only. The upstream main also
// links cloud storage drivers and the pull-through proxy: the local node's registry must
// never fetch from another host, and the drivers only cost build time.
package main

import (
	"os"

	"github.com/distribution/distribution/v3/registry"

	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

func main() {
	if err := registry.RootCmd.Execute(); err != nil {
		os.Exit(1)
	}
}
