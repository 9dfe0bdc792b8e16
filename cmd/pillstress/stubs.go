package main

import "context"

func providerOutage(ctx context.Context, h *harness, r *result) { r.Skipped = "not yet" }
func clockMatrix(ctx context.Context, h *harness, r *result)    { r.Skipped = "not yet" }
func storageFaults(ctx context.Context, h *harness, r *result)  { r.Skipped = "not yet" }
func sensorFaults(ctx context.Context, h *harness, r *result)   { r.Skipped = "not yet" }
func badInput(ctx context.Context, h *harness, r *result)       { r.Skipped = "not yet" }
func soak(ctx context.Context, h *harness, r *result)           { r.Skipped = "not yet" }
