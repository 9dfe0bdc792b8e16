// Package b does not build.
package b

func X() int { return "x" }
