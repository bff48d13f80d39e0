package wire

import (
	"strconv"
	"time"
)

// EpochSeconds is a timestamp as awsJson sends it: seconds since the epoch as a
// JSON number, with a fraction for sub-second precision (aws-facts §1.2).
type EpochSeconds time.Time

// MarshalJSON writes the time as fractional epoch seconds.
func (t EpochSeconds) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	secs := float64(tt.UnixNano()) / 1e9
	return strconv.AppendFloat(nil, secs, 'f', -1, 64), nil
}

// UnmarshalJSON reads a JSON number of epoch seconds.
func (t *EpochSeconds) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	sec := int64(f)
	*t = EpochSeconds(time.Unix(sec, int64((f-float64(sec))*1e9)).UTC())
	return nil
}

// Time returns the timestamp as a time.Time.
func (t EpochSeconds) Time() time.Time { return time.Time(t) }

// Epoch returns a pointer to t as EpochSeconds, for optional JSON fields.
func Epoch(t time.Time) *EpochSeconds {
	if t.IsZero() {
		return nil
	}
	e := EpochSeconds(t)
	return &e
}

// ISO8601 formats t as awsQuery (XML) timestamps are sent: 2026-11-24T16:00:00.000Z.
func ISO8601(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
