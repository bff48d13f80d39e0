// Package fuzz holds the fuzz targets of package render, in a test binary
// of their own: linked into render's tests, which also link the AWS
// simulator for the registration tests, the fuzzer stalled in its coverage
// bookkeeping at 0 executions a second (18 in 30 s); here it runs thousands
// a second.
package fuzz
