package codec

// Timestamps the storage line can carry: years 0000 to 9999 in UTC.
// Decode rejects timestamps outside this range and AppendTimestamp clamps
// to it.
const (
	MinTimestampMs int64 = -62167219200000 // 0000-01-01T00:00:00.000Z
	MaxTimestampMs int64 = 253402300799999 // 9999-12-31T23:59:59.999Z
)

// ms converts an integer number to Unix milliseconds. ok is false when n
// has a fraction or exponent; the range of storable timestamps is checked
// by the caller.
func (n *number) ms() (int64, bool) {
	if n.dot || n.exp {
		return 0, false
	}
	if n.digits > 18 {
		// Beyond ±10^18, far outside the storable years.
		if n.neg {
			return MinTimestampMs - 1, true
		}
		return MaxTimestampMs + 1, true
	}
	v := int64(n.mant)
	if n.neg {
		v = -v
	}
	return v, true
}

// parseRFC3339 parses an RFC 3339 date-time,
//
//	YYYY-MM-DD ('T'|'t') hh:mm:ss ('.' digits)? ('Z'|'z'|('+'|'-') hh:mm)
//
// into Unix milliseconds (UTC), truncating fractions beyond milliseconds.
// Seconds run 00 to 59: a leap second is rejected, as time.Parse does.
func parseRFC3339(s []byte) (int64, bool) {
	const fixed = len("2006-01-02T15:04:05")
	if len(s) < fixed+1 {
		return 0, false
	}
	if s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	year, ok1 := num(s[0:4], 0, 9999)
	month, ok2 := num(s[5:7], 1, 12)
	day, ok3 := num(s[8:10], 1, 31)
	hour, ok4 := num(s[11:13], 0, 23)
	minute, ok5 := num(s[14:16], 0, 59)
	sec, ok6 := num(s[17:19], 0, 59)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || day > daysIn(month, year) {
		return 0, false
	}
	s = s[fixed:]
	var frac int64
	if s[0] == '.' {
		i := 1
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if i <= 3 {
				frac = frac*10 + int64(s[i]-'0')
			}
		}
		if i == 1 {
			return 0, false
		}
		for k := i; k <= 3; k++ {
			frac *= 10
		}
		s = s[i:]
	}
	var offset int64 // minutes east of UTC
	switch {
	case len(s) == 1 && (s[0] == 'Z' || s[0] == 'z'):
	case len(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':':
		oh, ok1 := num(s[1:3], 0, 23)
		om, ok2 := num(s[4:6], 0, 59)
		if !ok1 || !ok2 {
			return 0, false
		}
		offset = int64(oh*60 + om)
		if s[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	days := daysFromCivil(int64(year), month, day)
	secs := days*86400 + int64(hour*3600+minute*60+sec) - offset*60
	return secs*1000 + frac, true
}

// num parses a fixed-width run of decimal digits within [lo, hi].
func num(s []byte, lo, hi int) (int, bool) {
	v := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, v >= lo && v <= hi
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(month, year int) int {
	switch month {
	case 2:
		if isLeap(year) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (the era-based algorithm of H. Hinnant's "chrono-compatible
// low-level date algorithms").
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := int64(m + 9)
	if m > 2 {
		mp = int64(m - 3)
	}
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// timestampLen is the length of a timestamp AppendTimestamp writes.
const timestampLen = len("2006-01-02T15:04:05.000Z")

// AppendTimestamp appends ms, Unix milliseconds, as an RFC 3339 UTC time
// with exactly three fraction digits: "2026-11-26T17:20:06.123Z". A value
// outside [MinTimestampMs, MaxTimestampMs] is clamped to it, so that the
// year always has four digits.
func AppendTimestamp(dst []byte, ms int64) []byte {
	// Written apart from timestampCache, which TestTimestampCache checks
	// against it.
	u := uint64(max(MinTimestampMs, min(ms, MaxTimestampMs)) - MinTimestampMs)
	y, mo, d := civilFromDays(u / 86400000)
	rem := u % 86400000
	sec, frac := rem/1000, rem%1000
	dst = append(dst, twoDigits[2*(y/100)], twoDigits[2*(y/100)+1], twoDigits[2*(y%100)], twoDigits[2*(y%100)+1])
	dst = append(dst, '-', twoDigits[2*mo], twoDigits[2*mo+1], '-', twoDigits[2*d], twoDigits[2*d+1], 'T')
	h, mi, s := sec/3600, sec/60%60, sec%60
	dst = append(dst, twoDigits[2*h], twoDigits[2*h+1], ':', twoDigits[2*mi], twoDigits[2*mi+1], ':', twoDigits[2*s], twoDigits[2*s+1], '.')
	return append(dst, byte('0'+frac/100), twoDigits[2*(frac%100)], twoDigits[2*(frac%100)+1], 'Z')
}

// timestampCache formats the timestamps of consecutive storage lines,
// reusing what it wrote last: all of it within one millisecond, the date
// within one day. The zero value is empty. It is a local of one encoding
// call, owned by that call.
type timestampCache struct {
	// buf holds the start of a storage line, lineHead, then the time.
	buf   [headLen + timestampLen]byte
	ms    int64  // the clamped time buf holds, when valid
	day   uint64 // days since 0000-01-01 whose date buf holds
	sec   uint64 // seconds since 0000-01-01 whose time buf holds to the '.'
	valid bool
}

// lineHead starts every storage line; the timestamp follows it.
const lineHead = `{"timestamp":"`

// Offsets in timestampCache.buf: the timestamp, the time of day, and the
// milliseconds.
const (
	headLen = len(lineHead)
	dateEnd = headLen + len("2006-01-02T")
	secEnd  = headLen + len("2006-01-02T15:04:05.")
)

// format returns ms formatted as AppendTimestamp formats it. The slice is
// c's buffer: valid until the next call.
func (c *timestampCache) format(ms int64) []byte {
	return c.lineHead(ms)[headLen:]
}

// lineHead returns the start of a storage line up to the end of the time
// ms, lineHead and the formatted time. The slice is c's buffer: valid
// until the next call.
func (c *timestampCache) lineHead(ms int64) []byte {
	ms = max(MinTimestampMs, min(ms, MaxTimestampMs))
	if c.valid && ms == c.ms {
		return c.buf[:]
	}
	// Shifted to count from MinTimestampMs, everything is unsigned.
	u := uint64(ms - MinTimestampMs)
	if sec := u / 1000; !c.valid || sec != c.sec {
		c.putTime(sec)
	}
	frac := u % 1000
	t := c.buf[secEnd:]
	t[0], t[1], t[2], t[3] = byte('0'+frac/100), twoDigits[2*(frac%100)], twoDigits[2*(frac%100)+1], 'Z'
	c.ms, c.valid = ms, true
	return c.buf[:]
}

// putTime writes the date and time of sec, seconds since 0000-01-01, up
// to the '.' before the milliseconds, keeping the date when it is the
// same day.
func (c *timestampCache) putTime(sec uint64) {
	if day := sec / 86400; !c.valid || day != c.day {
		y, mo, d := civilFromDays(day)
		c.buf = [headLen + timestampLen]byte{
			'{', '"', 't', 'i', 'm', 'e', 's', 't', 'a', 'm', 'p', '"', ':', '"',
			twoDigits[2*(y/100)], twoDigits[2*(y/100)+1], twoDigits[2*(y%100)], twoDigits[2*(y%100)+1],
			'-', twoDigits[2*mo], twoDigits[2*mo+1], '-', twoDigits[2*d], twoDigits[2*d+1], 'T',
		}
		c.day = day
	}
	tod := sec % 86400
	h, mi, s := tod/3600, tod/60%60, tod%60
	t := c.buf[dateEnd:secEnd]
	t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8] =
		twoDigits[2*h], twoDigits[2*h+1], ':', twoDigits[2*mi], twoDigits[2*mi+1], ':', twoDigits[2*s], twoDigits[2*s+1], '.'
	c.sec = sec
}

// twoDigits holds "00" to "99" back to back.
const twoDigits = "0001020304050607080910111213141516171819" +
	"2021222324252627282930313233343536373839" +
	"4041424344454647484950515253545556575859" +
	"6061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// civilFromDays converts days since 0000-01-01 to a proleptic Gregorian
// date, the inverse of daysFromCivil (which counts from 1970) written for
// unsigned arithmetic: the day is counted in 400-year eras that start on
// 0000-03-01, and the 60 days of 0000-01-01 to 0000-02-29 are brought
// into range by counting from one era earlier.
func civilFromDays(days uint64) (y, m, d uint64) {
	const daysBeforeMarch = 31 + 29 // in year 0000, a leap year
	z := days + 146097 - daysBeforeMarch
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400 - 400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
		y++
	}
	return y, m, d
}
