package report

import (
	"context"
	"image"
	"image/color"
	_ "image/png" // decode the screenshot
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/testutil"
)

// TestStatusHTMLInChromium renders status.html in headless Chromium and checks
// the screenshots: the traffic bar shows the colours in about the right
// proportions, so the page is not just valid markup but renders as meant.
func TestStatusHTMLInChromium(t *testing.T) {
	t.Parallel()
	chromium := testutil.RequirePeer(t, "chromium", "chromium-browser", "google-chrome")
	t.Run("canary", func(t *testing.T) {
		t.Parallel()
		nBlue, nGreen := screenshotColours(t, chromium, "canary")
		// The card borders add the same amount of each colour; the bar adds 90:10.
		if nBlue < 2*nGreen {
			t.Errorf("blue pixels %d vs green %d: the 90/10 traffic bar did not render in proportion", nBlue, nGreen)
		}
	})
	t.Run("listener", func(t *testing.T) {
		t.Parallel()
		nBlue, nGreen := screenshotColours(t, chromium, "listener")
		// Green is live: the bar is all green.
		if nGreen < 2*nBlue {
			t.Errorf("blue pixels %d vs green %d: the all-green traffic bar did not render", nBlue, nGreen)
		}
	})
}

// screenshotColours renders a sample snapshot's page and counts its blue and
// green pixels.
func screenshotColours(t *testing.T, chromium, sample string) (nBlue, nGreen int) {
	t.Helper()
	dir := t.TempDir()
	page, err := StatusHTML(sampleSnapshots()[sample])
	if err != nil {
		t.Fatal(err)
	}
	htmlPath := filepath.Join(dir, "status.html")
	if err := os.WriteFile(htmlPath, page, 0o600); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "status.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// The flags keep Chromium off the network (this machine's network is
	// closed) and out of any profile.
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--window-size=1000,700", "--screenshot="+shot, "file://"+htmlPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
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
	if keep := os.Getenv("BG_SCREENSHOT_DIR"); keep != "" {
		if data, err := os.ReadFile(shot); err == nil {
			_ = os.MkdirAll(keep, 0o750)
			_ = os.WriteFile(filepath.Join(keep, "status-"+sample+".png"), data, 0o600)
		}
	}
	blue := color.RGBA{0x1f, 0x6f, 0xeb, 0xff}
	green := color.RGBA{0x1a, 0x7f, 0x37, 0xff}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			switch {
			case near(c, blue):
				nBlue++
			case near(c, green):
				nGreen++
			}
		}
	}
	if nBlue == 0 || nGreen == 0 {
		t.Fatalf("screenshot shows blue=%d and green=%d pixels: the page did not render its colours", nBlue, nGreen)
	}
	return nBlue, nGreen
}

func near(a, b color.RGBA) bool {
	d := func(x, y uint8) int {
		if x > y {
			return int(x - y)
		}
		return int(y - x)
	}
	return d(a.R, b.R) < 12 && d(a.G, b.G) < 12 && d(a.B, b.B) < 12
}
