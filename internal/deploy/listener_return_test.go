package deploy

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// deadlines records the deadline of each ModifyListener call's context,
// and interrupts the run (cancel) after the first one: the switch's first
// step.
type deadlines struct {
	ELBAPI
	mu     sync.Mutex
	got    []time.Time
	cancel func()
	// fail is how many rewrites after the first answer a server error.
	fail int
}

func (d *deadlines) ModifyListener(ctx context.Context, in *elb.ModifyListenerInput, optFns ...func(*elb.Options)) (*elb.ModifyListenerOutput, error) {
	dl, _ := ctx.Deadline()
	d.mu.Lock()
	d.got = append(d.got, dl)
	first, fail := len(d.got) == 1, len(d.got) > 1 && len(d.got) <= 1+d.fail
	d.mu.Unlock()
	if fail {
		return nil, &smithy.GenericAPIError{Code: "InternalFailure", Message: "simulated", Fault: smithy.FaultServer}
	}
	out, err := d.ELBAPI.ModifyListener(ctx, in, optFns...)
	if first {
		d.cancel()
	}
	return out, err
}

// TestListenerReturnGetsTheJobsTime: after an interrupt mid-switch, sending
// production traffic back has until the job's end (CI.JobEnd), as the
// codedeploy model's stop has, not a fixed grace, and is retried through
// AWS's server errors in that time.
func TestListenerReturnGetsTheJobsTime(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sw, err := seed.CreateTwoServices(ctx, w.c, seed.TwoServicesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, "healthy green", w.healthy(sw.GreenTargetGroupARN))
	target := &config.Target{Cluster: sw.Cluster, BlueService: sw.BlueService, GreenService: sw.GreenService, Mode: config.ModeListener}
	if err := target.ListenerARN.EnvDecode(sw.ProdListenerARN); err != nil {
		t.Fatal(err)
	}
	if err := target.TestListenerARN.EnvDecode(sw.TestListenerARN); err != nil {
		t.Fatal(err)
	}
	d := w.deps(t, target, &fakeReports{}, nil)
	rec := &deadlines{ELBAPI: d.Clients.ELB, cancel: cancel, fail: 2}
	d.Clients.ELB = rec
	d.Settings.Switch = &config.Switch{Switch: "manual", Steps: config.Steps{10, 100}, Interval: time.Hour}
	d.CI.JobEnd = time.Now().Add(47 * time.Minute).Round(0)
	m := NewListenerModel(d)
	var se *SwitchError
	if err := m.Switch(ctx, snapshot.Green); !errors.As(err, &se) || !se.Returned {
		t.Fatalf("interrupted switch: %v, want traffic sent back", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.got) != 4 {
		t.Fatalf("%d rewrites of the production listener, want the step and the return's three tries", len(rec.got))
	}
	for _, dl := range rec.got[1:] {
		if !dl.Equal(d.CI.JobEnd) {
			t.Errorf("the return's deadline is %s, want the job's end %s", dl.Format(time.RFC3339Nano), d.CI.JobEnd.Format(time.RFC3339Nano))
		}
	}
	if live := m.mustSnapshot(t).Live; live != snapshot.Blue {
		t.Errorf("after the return live is %q, want blue", live)
	}
}

func (m *ListenerModel) mustSnapshot(t *testing.T) *snapshot.Snapshot {
	t.Helper()
	s, err := m.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}
