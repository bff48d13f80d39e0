package config

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/sethvargo/go-envconfig"
)

// sdkVar is an AWS_* variable the AWS SDK parses when the clients are built.
// The SDK refuses a bad value only then, as a failure to load its
// configuration; checked here, it is one more problem in the settings
// report, before anything touches AWS.
type sdkVar struct {
	name string
	// check returns what is wrong with a set value, or "".
	check func(v string) string
}

func oneOf(fold bool, allowed ...string) func(string) string {
	return func(v string) string {
		for _, a := range allowed {
			if v == a || fold && strings.EqualFold(v, a) {
				return ""
			}
		}
		return "must be one of " + strings.Join(allowed, ", ")
	}
}

var sdkBool = oneOf(true, "true", "false")

func absoluteURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "must be an absolute http:// or https:// URL"
	}
	if p := u.Port(); p != "" && portOK(p) != nil {
		return "has a port outside 1-65535"
	}
	return ""
}

// sdkVars follow the SDK's own parsing (config.NewEnvConfig), which a test
// holds them to; AWS_MAX_ATTEMPTS also follows awsclient, which needs at
// least one attempt.
var sdkVars = []sdkVar{
	{"AWS_MAX_ATTEMPTS", func(v string) string {
		if n, err := strconv.Atoi(v); err != nil || n < 1 {
			return "must be a whole number of at least 1 (how many times each AWS call is tried)"
		}
		return ""
	}},
	{"AWS_RETRY_MODE", func(v string) string {
		if _, err := aws.ParseRetryMode(v); err != nil {
			return "must be standard or adaptive"
		}
		return ""
	}},
	{"AWS_DEFAULTS_MODE", func(v string) string {
		var m aws.DefaultsMode
		if !m.SetFromString(v) {
			return "must be one of auto, cross-region, in-region, legacy, mobile, standard"
		}
		return ""
	}},
	{"AWS_USE_FIPS_ENDPOINT", sdkBool},
	{"AWS_USE_DUALSTACK_ENDPOINT", sdkBool},
	{"AWS_DISABLE_REQUEST_COMPRESSION", sdkBool},
	{"AWS_DISABLE_CLOCK_SKEW_CORRECTION", sdkBool},
	{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", sdkBool},
	{"AWS_EC2_METADATA_V1_DISABLED", sdkBool},
	{"AWS_S3_USE_ARN_REGION", sdkBool},
	{"AWS_S3_DISABLE_MULTIREGION_ACCESS_POINTS", sdkBool},
	{"AWS_S3_DISABLE_EXPRESS_SESSION_AUTH", sdkBool},
	{"AWS_ENABLE_ENDPOINT_DISCOVERY", oneOf(true, "true", "false", "auto")},
	{"AWS_REQUEST_MIN_COMPRESSION_SIZE_BYTES", func(v string) string {
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 || n > 10485760 {
			return "must be a whole number from 0 to 10485760"
		}
		return ""
	}},
	{"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", oneOf(true, "IPv4", "IPv6")},
	{"AWS_ACCOUNT_ID_ENDPOINT_MODE", oneOf(false, "preferred", "required", "disabled")},
	{"AWS_REQUEST_CHECKSUM_CALCULATION", oneOf(true, "when_supported", "when_required")},
	{"AWS_RESPONSE_CHECKSUM_VALIDATION", oneOf(true, "when_supported", "when_required")},
	{"AWS_RESTRICT_FILE_PERMISSIONS", oneOf(true, "user_read_write", "unrestricted")},
	{"AWS_EC2_METADATA_SERVICE_ENDPOINT", absoluteURL},
	{"AWS_ENDPOINT_URL", absoluteURL},
	{"AWS_CA_BUNDLE", func(v string) string {
		// The SDK opens it while loading its configuration.
		info, err := os.Stat(v)
		switch {
		case err != nil:
			return "names a file that cannot be read (" + reason(err) + ")"
		case info.IsDir():
			return "names a folder, not a PEM file of certificates"
		}
		return ""
	}},
}

// endpointServices are the AWS_ENDPOINT_URL_<SERVICE> suffixes of the
// services ecs-bluegreen calls.
var endpointServices = []string{"ECS", "CODEDEPLOY", "ECR", "ELASTIC_LOAD_BALANCING_V2", "STS", "CLOUDWATCH"}

// validateEnv checks the AWS_* variables the SDK reads on its own.
func (a *AWS) validateEnv(l envconfig.Lookuper) []Problem {
	var ps []Problem
	check := func(name string, fn func(string) string) {
		v, ok := l.Lookup(name)
		if !ok {
			return
		}
		if r, ok := controlFree(v); !ok {
			ps = append(ps, controlProblem(name, r, v))
			return
		}
		if msg := fn(v); msg != "" {
			ps = append(ps, Problem{Var: name, Message: msg, Value: v})
		}
	}
	for _, s := range sdkVars {
		check(s.name, s.check)
	}
	for _, s := range endpointServices {
		check("AWS_ENDPOINT_URL_"+s, absoluteURL)
	}
	check("AWS_PROFILE", func(v string) string { return checkProfile(l, v) })
	return ps
}

// checkProfile reads a named profile the way the SDK will, from
// AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE or their defaults: a
// profile that is in neither file fails every command at its first AWS
// call. "default" is left to the SDK, which tolerates its absence.
func checkProfile(l envconfig.Lookuper, profile string) string {
	if profile == "default" {
		return ""
	}
	_, err := awsconfig.LoadSharedConfigProfile(context.Background(), profile, func(o *awsconfig.LoadSharedConfigOptions) {
		if f, ok := l.Lookup("AWS_CONFIG_FILE"); ok {
			o.ConfigFiles = []string{f}
		}
		if f, ok := l.Lookup("AWS_SHARED_CREDENTIALS_FILE"); ok {
			o.CredentialsFiles = []string{f}
		}
	})
	var missing awsconfig.SharedConfigProfileNotExistError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &missing):
		return "names a profile that is in neither the AWS config file nor the credentials file (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE)"
	}
	return "names a profile the SDK cannot read: " + err.Error()
}

func controlProblem(name string, r rune, v string) Problem {
	return Problem{Var: name, Message: fmt.Sprintf("holds the control character %U: remove it (a newline or escape sequence is never part of a setting)", r), Value: v}
}

// reason is an error without the path the message already names.
func reason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
