//go:build race

package main

// raceBuild: the tests run with -race, and so does the daemon they start.
const raceBuild = true
