// Package report writes what a run leaves behind: the dotenv file GitLab
// passes to later jobs, and the status and test reports, each written
// atomically so a cancelled job never leaves half a file.
package report
