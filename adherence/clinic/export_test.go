package clinic

// HoldHashes takes n of the service's password hashes, as n sign-ins
// hashing at once would; each call of release gives one back.
func HoldHashes(s *Service, n int) (release func()) {
	for range n {
		s.hashing <- struct{}{}
	}
	return func() { <-s.hashing }
}

// ConcurrentHashes is how many hashes run at once.
const ConcurrentHashes = concurrentHashes
