//go:build !unix

package template

// openNoFollow is 0 where the platform has no O_NOFOLLOW; writeToFile's
// Lstat check still refuses symlinks.
const openNoFollow = 0
