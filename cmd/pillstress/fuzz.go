package main

import (
	"context"
	"io"
	"time"
)

func fuzzAll(ctx context.Context, root string, d time.Duration, log io.Writer) []*result { return nil }
