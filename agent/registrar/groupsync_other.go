//go:build !linux

package registrar

import "os"

const haveSyncFS = false

func syncFilesystems(files []*os.File) error {
	for _, f := range files {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return nil
}
