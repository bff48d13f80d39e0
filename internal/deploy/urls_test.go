package deploy

import "testing"

func TestListenerOf(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2":                       "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2",
		"arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2",
	} {
		if got := listenerOf(in); got != want {
			t.Errorf("listenerOf(%s) = %s, want %s", in, got, want)
		}
	}
}
