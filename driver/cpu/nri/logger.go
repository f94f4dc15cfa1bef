package nri

import (
	"context"
	"fmt"

	"k8s.io/klog/v2"
)

// nriLogger routes the NRI stub's printf-style logging into klog, so that
// the plugin's messages follow the binary's verbosity instead of going to
// logrus. The stub is chatty about registration, hence the high levels.
type nriLogger struct {
	l klog.Logger
}

func (n nriLogger) Debugf(_ context.Context, format string, args ...any) {
	n.l.V(5).Info(fmt.Sprintf(format, args...))
}

func (n nriLogger) Infof(_ context.Context, format string, args ...any) {
	n.l.V(3).Info(fmt.Sprintf(format, args...))
}

func (n nriLogger) Warnf(_ context.Context, format string, args ...any) {
	n.l.Info(fmt.Sprintf(format, args...))
}

func (n nriLogger) Errorf(_ context.Context, format string, args ...any) {
	n.l.Error(nil, fmt.Sprintf(format, args...))
}
