package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// logLimiter rate-limits log lines caused by clients, so that a flood of
// bad requests cannot fill the disk: at most perSecond lines a second, and
// one line saying how many were suppressed when logging resumes. It is
// safe from any goroutine; the mutex is only taken on error paths.
type logLimiter struct {
	log       *slog.Logger
	perSecond int

	mu         sync.Mutex
	window     int64 // Unix second of the current window
	count      int   // lines logged in the window
	suppressed int   // lines dropped since the last one logged
}

func newLogLimiter(log *slog.Logger, perSecond int) *logLimiter {
	return &logLimiter{log: log, perSecond: perSecond}
}

func (l *logLimiter) allow() (ok bool, suppressed int) {
	now := time.Now().Unix()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now != l.window {
		l.window, l.count = now, 0
	}
	if l.count >= l.perSecond {
		l.suppressed++
		return false, 0
	}
	l.count++
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}

func (l *logLimiter) emit(level slog.Level, msg string, args ...any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	ok, suppressed := l.allow()
	if !ok {
		return
	}
	if suppressed > 0 {
		args = append(args, "suppressed_before", suppressed)
	}
	l.log.Log(context.Background(), level, msg, args...)
}

func (l *logLimiter) info(msg string, args ...any) { l.emit(slog.LevelInfo, msg, args...) }
func (l *logLimiter) warn(msg string, args ...any) { l.emit(slog.LevelWarn, msg, args...) }

// gnetLogger routes gnet's own logs into slog.
type gnetLogger struct{ log *slog.Logger }

func (g gnetLogger) Debugf(f string, a ...any) { g.log.Debug("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Infof(f string, a ...any)  { g.log.Debug("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Warnf(f string, a ...any)  { g.log.Warn("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Errorf(f string, a ...any) { g.log.Error("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Fatalf(f string, a ...any) { g.log.Error("gnet: " + fmt.Sprintf(f, a...)) }
