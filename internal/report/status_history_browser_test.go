package report

import (
	"context"
	"image"
	"image/color"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/testutil"
)

// TestStatusHTMLInChromium_history renders the page of a service with
// releases, history and a timeline in headless Chromium, every request sent
// through a proxy that counts them: the page asks for nothing (no external
// asset, no hostile text turned into an image or a script). The rendered
// DOM has both colours' commits, a row per deployment, the timeline's
// bands, and the hostile text as text; the screenshot shows blue and green
// (the cards, the timeline's bands). With BG_SCREENSHOT_DIR set, the page
// and its screenshot stay there.
func TestStatusHTMLInChromium_history(t *testing.T) {
	t.Parallel()
	chromium := testutil.RequirePeer(t, "chromium", "chromium-browser", "google-chrome")
	dir := os.Getenv("BG_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	page, err := StatusHTML(sampleSnapshots()["history"])
	if err != nil {
		t.Fatal(err)
	}
	htmlPath := filepath.Join(dir, "status-history.html")
	if err := os.WriteFile(htmlPath, page, 0o600); err != nil {
		t.Fatal(err)
	}
	// A control page with one external image: the proxy must see it, or
	// the check below could not fail.
	control := filepath.Join(dir, "control.html")
	if err := os.WriteFile(control, []byte(`<!DOCTYPE html><img src="http://asset.example/x.png">`), 0o600); err != nil {
		t.Fatal(err)
	}
	var requests, controlAsked atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	proxy := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch host := strings.TrimPrefix(r.Host, "//"); {
		case strings.HasPrefix(host, "asset.example"):
			controlAsked.Add(1)
			http.Error(w, "no", http.StatusForbidden)
			return
		case browserOwn(host):
			// Chromium's own update and time checks, made whatever it shows.
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		requests.Add(1)
		t.Logf("the page asked for %s %s", r.Method, r.URL)
		http.Error(w, "no", http.StatusForbidden)
	})}
	go func() { _ = proxy.Serve(ln) }()
	t.Cleanup(func() { _ = proxy.Close() })

	run := func(page string, extra ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		args := append([]string{
			"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
			"--disable-extensions", "--disable-default-apps", "--no-pings", "--disable-domain-reliability", "--disable-client-side-phishing-detection",
			"--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
			"--proxy-server=http://" + ln.Addr().String(), "--proxy-bypass-list=<-loopback>",
			"--user-data-dir=" + filepath.Join(t.TempDir(), "profile"), "--window-size=1100,1500",
		}, extra...)
		args = append(args, "file://"+page)
		out, err := exec.CommandContext(ctx, chromium, args...).Output()
		if err != nil {
			t.Fatalf("chromium %v: %v", extra, err)
		}
		return out
	}
	shot := filepath.Join(dir, "status-history.png")
	run(htmlPath, "--screenshot="+shot)
	dom := string(run(htmlPath, "--dump-dom"))
	run(control, "--dump-dom")
	if controlAsked.Load() == 0 {
		t.Error("the control page's external image never reached the proxy: the check for external assets sees nothing")
	}

	if n := requests.Load(); n != 0 {
		t.Errorf("the page made %d requests: it must need no external asset", n)
	}
	for _, want := range []string{
		`<code>01234567</code>`, `<code>fedcba98</code>`, "Add the cart", // both colours' commits
		"Fix &lt;b&gt;checkout&lt;/b&gt;", "web&lt;script&gt;alert('svc')&lt;/script&gt;", // hostile text shown as text
		`href="https://gitlab.example.com/group/web/-/pipelines/1234"`, "HOOK_EXECUTION_FAILURE",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
	if strings.Contains(dom, "<script") || strings.Contains(dom, "<img") || strings.Contains(dom, "javascript:") && strings.Contains(dom, `href="javascript:`) {
		t.Error("hostile text became markup in the rendered page")
	}
	rows := regexp.MustCompile(`(?s)<tbody>(.*?)</tbody>`).FindStringSubmatch(dom)
	if rows == nil || strings.Count(rows[1], "<tr>") != 4 {
		t.Errorf("history table rows: %v, want 4", rows)
	}
	if n := strings.Count(dom, `<rect class="blue"`) + strings.Count(dom, `<rect class="green"`); n < 4 {
		t.Errorf("the timeline has %d bands, want one per colour and stretch (at least 4)", n)
	}

	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("screenshot does not decode: %v", err)
	}
	blue := color.RGBA{0x1f, 0x6f, 0xeb, 0xff}
	green := color.RGBA{0x1a, 0x7f, 0x37, 0xff}
	// The timeline is the only thing drawn in solid colour below the
	// cards: count its blue and green rows of pixels.
	b := img.Bounds()
	blueRows, greenRows := 0, 0
	for y := b.Min.Y + b.Dy()/3; y < b.Max.Y; y++ {
		nb, ng := 0, 0
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			switch {
			case near(c, blue):
				nb++
			case near(c, green):
				ng++
			}
		}
		if nb > 20 {
			blueRows++
		}
		if ng > 100 {
			greenRows++
		}
	}
	if blueRows < 20 || greenRows < 20 {
		t.Errorf("the screenshot's lower part has %d rows of blue and %d of green: the timeline did not render both colours", blueRows, greenRows)
	}
	t.Logf("screenshot: %s", shot)

	// The many-services page: a row per service linking to its page, the
	// broken one marked, hostile names as text, nothing fetched.
	fleetPage, err := FleetHTML(time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC), fleetSample())
	if err != nil {
		t.Fatal(err)
	}
	fleetPath := filepath.Join(dir, "fleet.html")
	if err := os.WriteFile(fleetPath, fleetPage, 0o600); err != nil {
		t.Fatal(err)
	}
	fleetShot := filepath.Join(dir, "fleet.png")
	run(fleetPath, "--screenshot="+fleetShot)
	fleetDOM := string(run(fleetPath, "--dump-dom"))
	if n := requests.Load(); n != 0 {
		t.Errorf("the pages made %d requests: they must need no external asset", n)
	}
	if n := strings.Count(fleetDOM, `<tr class="service`); n != 3 {
		t.Errorf("the services page has %d rows, want 3", n)
	}
	if n := strings.Count(fleetDOM, `<tr class="service failed">`); n != 2 {
		t.Errorf("the services page marks %d rows failed, want 2", n)
	}
	for _, want := range []string{`href="services/web/status.html"`, "gone&lt;b&gt;", "ECS service gone not found"} {
		if !strings.Contains(fleetDOM, want) {
			t.Errorf("the services page lacks %q", want)
		}
	}
	if strings.Contains(fleetDOM, "<script") || strings.Contains(fleetDOM, "<b>") {
		t.Error("hostile text became markup in the services page")
	}
	if _, err := os.Stat(fleetShot); err != nil {
		t.Errorf("no screenshot of the services page: %v", err)
	}
}

// browserOwn are the hosts Chromium calls on its own (component updates,
// time, sign-in), whatever page it shows.
func browserOwn(host string) bool {
	host, _, _ = strings.Cut(host, ":")
	switch host {
	case "update.googleapis.com", "clients2.google.com", "accounts.google.com":
		return true
	}
	return false
}
