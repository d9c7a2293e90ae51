package db

import "tokenservice"

// ListOptions is tokenservice.ListOptions.
//
// Deprecated: kept only until bench/loadgen's tests name tokenservice.ListOptions.
type ListOptions = tokenservice.ListOptions

// EventFilter is tokenservice.EventFilter.
//
// Deprecated: kept only until bench/loadgen's tests name tokenservice.EventFilter.
type EventFilter = tokenservice.EventFilter
