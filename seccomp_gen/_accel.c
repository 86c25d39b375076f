/* The C accelerator of the parser's hot loop (seccomp_gen._fastpath): optional, never the reference.
 *
 * Scanner.scan(data, out, rest) walks a chunk of whole lines the way FastPath's pure-Python loops do:
 *
 * - a line holding none of the literals `audit`, `ssed `, `SECCOMP auid=`, `"MESSAGE":[` or
 *   `"MESSAGE": [` is noise and
 *   is only counted (by the caller, as lines minus candidates); the literals are found in one pass over
 *   the chunk (find_literal), so noise costs about what a grep costs;
 * - an auditd line of the everyday shape `type=T msg=audit(STAMP): ` of another type than the seccomp
 *   ones is counted as `other-audit-type` (when the parser takes auditd's log at all);
 * - a record line of the everyday shape becomes a SeccompEvent here, exactly as LineReader.quick makes
 *   it: cut at its fixed separators, framing recognised by its shape (digits turned into '0') through
 *   LineReader.front_spans, its repeating parts read once through LineReader.proto (both Python, called
 *   only for a shape or a combination not seen before), its varying parts (stamp, pid, ip) checked and
 *   converted here;
 * - any other candidate line is handed to rest(start, stop), the Python code that decides it.
 *
 * The tests run every parser table and the fuzz properties with and without this module and require
 * the same events and counts, and run it under ASan and UBSan (tests/test_accel.py). The caches are bounded in entries and in bytes (a forged log must not
 * grow them), and seeded per process.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_LINE (64 * 1024)
#define CACHE_MAX 65536
#define CACHE_BYTES (24 * 1024 * 1024) /* keys, and PROTO_COST for each prototype dict held */
#define PROTO_COST 1536                /* about what a prototype's dict of 19 fields takes */
#define SLOTS 131072    /* at most: a power of two, twice CACHE_MAX, so probes stay short */
#define FIRST_SLOTS 64 /* at first: a parser that sees few framings and processes stays small */
#define NSPANS 11
#define U32 0xFFFFFFFFULL

typedef struct {
    uint64_t hash;
    char *key; /* NULL: an empty slot */
    Py_ssize_t len;
    PyObject *value; /* protos: the prototype dict (may be empty: not a fast line) */
    int64_t frame;         /* fronts: spans[0], the framing's number (LineReader.front_spans) */
    int32_t spans[NSPANS]; /* fronts: the rest, positions in a front of at most MAX_LINE bytes */
    int fast;     /* fronts: the shape is one _FAST takes; protos: the prototype is a fast one */
    int32_t slot; /* protos, tallying: the decision slot learn gave this prototype; -1: not asked yet */
    int keep;     /* protos, tallying: records of the slot are kept (else only counted) */
} Entry;

typedef struct {
    Entry *entries;  /* the entries, densely: used of them, room for cap (doubled up to CACHE_MAX) */
    int32_t *index;  /* size places, each -1 (empty) or an entry's number */
    Entry empty;     /* what table_find returns for a key the table does not hold (key NULL) */
    Py_ssize_t size; /* index places: a power of two, grown from FIRST_SLOTS up to SLOTS */
    Py_ssize_t cap;
    Py_ssize_t used;
    Py_ssize_t bytes;
    long long clears; /* times the table was emptied for being full */
} Table;

typedef struct {
    PyObject_HEAD
    PyObject *front_spans; /* LineReader.front_spans(shape) -> tuple of NSPANS ints, or () */
    PyObject *proto;       /* LineReader.proto(head, ids, middle, code) -> dict, or {} */
    PyObject *event_type;  /* SeccompEvent */
    PyObject *json_proto;  /* LineReader.json_proto(proto, facility, host) -> dict, or {}; NULL: JSON left to Python */
    char *message;         /* a journal entry's MESSAGE, unescaped */
    int auditd;
    int other_kinds; /* a record line of another audit type in a printk/kmsg/syslog framing is counted here */
    long long pid_max;
    uint64_t seed;
    Table fronts;
    Table protos;
    char *buf; /* a shape or a key being built: at most a line and a few lengths */
    /* the last front's shape and spans: the next record line usually has the same framing */
    char *last_shape;
    char *last_digits; /* 0xFF where last_shape holds '0' (a digit), 0 elsewhere */
    Py_ssize_t last_len; /* -1: none */
    int last_fast;
    Py_ssize_t last_spans[NSPANS];
    PyObject *no_args;   /* () for object.__new__ */
    PyObject *dict_name; /* "__dict__" */
} Scanner;

static PyObject *s_timestamp, *s_serial, *s_pid, *s_ip;

/* ---------------------------------------------------------------- bounded, seeded hash tables */

static uint64_t
hash_bytes(const char *p, Py_ssize_t n, uint64_t seed)
{
    uint64_t h = seed ^ ((uint64_t)n * 0x9E3779B97F4A7C15ULL);
    uint64_t w;
    while (n >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    w = 0;
    memcpy(&w, p, (size_t)n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 29;
    return h;
}

static int
table_init(Table *t)
{
    t->index = PyMem_Malloc(FIRST_SLOTS * sizeof(int32_t));
    t->entries = PyMem_Calloc(FIRST_SLOTS / 2, sizeof(Entry));
    if (t->index == NULL || t->entries == NULL) {
        PyMem_Free(t->index);
        PyMem_Free(t->entries);
        t->index = NULL;
        t->entries = NULL;
        return -1;
    }
    memset(t->index, 0xFF, FIRST_SLOTS * sizeof(int32_t)); /* every place -1 */
    memset(&t->empty, 0, sizeof(Entry));
    t->size = FIRST_SLOTS;
    t->cap = FIRST_SLOTS / 2;
    t->used = 0;
    t->bytes = 0;
    return 0;
}

static void
table_clear(Table *t)
{
    if (t->index == NULL) {
        return;
    }
    for (Py_ssize_t i = 0; i < t->used; i++) {
        Entry *e = &t->entries[i];
        PyMem_Free(e->key);
        e->key = NULL;
        Py_CLEAR(e->value);
    }
    memset(t->index, 0xFF, (size_t)t->size * sizeof(int32_t));
    t->used = 0;
    t->bytes = 0;
}

/* The entry holding key, or t->empty (key NULL) when the table does not hold it. */
static Entry *
table_find(Table *t, uint64_t hash, const char *key, Py_ssize_t len)
{
    size_t mask = (size_t)t->size - 1;
    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        int32_t at = t->index[i];
        if (at < 0) {
            return &t->empty;
        }
        Entry *e = &t->entries[at];
        if (e->hash == hash && e->len == len && memcmp(e->key, key, (size_t)len) == 0) {
            return e;
        }
    }
}

/* The empty place of index (size places) where an entry of this hash goes. */
static size_t
table_place(const int32_t *index, Py_ssize_t size, uint64_t hash)
{
    size_t mask = (size_t)size - 1;
    size_t i = (size_t)hash & mask;
    while (index[i] >= 0) {
        i = (i + 1) & mask;
    }
    return i;
}

/* Twice the index places, the entries placed anew; -1 (MemoryError) when that cannot be had. */
static int
table_grow(Table *t)
{
    Py_ssize_t size = t->size * 2;
    int32_t *index = PyMem_Malloc((size_t)size * sizeof(int32_t));
    if (index == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memset(index, 0xFF, (size_t)size * sizeof(int32_t));
    for (Py_ssize_t i = 0; i < t->used; i++) {
        index[table_place(index, size, t->entries[i].hash)] = (int32_t)i;
    }
    PyMem_Free(t->index);
    t->index = index;
    t->size = size;
    return 0;
}

/* A new entry for key (not in the table); the table is emptied first when it is full. Entries move
 * when their array grows: an Entry pointer is good until the next table_add. */
static Entry *
table_add(Table *t, uint64_t hash, const char *key, Py_ssize_t len)
{
    if (t->used >= CACHE_MAX || t->bytes + len > CACHE_BYTES) {
        table_clear(t);
        t->clears++;
    }
    else if ((t->used + 1) * 2 > t->size && t->size < SLOTS && table_grow(t) < 0) {
        return NULL;
    }
    if (t->used == t->cap) {
        Py_ssize_t cap = t->cap * 2 < CACHE_MAX ? t->cap * 2 : CACHE_MAX;
        Entry *entries = PyMem_Realloc(t->entries, (size_t)cap * sizeof(Entry));
        if (entries == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        t->entries = entries;
        t->cap = cap;
    }
    char *copy = PyMem_Malloc(len > 0 ? (size_t)len : 1);
    if (copy == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(copy, key, (size_t)len);
    Entry *e = &t->entries[t->used];
    memset(e, 0, sizeof(Entry));
    e->hash = hash;
    e->key = copy;
    e->len = len;
    e->value = NULL;
    e->fast = 0;
    e->slot = -1;
    e->keep = 0;
    t->index[table_place(t->index, t->size, hash)] = (int32_t)t->used;
    t->used++;
    t->bytes += len;
    return e;
}

/* ---------------------------------------------------------------- byte helpers */

/* needle in text[:len]: memchr for needle[anchor] (a byte chosen rare where the needle is looked
 * for), then memcmp around it. For the short stretches searched per line this beats memmem, whose
 * set-up costs more than the search. */
static const char *
search_at(const char *text, Py_ssize_t len, const char *needle, Py_ssize_t needle_len, Py_ssize_t anchor)
{
    if (len < needle_len) {
        return NULL;
    }
    const char *p = text + anchor;
    const char *end = text + len - needle_len + anchor + 1; /* past the last place the anchor can be */
    while (p < end) {
        p = memchr(p, needle[anchor], (size_t)(end - p));
        if (p == NULL) {
            return NULL;
        }
        if (memcmp(p - anchor, needle, (size_t)needle_len) == 0) {
            return p - anchor;
        }
        p++;
    }
    return NULL;
}

/* Whether one of the candidate literals starts at d[at] (d[:n]): `audit`, `ssed `, `SECCOMP auid=`
 * (journalctl -o cat of the audit transport: the message alone), `"MESSAGE":[` or `"MESSAGE": [`. */
static int
literal_at(const char *d, Py_ssize_t n, Py_ssize_t at)
{
    Py_ssize_t left = n - at;
    switch (d[at]) {
    case 'a':
        return left >= 5 && memcmp(d + at, "audit", 5) == 0;
    case 's':
        return left >= 5 && memcmp(d + at, "ssed ", 5) == 0;
    case 'S':
        return left >= 13 && memcmp(d + at, "SECCOMP auid=", 13) == 0;
    case '"':
        return left >= 11 && memcmp(d + at, "\"MESSAGE\":", 10) == 0 &&
               (d[at + 10] == '[' || (left >= 12 && d[at + 10] == ' ' && d[at + 11] == '['));
    default:
        return 0;
    }
}

/* The first position at or after from where a candidate literal starts, or -1. With SSE2 (every x86-64)
 * 16 places are tried at once, each literal by two of its bytes (`a...t`, `s..d`, `S..C`, `"........:`):
 * one pass over the chunk for the four, a few instructions per 16 bytes, the rare pairs checked whole. */
static Py_ssize_t
find_literal(const char *d, Py_ssize_t n, Py_ssize_t from)
{
    Py_ssize_t at = from;
#ifdef __SSE2__
    const __m128i a = _mm_set1_epi8('a'), t = _mm_set1_epi8('t'), s = _mm_set1_epi8('s');
    const __m128i dd = _mm_set1_epi8('d'), quote = _mm_set1_epi8('"'), colon = _mm_set1_epi8(':');
    const __m128i big_s = _mm_set1_epi8('S'), big_c = _mm_set1_epi8('C');
    for (; at + 16 + 9 <= n; at += 16) {
        const __m128i first = _mm_loadu_si128((const __m128i *)(d + at));
        const __m128i third = _mm_loadu_si128((const __m128i *)(d + at + 3));
        const __m128i fourth = _mm_loadu_si128((const __m128i *)(d + at + 4));
        const __m128i ninth = _mm_loadu_si128((const __m128i *)(d + at + 9));
        __m128i any = _mm_and_si128(_mm_cmpeq_epi8(first, a), _mm_cmpeq_epi8(fourth, t));
        any = _mm_or_si128(any, _mm_and_si128(_mm_cmpeq_epi8(first, s), _mm_cmpeq_epi8(third, dd)));
        any = _mm_or_si128(any, _mm_and_si128(_mm_cmpeq_epi8(first, big_s), _mm_cmpeq_epi8(third, big_c)));
        any = _mm_or_si128(any, _mm_and_si128(_mm_cmpeq_epi8(first, quote), _mm_cmpeq_epi8(ninth, colon)));
        unsigned mask = (unsigned)_mm_movemask_epi8(any);
        while (mask) {
            Py_ssize_t place = at + __builtin_ctz(mask);
            if (literal_at(d, n, place)) {
                return place;
            }
            mask &= mask - 1;
        }
    }
#endif
    for (; at < n; at++) {
        if (literal_at(d, n, at)) {
            return at;
        }
    }
    return -1;
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* text[:len] cut at the first sep (found through sep[anchor]): the part before it in *head_len; 0 when
 * absent. */
static int
partition(const char *text, Py_ssize_t len, const char *sep, Py_ssize_t sep_len, Py_ssize_t anchor,
          Py_ssize_t *head_len)
{
    const char *at = search_at(text, len, sep, sep_len, anchor);
    if (at == NULL) {
        return 0;
    }
    *head_len = at - text;
    return 1;
}

/* `type=T msg=audit(STAMP): ` at the start of an auditd line, T not a seccomp type: the shape
 * _grammar.AUDITD_LINE matches, read the same way on the general path (other-audit-type). */
static int
is_other_auditd(const char *p, Py_ssize_t n)
{
    if (n < 5 || memcmp(p, "type=", 5) != 0) {
        return 0;
    }
    Py_ssize_t i = 5;
    while (i < n && i - 5 < 33 && ((p[i] >= 'A' && p[i] <= 'Z') || is_digit(p[i]) || p[i] == '_')) {
        i++;
    }
    Py_ssize_t kind = i - 5;
    if (kind < 1 || kind > 32) {
        return 0;
    }
    if ((kind == 4 && (memcmp(p + 5, "1326", 4) == 0 || memcmp(p + 5, "1701", 4) == 0)) ||
        (kind == 7 && memcmp(p + 5, "SECCOMP", 7) == 0) ||
        (kind == 10 && memcmp(p + 5, "ANOM_ABEND", 10) == 0)) {
        return 0;
    }
    if (n - i < 11 || memcmp(p + i, " msg=audit(", 11) != 0) {
        return 0;
    }
    i += 11;
    Py_ssize_t stamp = i;
    while (i < n && i - stamp < 65 && (is_digit(p[i]) || p[i] == '.' || p[i] == ':')) {
        i++;
    }
    if (i - stamp < 1 || i - stamp > 64) {
        return 0;
    }
    return n - i >= 3 && memcmp(p + i, "): ", 3) == 0;
}

/* ---------------------------------------------------------------- Tally: learn's pending records */
/* The records of one pending batch of learn, in the order read: each a decision slot (what learn made
 * of its prototype: the observation it counts into) and the parts that vary from record to record.
 * drain() de-duplicates them by event id against the ids already known and within the batch, and sums
 * them per slot: seccomp_gen.tally.PyTally is the same in Python, the reference. */

typedef struct {
    double stamp;    /* NAN: none */
    int64_t ts_ms;   /* the event id's milliseconds (with serial) */
    int64_t pid;     /* -1: none */
    uint32_t serial; /* 0: no event id */
    uint32_t slot;
} Rec;

typedef struct {
    PyObject_HEAD
    Rec *recs;
    Py_ssize_t n, cap;
    int64_t *raw; /* records per slot, kept or not, tallied by a Scanner since the last take_raw() */
    Py_ssize_t raw_cap;
    int32_t *raw_touched; /* the slots raw[] counts, in the order first counted */
    Py_ssize_t raw_n;
    long long tallied; /* records a Scanner tallied, kept or not: a running total */
} Tally;

typedef struct {
    Tally *tally;
    PyObject *decide; /* decide(prototype dict) -> 2 * slot + keep */
    double live_after; /* records stamped at or after this are handed back (learn looks them up) */
    double max_stamp;  /* records stamped later are handed back (learn rejects them) */
} TallyContext;

static PyTypeObject TallyType;

static int
tally_append(Tally *t, uint32_t slot, double stamp, int64_t ts_ms, uint32_t serial, int64_t pid)
{
    if (t->n == t->cap) {
        Py_ssize_t cap = t->cap ? t->cap * 2 : 4096;
        Rec *grown = PyMem_Realloc(t->recs, (size_t)cap * sizeof(Rec));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        t->recs = grown;
        t->cap = cap;
    }
    Rec *r = &t->recs[t->n++];
    r->stamp = stamp;
    r->ts_ms = ts_ms;
    r->serial = serial;
    r->slot = slot;
    r->pid = pid;
    return 0;
}

/* One record a Scanner decided by its prototype: counted for its slot, and kept when the slot keeps. */
static int
tally_count(Tally *t, int32_t slot, int keep, double stamp, int64_t ts_ms, uint32_t serial, int64_t pid)
{
    if (slot >= t->raw_cap) {
        Py_ssize_t cap = t->raw_cap ? t->raw_cap : 256;
        while (cap <= slot) {
            cap *= 2;
        }
        int64_t *raw = PyMem_Realloc(t->raw, (size_t)cap * sizeof(int64_t));
        int32_t *touched = raw == NULL ? NULL : PyMem_Realloc(t->raw_touched, (size_t)cap * sizeof(int32_t));
        if (raw == NULL || touched == NULL) {
            if (raw != NULL) {
                t->raw = raw;
            }
            PyErr_NoMemory();
            return -1;
        }
        memset(raw + t->raw_cap, 0, (size_t)(cap - t->raw_cap) * sizeof(int64_t));
        t->raw = raw;
        t->raw_touched = touched;
        t->raw_cap = cap;
    }
    if (t->raw[slot]++ == 0) {
        t->raw_touched[t->raw_n++] = slot;
    }
    t->tallied++;
    return keep ? tally_append(t, (uint32_t)slot, stamp, ts_ms, serial, pid) : 0;
}

PyDoc_STRVAR(Tally_add_doc,
             "add(slot, stamp, ts_ms, serial, pid)\n\n"
             "Append one kept record learn decided itself (stamp and pid may be None; serial 0: no event id).");

static PyObject *
Tally_add(Tally *self, PyObject *args)
{
    unsigned int slot;
    PyObject *stamp_obj, *pid_obj;
    long long ts_ms;
    unsigned long long serial;
    if (!PyArg_ParseTuple(args, "IOLKO:add", &slot, &stamp_obj, &ts_ms, &serial, &pid_obj)) {
        return NULL;
    }
    double stamp = NAN;
    if (stamp_obj != Py_None && ((stamp = PyFloat_AsDouble(stamp_obj)) == -1.0 && PyErr_Occurred())) {
        return NULL;
    }
    long long pid = -1;
    if (pid_obj != Py_None && ((pid = PyLong_AsLongLong(pid_obj)) == -1 && PyErr_Occurred())) {
        return NULL;
    }
    if (serial > U32 || pid < -1 || slot > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "serial, pid or slot out of range");
        return NULL;
    }
    if (tally_append(self, slot, stamp, ts_ms, (uint32_t)serial, pid) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(Tally_take_raw_doc,
             "take_raw() -> [(slot, records)]\n\n"
             "The records each slot was counted since the last call (kept or not), the counts then reset.");

static PyObject *
Tally_take_raw(Tally *self, PyObject *unused)
{
    (void)unused;
    PyObject *out = PyList_New(self->raw_n);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < self->raw_n; i++) {
        int32_t slot = self->raw_touched[i];
        PyObject *item = Py_BuildValue("iL", slot, (long long)self->raw[slot]);
        if (item == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, item);
        self->raw[slot] = 0;
    }
    self->raw_n = 0;
    return out;
}

static int
ts_order(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : (x > y);
}

typedef struct {
    int64_t size;
    Py_ssize_t at; /* the gap is between stamps[at - 1] and stamps[at] */
} Gap;

static int
gap_order(const void *a, const void *b)
{
    const Gap *x = a, *y = b;
    if (x->size != y->size) {
        return x->size > y->size ? -1 : 1; /* the widest first, */
    }
    return x->at < y->at ? -1 : (x->at > y->at); /* the earliest of equals first */
}

static int
at_order(const void *a, const void *b)
{
    const Gap *x = a, *y = b;
    return x->at < y->at ? -1 : (x->at > y->at);
}

PyDoc_STRVAR(Tally_ranges_doc,
             "ranges(most, min_gap) -> [(lo, hi)]: the ts_ms of the pending records with an event id, cut\n"
             "into at most `most` ranges at their widest gaps wider than min_gap (ms); sorted, disjoint.");

static PyObject *
Tally_ranges(Tally *self, PyObject *args)
{
    Py_ssize_t most;
    long long min_gap;
    if (!PyArg_ParseTuple(args, "nL:ranges", &most, &min_gap)) {
        return NULL;
    }
    if (most < 1) {
        PyErr_SetString(PyExc_ValueError, "most must be at least 1");
        return NULL;
    }
    PyObject *result = NULL;
    int64_t *stamps = PyMem_Malloc(((size_t)self->n + 1) * sizeof(int64_t));
    Gap *gaps = PyMem_Malloc(((size_t)self->n + 1) * sizeof(Gap));
    if (stamps == NULL || gaps == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t n = 0, ngaps = 0;
    for (Py_ssize_t i = 0; i < self->n; i++) {
        if (self->recs[i].serial != 0) {
            stamps[n++] = self->recs[i].ts_ms;
        }
    }
    result = PyList_New(0);
    if (result == NULL || n == 0) {
        goto done;
    }
    qsort(stamps, (size_t)n, sizeof(int64_t), ts_order);
    for (Py_ssize_t i = 1; i < n; i++) {
        /* wider than min_gap, without overflow: stamps are within SQLite's 64-bit integers */
        if (stamps[i] > stamps[i - 1] && (uint64_t)stamps[i] - (uint64_t)stamps[i - 1] > (uint64_t)min_gap) {
            gaps[ngaps].size = (int64_t)((uint64_t)stamps[i] - (uint64_t)stamps[i - 1]);
            gaps[ngaps++].at = i;
        }
    }
    if (ngaps > most - 1) {
        qsort(gaps, (size_t)ngaps, sizeof(Gap), gap_order);
        ngaps = most - 1;
    }
    qsort(gaps, (size_t)ngaps, sizeof(Gap), at_order);
    Py_ssize_t first = 0;
    for (Py_ssize_t g = 0; g <= ngaps; g++) {
        Py_ssize_t stop = g < ngaps ? gaps[g].at : n;
        PyObject *range = Py_BuildValue("LL", (long long)stamps[first], (long long)stamps[stop - 1]);
        if (range == NULL || PyList_Append(result, range) < 0) {
            Py_XDECREF(range);
            Py_CLEAR(result);
            goto done;
        }
        Py_DECREF(range);
        first = stop;
    }
done:
    PyMem_Free(stamps);
    PyMem_Free(gaps);
    return result;
}

/* An open-addressing set of event ids, each with the best trust it was seen with (1 untrusted, 2
 * trusted); 0 in state marks an empty place. */
typedef struct {
    int64_t ts_ms;
    uint32_t serial;
    uint32_t state;
} IdPlace;

typedef struct {
    IdPlace *places;
    size_t mask;
} IdSet;

static int
idset_init(IdSet *set, Py_ssize_t expected)
{
    size_t size = 1024;
    while (size < (size_t)expected * 2 + 2) {
        size *= 2;
    }
    set->places = PyMem_Calloc(size, sizeof(IdPlace));
    set->mask = size - 1;
    if (set->places == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static IdPlace *
idset_place(IdSet *set, int64_t ts_ms, uint32_t serial)
{
    uint64_t h = ((uint64_t)ts_ms * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)serial * 0xC2B2AE3D27D4EB4FULL);
    h ^= h >> 31;
    size_t i = (size_t)h & set->mask;
    for (;;) {
        IdPlace *p = &set->places[i];
        if (p->state == 0 || (p->ts_ms == ts_ms && p->serial == serial)) {
            return p;
        }
        i = (i + 1) & set->mask;
    }
}

/* Read one LEB128 number from a blob; 0 at its end or on a malformed one. */
static int
read_varint(const unsigned char **p, const unsigned char *end, uint64_t *value)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        unsigned char byte = *(*p)++;
        v |= (uint64_t)(byte & 0x7F) << shift;
        if (!(byte & 0x80)) {
            *value = v;
            return 1;
        }
    }
    return 0;
}

static void
write_varint(unsigned char **p, uint64_t v)
{
    while (v >= 0x80) {
        *(*p)++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *(*p)++ = (unsigned char)v;
}

/* Mark the ids of one known blob (see seccomp_gen.tally: sorted ids as varint deltas, trust in the low
 * bit) that set holds, the batch's own: the state a place holds is 1 + the best trust it was known
 * with (1 + 0: not known). Ids the batch does not hold are only read past: memory stays the batch's.
 * -1 (ValueError) on a malformed blob. */
static int
idset_mark_known(IdSet *set, const unsigned char *p, Py_ssize_t len)
{
    const unsigned char *end = p + len;
    int64_t ts = 0;
    int64_t serial = 0;
    while (p < end) {
        uint64_t dts, dserial;
        if (!read_varint(&p, end, &dts) || !read_varint(&p, end, &dserial)) {
            PyErr_SetString(PyExc_ValueError, "malformed event id blob");
            return -1;
        }
        ts += (int64_t)dts;
        uint64_t zig = dserial >> 1;
        serial += (int64_t)(zig >> 1) ^ -(int64_t)(zig & 1);
        uint32_t state = (dserial & 1) ? 2 : 1;
        if (serial <= 0 || serial > (int64_t)U32) {
            PyErr_SetString(PyExc_ValueError, "malformed event id blob");
            return -1;
        }
        IdPlace *place = idset_place(set, ts, (uint32_t)serial);
        if (place->state != 0 && place->state < state + 1) {
            place->state = state + 1;
        }
    }
    return 0;
}

typedef struct {
    long long count, upgrades;
    double first, last; /* NAN: none */
    long long pid;      /* -1: none */
    int touched;
} SlotSum;

static int
id_order(const void *a, const void *b)
{
    const IdPlace *x = a, *y = b;
    if (x->ts_ms != y->ts_ms) {
        return x->ts_ms < y->ts_ms ? -1 : 1;
    }
    return x->serial < y->serial ? -1 : (x->serial > y->serial);
}

static PyObject *
float_or_none(double value)
{
    if (isnan(value)) {
        Py_RETURN_NONE;
    }
    return PyFloat_FromDouble(value);
}

PyDoc_STRVAR(Tally_drain_doc,
             "drain(known, trusted, ranges) -> (sums, duplicates, new_ids)\n\n"
             "De-duplicate the pending records by event id and sum them per slot, then empty the tally.\n"
             "known: blobs of ids already seen (seccomp_gen.tally's encoding); trusted: bytes, trusted[slot]\n"
             "non-zero for a trusted slot; ranges: ranges() of this tally. sums: [(slot, records, upgrades,\n"
             "first, last, pid)] in the order first reached; new_ids: [(lo, hi, count, blob)], one per range\n"
             "holding ids now seen that known did not hold as well, lo and hi the stamps of its first and last.");

static PyObject *
Tally_drain(Tally *self, PyObject *args)
{
    PyObject *known, *ranges;
    Py_buffer trusted;
    if (!PyArg_ParseTuple(args, "O!y*O!:drain", &PyList_Type, &known, &trusted, &PyList_Type, &ranges)) {
        return NULL;
    }
    PyObject *result = NULL, *sums = NULL, *blob = NULL, *blobs = NULL;
    int64_t *his = NULL;
    IdSet set = {NULL, 0};
    SlotSum *slots = NULL;
    int32_t *order = NULL;
    IdPlace *fresh = NULL;
    Py_ssize_t nslots = (Py_ssize_t)trusted.len, norder = 0, nfresh = 0;
    const unsigned char *trust = trusted.buf;
    /* The set holds the batch's own ids only (1 + the best trust each was seen with, 1: unseen so far),
     * the known blobs are read past it: memory grows with the batch, not with the ids known. */
    if (idset_init(&set, self->n) < 0) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < self->n; i++) {
        const Rec *r = &self->recs[i];
        if (r->serial != 0) {
            IdPlace *place = idset_place(&set, r->ts_ms, r->serial);
            if (place->state == 0) {
                place->ts_ms = r->ts_ms;
                place->serial = r->serial;
                place->state = 1;
            }
        }
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(known); i++) {
        PyObject *item = PyList_GET_ITEM(known, i);
        if (!PyBytes_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "known must be a list of bytes");
            goto done;
        }
        if (idset_mark_known(&set, (const unsigned char *)PyBytes_AS_STRING(item), PyBytes_GET_SIZE(item)) <
            0) {
            goto done;
        }
    }
    slots = PyMem_Calloc((size_t)nslots + 1, sizeof(SlotSum));
    order = PyMem_Malloc(((size_t)nslots + 1) * sizeof(int32_t));
    fresh = PyMem_Malloc(((size_t)self->n + 1) * sizeof(IdPlace));
    if (slots == NULL || order == NULL || fresh == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    long long duplicates = 0;
    for (Py_ssize_t i = 0; i < self->n; i++) {
        const Rec *r = &self->recs[i];
        if ((Py_ssize_t)r->slot >= nslots) {
            PyErr_SetString(PyExc_ValueError, "a record's slot is not in trusted");
            goto done;
        }
        uint32_t state = trust[r->slot] ? 2 : 1;
        int upgrade = 0;
        if (r->serial != 0) {
            IdPlace *place = idset_place(&set, r->ts_ms, r->serial);
            if (place->state - 1 >= state) {
                duplicates++; /* seen as trusted, or untrusted and read untrusted again */
                continue;
            }
            upgrade = place->state - 1 == 1; /* seen untrusted, now read from a trusted source */
            place->state = state + 1;
            fresh[nfresh++] = *place;
        }
        SlotSum *sum = &slots[r->slot];
        if (!sum->touched) {
            sum->touched = 1;
            sum->first = sum->last = NAN;
            sum->pid = -1;
            order[norder++] = (int32_t)r->slot;
        }
        sum->count++;
        sum->upgrades += upgrade;
        if (!isnan(r->stamp)) {
            if (isnan(sum->first) || r->stamp < sum->first) {
                sum->first = r->stamp;
            }
            if (isnan(sum->last) || r->stamp > sum->last) {
                sum->last = r->stamp;
            }
        }
        if (r->pid >= 0) {
            sum->pid = r->pid;
        }
    }
    /* The new ids, sorted, each once with the best trust it now has. */
    for (Py_ssize_t i = 0; i < nfresh; i++) {
        fresh[i].state = idset_place(&set, fresh[i].ts_ms, fresh[i].serial)->state - 1;
    }
    qsort(fresh, (size_t)nfresh, sizeof(IdPlace), id_order);
    /* One blob per range, each encoded from zero (it is read alone). */
    Py_ssize_t nranges = PyList_GET_SIZE(ranges);
    his = PyMem_Malloc(((size_t)nranges + 1) * sizeof(int64_t));
    blobs = PyList_New(0);
    blob = PyBytes_FromStringAndSize(NULL, nfresh * 20 + 1);
    if (his == NULL || blobs == NULL || blob == NULL) {
        if (his == NULL) {
            PyErr_NoMemory();
        }
        goto done;
    }
    for (Py_ssize_t r = 0; r < nranges; r++) {
        long long lo, hi;
        PyObject *range = PyList_GET_ITEM(ranges, r);
        if (!PyTuple_Check(range) || !PyArg_ParseTuple(range, "LL", &lo, &hi)) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_TypeError, "ranges must be a list of (lo, hi)");
            }
            goto done;
        }
        his[r] = hi;
    }
    unsigned char *start = (unsigned char *)PyBytes_AS_STRING(blob);
    Py_ssize_t at = 0, r = 0;
    while (at < nfresh) {
        while (r < nranges && his[r] < fresh[at].ts_ms) {
            r++;
        }
        int64_t hi = r < nranges ? his[r] : INT64_MAX; /* past every range: cannot be, kept together */
        unsigned char *w = start;
        int64_t ts = 0, serial = 0, first = fresh[at].ts_ms, last = first;
        long long count = 0;
        for (; at < nfresh && fresh[at].ts_ms <= hi; at++) {
            if (at > 0 && fresh[at].ts_ms == fresh[at - 1].ts_ms &&
                fresh[at].serial == fresh[at - 1].serial) {
                continue;
            }
            int64_t delta = (int64_t)fresh[at].serial - serial;
            uint64_t zig = ((uint64_t)delta << 1) ^ (uint64_t)(delta >> 63);
            write_varint(&w, (uint64_t)(fresh[at].ts_ms - ts));
            write_varint(&w, (zig << 1) | (fresh[at].state == 2));
            ts = last = fresh[at].ts_ms;
            serial = fresh[at].serial;
            count++;
        }
        PyObject *item = Py_BuildValue("LLLy#", (long long)first, (long long)last, count, (const char *)start,
                                       (Py_ssize_t)(w - start));
        if (item == NULL || PyList_Append(blobs, item) < 0) {
            Py_XDECREF(item);
            goto done;
        }
        Py_DECREF(item);
    }
    sums = PyList_New(norder);
    if (sums == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < norder; i++) {
        SlotSum *sum = &slots[order[i]];
        PyObject *first = float_or_none(sum->first), *last = float_or_none(sum->last);
        PyObject *pid = sum->pid < 0 ? Py_NewRef(Py_None) : PyLong_FromLongLong(sum->pid);
        PyObject *item = first && last && pid ? Py_BuildValue("iLLOOO", order[i], sum->count, sum->upgrades,
                                                              first, last, pid)
                                              : NULL;
        Py_XDECREF(first);
        Py_XDECREF(last);
        Py_XDECREF(pid);
        if (item == NULL) {
            goto done;
        }
        PyList_SET_ITEM(sums, i, item);
    }
    result = Py_BuildValue("OLO", sums, duplicates, blobs);
    self->n = 0;
done:
    Py_XDECREF(sums);
    Py_XDECREF(blob);
    Py_XDECREF(blobs);
    PyMem_Free(his);
    PyMem_Free(set.places);
    PyMem_Free(slots);
    PyMem_Free(order);
    PyMem_Free(fresh);
    PyBuffer_Release(&trusted);
    return result;
}

static Py_ssize_t
Tally_len(Tally *self)
{
    return self->n;
}

static PyObject *
Tally_get_tallied(Tally *self, void *closure)
{
    (void)closure;
    return PyLong_FromLongLong(self->tallied);
}

static void
Tally_dealloc(Tally *self)
{
    PyMem_Free(self->recs);
    PyMem_Free(self->raw);
    PyMem_Free(self->raw_touched);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Tally_methods[] = {
    {"add", (PyCFunction)Tally_add, METH_VARARGS, Tally_add_doc},
    {"take_raw", (PyCFunction)Tally_take_raw, METH_NOARGS, Tally_take_raw_doc},
    {"ranges", (PyCFunction)Tally_ranges, METH_VARARGS, Tally_ranges_doc},
    {"drain", (PyCFunction)Tally_drain, METH_VARARGS, Tally_drain_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Tally_getset[] = {
    {"tallied", (getter)Tally_get_tallied, NULL, "records Scanners tallied, kept or not (a running total)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods Tally_as_sequence = {
    .sq_length = (lenfunc)Tally_len,
};

PyDoc_STRVAR(Tally_doc, "Tally()\n\nThe pending records of learn's batch; see seccomp_gen.tally.");

static PyTypeObject TallyType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "seccomp_gen._accel.Tally",
    .tp_basicsize = sizeof(Tally),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = Tally_doc,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)Tally_dealloc,
    .tp_methods = Tally_methods,
    .tp_getset = Tally_getset,
    .tp_as_sequence = &Tally_as_sequence,
};

/* ---------------------------------------------------------------- the everyday record line */

static int
span_fits(Py_ssize_t start, Py_ssize_t stop, Py_ssize_t len)
{
    return (start == -1 && stop == -1) || (0 <= start && start <= stop && stop <= len);
}

/* (frame, level start, stop, host start, stop, day, kind start, stop, end of the framing, end of the
 * seconds, long serial): the positions quick() reads must lie in a front of len bytes. */
static int
spans_fit(const Py_ssize_t *sp, Py_ssize_t len)
{
    return span_fits(sp[1], sp[2], len) && span_fits(sp[3], sp[4], len) && 0 <= sp[5] && sp[5] < len &&
           0 <= sp[6] && sp[6] <= sp[7] && sp[7] <= len && 0 <= sp[8] && sp[8] + 6 <= sp[9] && sp[9] < len;
}

/* The spans of a front's shape (LineReader.front_spans), cached; NULL with an exception on error. */
static Entry *
front_entry(Scanner *self, const char *shape, Py_ssize_t len)
{
    uint64_t hash = hash_bytes(shape, len, self->seed);
    Entry *e = table_find(&self->fronts, hash, shape, len);
    if (e->key != NULL) {
        return e;
    }
    PyObject *key = PyBytes_FromStringAndSize(shape, len);
    if (key == NULL) {
        return NULL;
    }
    PyObject *spans = PyObject_CallOneArg(self->front_spans, key);
    Py_DECREF(key);
    if (spans == NULL) {
        return NULL;
    }
    if (!PyTuple_Check(spans) || (PyTuple_GET_SIZE(spans) != 0 && PyTuple_GET_SIZE(spans) != NSPANS)) {
        Py_DECREF(spans);
        PyErr_SetString(PyExc_TypeError, "front_spans must return () or a tuple of 11 integers");
        return NULL;
    }
    Py_ssize_t values[NSPANS];
    int fast = PyTuple_GET_SIZE(spans) == NSPANS;
    for (Py_ssize_t i = 0; fast && i < NSPANS; i++) {
        values[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(spans, i));
        if (values[i] == -1 && PyErr_Occurred()) {
            Py_DECREF(spans);
            return NULL;
        }
    }
    Py_DECREF(spans);
    /* The spans index the front: out of it, they would make quick() read outside the line. Levels and
     * hosts may be (-1, -1) (a group that did not take part); everything else must lie in the front. */
    if (fast && !spans_fit(values, len)) {
        PyErr_SetString(PyExc_ValueError, "front_spans returned spans outside the front");
        return NULL;
    }
    e = table_add(&self->fronts, hash, shape, len);
    if (e == NULL) {
        return NULL;
    }
    e->fast = fast;
    if (fast) {
        e->frame = values[0];
        for (Py_ssize_t i = 1; i < NSPANS; i++) {
            e->spans[i] = (int32_t)values[i]; /* spans_fit: within the front, -1 or a length <= MAX_LINE */
        }
    }
    return e;
}

/* Append one (length, bytes) part of a key to buf at *at. */
static void
put(char *buf, Py_ssize_t *at, const char *p, Py_ssize_t n)
{
    memcpy(buf + *at, &n, sizeof(n));
    *at += (Py_ssize_t)sizeof(n);
    if (n > 0) {
        memcpy(buf + *at, p, (size_t)n);
        *at += n;
    }
}

/* front[start:stop] as Python slices it when both are -1 (a group that did not take part): empty. */
static void
slice(const char *front, Py_ssize_t start, Py_ssize_t stop, const char **p, Py_ssize_t *n)
{
    if (start < 0 || stop < start) {
        *p = front;
        *n = 0;
    }
    else {
        *p = front + start;
        *n = stop - start;
    }
}

static int
all_digits(const char *p, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!is_digit(p[i])) {
            return 0;
        }
    }
    return 1;
}

static unsigned long long
decimal(const char *p, Py_ssize_t n)
{
    unsigned long long value = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        value = value * 10 + (unsigned long long)(p[i] - '0');
    }
    return value;
}

#define ONES 0x0101010101010101ULL

/* Whether front has the shape (digits turned into '0') of the last front looked up: where that shape
 * holds '0' front must hold a digit, elsewhere the same byte. Eight bytes at a time: last_digits has 0xFF
 * in the bytes where the last shape holds '0'. A byte is a digit when its high nibble is 3 and its low
 * nibble plus 6 stays below 16 (no carry leaves a byte: at most 0x0F + 0x06). */
static int
same_shape(Scanner *self, const char *front, Py_ssize_t len)
{
    if (len != self->last_len) {
        return 0;
    }
    const char *last = self->last_shape;
    const unsigned char *digits = (const unsigned char *)self->last_digits;
    Py_ssize_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t a, b, m;
        memcpy(&a, front + i, 8);
        memcpy(&b, last + i, 8);
        memcpy(&m, digits + i, 8);
        uint64_t bad = ((a ^ b) & ~m) | (((a & (0xF0 * ONES)) ^ (0x30 * ONES)) & m) |
                       (((a & (0x0F * ONES)) + 0x06 * ONES) & (0x10 * ONES) & m);
        if (bad) {
            return 0;
        }
    }
    for (; i < len; i++) {
        char c = front[i];
        if (digits[i] ? !(c >= '0' && c <= '9') : c != last[i]) {
            return 0;
        }
    }
    return 1;
}

/* What a journal entry adds to the record in its MESSAGE: SYSLOG_FACILITY and _HOSTNAME (NULL: absent). */
typedef struct {
    const char *facility;
    Py_ssize_t facility_len;
    const char *host;
    Py_ssize_t host_len;
} JsonFacts;

static Py_ssize_t
json_space(const char *p, Py_ssize_t n, Py_ssize_t i)
{
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')) {
        i++;
    }
    return i;
}

static int
is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The end (the closing quote) of the JSON string whose opening quote is p[i], or -1 when it is not one
 * json.loads takes or holds a byte past ASCII (either way Python decides); *escaped: it holds a `\`. */
static Py_ssize_t
json_string(const char *p, Py_ssize_t n, Py_ssize_t i, int *escaped)
{
    *escaped = 0;
    for (i++; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"') {
            return i;
        }
        if (c < 0x20 || c >= 0x80) {
            return -1;
        }
        if (c == '\\') {
            *escaped = 1;
            if (i + 1 >= n) {
                return -1;
            }
            char e = p[i + 1];
            if (e == 'u') {
                if (i + 5 >= n || !is_hex(p[i + 2]) || !is_hex(p[i + 3]) || !is_hex(p[i + 4]) ||
                    !is_hex(p[i + 5])) {
                    return -1;
                }
                i += 5;
            }
            else if (strchr("\"\\/bfnrt", e) != NULL && e != '\0') {
                i++;
            }
            else {
                return -1;
            }
        }
    }
    return -1;
}

#define KEY_IS(k, kl, literal) ((kl) == (Py_ssize_t)sizeof(literal) - 1 && memcmp((k), (literal), (kl)) == 0)

/* A `journalctl -o json` entry LineReader.journal_entry takes, read without json.loads: a flat object of
 * string values, ASCII only, with _TRANSPORT "kernel", no _AUDIT_TYPE, no key of these twice, and a
 * MESSAGE holding no escape but \" \\ \/ that starts `audit: type=1326 `. Its MESSAGE, unescaped, into
 * self->message (*len), and its facility and host into *jf: 1. Anything else: 0 (Python decides). */
static int
json_entry(Scanner *self, const char *line, Py_ssize_t n, Py_ssize_t *len, JsonFacts *jf)
{
    const char *message = NULL;
    Py_ssize_t message_len = 0;
    int kernel = 0, escaped;
    jf->facility = jf->host = NULL;
    jf->facility_len = jf->host_len = 0;
    if (n < 2 || line[0] != '{' || line[1] != '"') {
        return 0; /* FastPath._rest hands only lines starting `{"` to LineReader.journal_entry */
    }
    Py_ssize_t i = 1;
    for (;;) {
        Py_ssize_t key_end = line[i] == '"' ? json_string(line, n, i, &escaped) : -1;
        if (key_end < 0 || escaped) {
            return 0;
        }
        const char *key = line + i + 1;
        Py_ssize_t key_len = key_end - i - 1;
        i = json_space(line, n, key_end + 1);
        if (i >= n || line[i] != ':') {
            return 0;
        }
        i = json_space(line, n, i + 1);
        Py_ssize_t value_end = i < n && line[i] == '"' ? json_string(line, n, i, &escaped) : -1;
        if (value_end < 0) {
            return 0; /* not a string (an array, a number, null ...): json.loads decides */
        }
        const char *value = line + i + 1;
        Py_ssize_t value_len = value_end - i - 1;
        if (KEY_IS(key, key_len, "_TRANSPORT")) {
            if (kernel || escaped || !KEY_IS(value, value_len, "kernel")) {
                return 0;
            }
            kernel = 1;
        }
        else if (KEY_IS(key, key_len, "MESSAGE")) {
            if (message != NULL) {
                return 0;
            }
            message = value;
            message_len = value_len;
        }
        else if (KEY_IS(key, key_len, "SYSLOG_FACILITY") || KEY_IS(key, key_len, "_HOSTNAME")) {
            const char **at = key_len == 9 ? &jf->host : &jf->facility;
            if (*at != NULL || escaped) {
                return 0;
            }
            *at = value;
            *(key_len == 9 ? &jf->host_len : &jf->facility_len) = value_len;
        }
        else if (KEY_IS(key, key_len, "_AUDIT_TYPE")) {
            return 0;
        }
        i = json_space(line, n, value_end + 1);
        if (i < n && line[i] == ',') {
            i = json_space(line, n, i + 1);
            if (i >= n) {
                return 0;
            }
            continue;
        }
        if (i < n && line[i] == '}' && json_space(line, n, i + 1) == n) {
            break;
        }
        return 0;
    }
    if (!kernel || message == NULL) {
        return 0;
    }
    char *out = self->message;
    Py_ssize_t o = 0;
    for (Py_ssize_t j = 0; j < message_len; j++) {
        char c = message[j];
        if (c == '\\') {
            c = message[++j]; /* json_string saw a whole escape */
            if (c != '"' && c != '\\' && c != '/') {
                return 0;
            }
        }
        out[o++] = c;
    }
    if (o < 17 || memcmp(out, "audit: type=1326 ", 17) != 0) {
        return 0;
    }
    *len = o;
    return 1;
}

static int quick_record(Scanner *self, const char *line, Py_ssize_t n, PyObject **event, TallyContext *tc,
                        const JsonFacts *jf);

/* The event of one record line (no NUL, at most MAX_LINE bytes) into *event (1), or counted into the
 * tally when tc is given (2), or known to be a record of another audit type (3), or 0 to look further;
 * -1 with an exception on error. LineReader.quick step for step, and LineReader.journal_entry for a
 * journal JSON entry (json_entry). */
static int
quick(Scanner *self, const char *line, Py_ssize_t n, PyObject **event, TallyContext *tc)
{
    *event = NULL;
    if (n > 0 && line[0] == '{') {
        JsonFacts jf;
        Py_ssize_t len;
        if (self->json_proto == NULL || !json_entry(self, line, n, &len, &jf)) {
            return 0;
        }
        return quick_record(self, self->message, len, event, tc, &jf);
    }
    return quick_record(self, line, n, event, tc, NULL);
}

/* quick() of a record line, or of a journal entry's MESSAGE (jf: what the entry adds to it). */
static int
quick_record(Scanner *self, const char *line, Py_ssize_t n, PyObject **event, TallyContext *tc,
             const JsonFacts *jf)
{
    Py_ssize_t front_len;
    if (!partition(line, n, "): ", 3, 0, &front_len)) {
        return 0; /* no rest: the ` code=0x` cut below would fail */
    }
    const char *front = line;
    const char *rest = line + front_len + 3;
    Py_ssize_t rest_len = n - front_len - 3;

    if (!same_shape(self, front, front_len)) {
        char *shape = self->buf;
        for (Py_ssize_t i = 0; i < front_len; i++) {
            char c = front[i];
            shape[i] = (c >= '1' && c <= '9') ? '0' : c;
        }
        Entry *fe = front_entry(self, shape, front_len);
        if (fe == NULL) {
            return -1;
        }
        memcpy(self->last_shape, shape, (size_t)front_len);
        for (Py_ssize_t i = 0; i < front_len; i++) {
            self->last_digits[i] = shape[i] == '0' ? (char)0xFF : 0;
        }
        self->last_len = front_len;
        self->last_fast = fe->fast;
        self->last_spans[0] = (Py_ssize_t)fe->frame;
        for (Py_ssize_t i = 1; i < NSPANS; i++) {
            self->last_spans[i] = fe->spans[i];
        }
    }
    if (!self->last_fast) {
        return 0;
    }
    Py_ssize_t sp[NSPANS];
    memcpy(sp, self->last_spans, sizeof(sp));
    Py_ssize_t frame = sp[0], day = sp[5], kind_start = sp[6], kind_stop = sp[7];
    Py_ssize_t head_stop = sp[8], seconds_stop = sp[9], long_serial = sp[10];
    if (day && (unsigned char)front[day] > 0x33) {
        return 0; /* RFC 3164's day is [ 0-3]?\d */
    }
    Py_ssize_t kind_len = kind_stop - kind_start;
    if (!((kind_len == 4 && memcmp(front + kind_start, "1326", 4) == 0) ||
          (kind_len == 7 && memcmp(front + kind_start, "SECCOMP", 7) == 0))) {
        /* `audit: type=NNNN audit(STAMP): ` framed the everyday way, NNNN another type (AppArmor's 1400,
         * SYSCALL's 1300 ...): the general path reads the record and skips it for its type before any
         * field. 1701 is a seccomp record when its reason says so: left to it. */
        if (self->other_kinds && kind_len == 4 && all_digits(front + kind_start, 4) &&
            memcmp(front + kind_start, "1701", 4) != 0) {
            return 3;
        }
        return 0;
    }
    Py_ssize_t ids_len, pid_len, middle_len, ip_len;
    if (!partition(rest, rest_len, " pid=", 5, 1, &ids_len)) {
        return 0;
    }
    const char *ids = rest;
    const char *pid = ids + ids_len + 5;
    Py_ssize_t left = rest_len - ids_len - 5;
    if (!partition(pid, left, " ", 1, 0, &pid_len)) {
        return 0;
    }
    const char *middle = pid + pid_len + 1;
    left -= pid_len + 1;
    if (!partition(middle, left, " ip=0x", 6, 5, &middle_len)) {
        return 0;
    }
    const char *ip = middle + middle_len + 6;
    left -= middle_len + 6;
    if (!partition(ip, left, " code=0x", 8, 7, &ip_len)) {
        return 0;
    }
    const char *code = ip + ip_len + 8;
    Py_ssize_t code_len = left - ip_len - 8;

    const char *level, *host;
    Py_ssize_t level_len, host_len;
    slice(front, sp[1], sp[2], &level, &level_len);
    slice(front, sp[3], sp[4], &host, &host_len);
    char *key = self->buf;
    Py_ssize_t at = 0;
    memcpy(key, &frame, sizeof(frame));
    at += (Py_ssize_t)sizeof(frame);
    put(key, &at, level, level_len);
    put(key, &at, host, host_len);
    put(key, &at, ids, ids_len);
    put(key, &at, middle, middle_len);
    put(key, &at, code, code_len);
    if (jf != NULL) { /* three more fields: no plain line's key (five) is the same bytes */
        put(key, &at, "json", 4);
        put(key, &at, jf->facility, jf->facility != NULL ? jf->facility_len : -1);
        put(key, &at, jf->host, jf->host != NULL ? jf->host_len : -1);
    }
    uint64_t hash = hash_bytes(key, at, self->seed);
    Entry *pe = table_find(&self->protos, hash, key, at);
    if (pe->key == NULL || (pe->value == NULL && pe->fast && (tc == NULL || pe->slot < 0))) {
        /* new, or a fast prototype whose dict tallying let go of (see below), needed again: for an event,
         * or to be decided again after forget_slots() */
        PyObject *proto = PyObject_CallFunction(
            self->proto, "y#y#y#y#", front, head_stop, ids, ids_len, middle, middle_len, code, code_len);
        if (proto == NULL) {
            return -1;
        }
        if (jf != NULL) {
            PyObject *entry = PyObject_CallFunction(
                self->json_proto, "Oz#z#", proto, jf->facility, jf->facility_len, jf->host, jf->host_len);
            Py_DECREF(proto);
            if (entry == NULL) {
                return -1;
            }
            proto = entry;
        }
        if (!PyDict_CheckExact(proto)) {
            Py_DECREF(proto);
            PyErr_SetString(PyExc_TypeError, "proto must return a dict");
            return -1;
        }
        if (pe->key == NULL) {
            pe = table_add(&self->protos, hash, key, at);
            if (pe == NULL) {
                Py_DECREF(proto);
                return -1;
            }
            pe->fast = PyDict_GET_SIZE(proto) != 0;
        }
        pe->value = proto;
        self->protos.bytes += PROTO_COST;
    }
    const char *serial = front + seconds_stop + 1;
    Py_ssize_t serial_len = front_len - seconds_stop - 1;
    if (!pe->fast || pid_len == 0 || pid_len > 10 || !all_digits(pid, pid_len) || ip_len == 0 ||
        ip_len > 16) {
        return 0;
    }
    unsigned long long ip_value = 0;
    for (Py_ssize_t i = 0; i < ip_len; i++) {
        char c = ip[i];
        if (is_digit(c)) {
            ip_value = (ip_value << 4) | (unsigned long long)(c - '0');
        }
        else if (c >= 'a' && c <= 'f') {
            ip_value = (ip_value << 4) | (unsigned long long)(c - 'a' + 10);
        }
        else {
            return 0;
        }
    }
    unsigned long long serial_value = decimal(serial, serial_len);
    if (long_serial && serial_value > U32) {
        return 0;
    }
    unsigned long long pid_value = decimal(pid, pid_len);
    if (pid_value > (unsigned long long)self->pid_max) {
        return 0;
    }
    /* the seconds: `audit(` then \d{1,20}\.\d{3}, converted as float() converts them */
    char seconds[32];
    Py_ssize_t seconds_len = seconds_stop - head_stop - 6;
    if (seconds_len <= 0 || seconds_len >= (Py_ssize_t)sizeof(seconds)) {
        return 0;
    }
    memcpy(seconds, front + head_stop + 6, (size_t)seconds_len);
    seconds[seconds_len] = '\0';
    double stamp;
    unsigned long long thousandths = 0;
    if (seconds_len <= 16) {
        /* \d{1,12}\.\d{3}: the value is exactly N / 1000 with N < 2**53, and IEEE division rounds
         * correctly, so this is the double float() gives */
        thousandths = decimal(seconds, seconds_len - 4) * 1000 + decimal(seconds + seconds_len - 3, 3);
        stamp = (double)thousandths / 1000.0;
    }
    else if (tc != NULL) {
        return 0; /* past any date tallying takes (max_stamp): learn rejects it, one record at a time */
    }
    else {
        stamp = PyOS_string_to_double(seconds, NULL, NULL);
        if (stamp == -1.0 && PyErr_Occurred()) {
            return -1;
        }
    }

    if (tc != NULL) {
        /* Tallying: a record learn decides by its prototype alone is counted into the tally, never made
         * an event. A live one (learn looks its process up) or one of a date learn rejects is not. */
        if (!(stamp <= tc->max_stamp && stamp < tc->live_after)) {
            return 0;
        }
        if (pe->slot < 0) {
            PyObject *answer = PyObject_CallOneArg(tc->decide, pe->value);
            if (answer == NULL) {
                return -1;
            }
            long decided = PyLong_AsLong(answer);
            Py_DECREF(answer);
            if (decided == -1 && PyErr_Occurred()) {
                return -1;
            }
            if (decided < 0 || decided / 2 > INT32_MAX) {
                PyErr_SetString(PyExc_ValueError, "decide must return 2 * slot + keep, slot >= 0");
                return -1;
            }
            pe->slot = (int32_t)(decided / 2);
            pe->keep = (int)(decided % 2);
            Py_CLEAR(pe->value); /* decided: the dict is not needed again while tallying */
            self->protos.bytes -= PROTO_COST;
        }
        if (tally_count(tc->tally, pe->slot, pe->keep, stamp, (int64_t)thousandths, (uint32_t)serial_value,
                        (int64_t)pid_value) < 0) {
            return -1;
        }
        return 2;
    }
    PyObject *values = PyDict_Copy(pe->value);
    if (values == NULL) {
        return -1;
    }
    PyObject *timestamp = PyFloat_FromDouble(stamp);
    PyObject *serial_obj = PyLong_FromUnsignedLongLong(serial_value);
    PyObject *pid_obj = PyLong_FromUnsignedLongLong(pid_value);
    PyObject *ip_obj = PyLong_FromUnsignedLongLong(ip_value);
    int failed = timestamp == NULL || serial_obj == NULL || pid_obj == NULL || ip_obj == NULL ||
                 PyDict_SetItem(values, s_timestamp, timestamp) < 0 ||
                 PyDict_SetItem(values, s_serial, serial_obj) < 0 || PyDict_SetItem(values, s_pid, pid_obj) < 0 ||
                 PyDict_SetItem(values, s_ip, ip_obj) < 0;
    Py_XDECREF(timestamp);
    Py_XDECREF(serial_obj);
    Py_XDECREF(pid_obj);
    Py_XDECREF(ip_obj);
    if (failed) {
        Py_DECREF(values);
        return -1;
    }
    /* A new SeccompEvent given its __dict__ (object.__setattr__(event, "__dict__", values)): the state
     * the frozen dataclass's __init__ ends with. Before 3.13 it is allocated bare: object.__new__ would
     * first make the instance's own attribute storage, only for __dict__ to replace it. From 3.13 that
     * storage (inline values) must be set up for the __dict__ to be read: object.__new__ does it. */
    PyTypeObject *type = (PyTypeObject *)self->event_type;
#if PY_VERSION_HEX < 0x030D0000
    PyObject *made = type->tp_alloc(type, 0);
#else
    PyObject *made = PyBaseObject_Type.tp_new(type, self->no_args, NULL);
#endif
    if (made == NULL) {
        Py_DECREF(values);
        return -1;
    }
#if PY_VERSION_HEX < 0x030D0000
    int set = PyObject_GenericSetDict(made, values, NULL);
#else
    int set = PyObject_GenericSetAttr(made, self->dict_name, values); /* through __dict__'s own setter */
#endif
    if (set < 0) {
        Py_DECREF(values);
        Py_DECREF(made);
        return -1;
    }
    /* An event holds only strings, numbers, None, enum members and shared Action values, and is frozen:
     * it cannot be part of a reference cycle, so the cycle collector need not visit it (CPython
     * untracks tuples and dicts of atomic values the same way). */
    if (PyObject_GC_IsTracked(values)) {
        PyObject_GC_UnTrack(values);
    }
    if (PyObject_GC_IsTracked(made)) {
        PyObject_GC_UnTrack(made);
    }
    Py_DECREF(values);
    *event = made;
    return 1;
}

/* ---------------------------------------------------------------- Scanner */

static int
Scanner_init(Scanner *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"front_spans", "proto", "event_type", "auditd", "pid_max", "seed", "other_kinds",
                             "json_proto", NULL};
    PyObject *front_spans, *proto, *event_type, *json_proto = Py_None;
    int auditd, other_kinds = 0;
    long long pid_max;
    unsigned long long seed;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO!pLK|pO", kwlist, &front_spans, &proto, &PyType_Type,
                                     &event_type, &auditd, &pid_max, &seed, &other_kinds, &json_proto)) {
        return -1;
    }
    if (json_proto != Py_None && !PyCallable_Check(json_proto)) {
        PyErr_SetString(PyExc_TypeError, "json_proto must be callable or None");
        return -1;
    }
    Py_XSETREF(self->json_proto, json_proto == Py_None ? NULL : Py_NewRef(json_proto));
    self->other_kinds = other_kinds;
    if (!PyCallable_Check(front_spans) || !PyCallable_Check(proto)) {
        PyErr_SetString(PyExc_TypeError, "front_spans and proto must be callable");
        return -1;
    }
    Py_INCREF(front_spans);
    Py_XSETREF(self->front_spans, front_spans);
    Py_INCREF(proto);
    Py_XSETREF(self->proto, proto);
    Py_INCREF(event_type);
    Py_XSETREF(self->event_type, event_type);
    self->auditd = auditd;
    self->pid_max = pid_max;
    self->seed = (uint64_t)seed;
    table_clear(&self->fronts);
    table_clear(&self->protos);
    if ((self->fronts.index == NULL && table_init(&self->fronts) < 0) ||
        (self->protos.index == NULL && table_init(&self->protos) < 0)) {
        PyErr_NoMemory();
        return -1;
    }
    if (self->buf == NULL) {
        self->buf = PyMem_Malloc(2 * MAX_LINE + 256);
        self->last_shape = PyMem_Malloc(MAX_LINE + 1);
        self->last_digits = PyMem_Malloc(MAX_LINE + 1);
        self->message = PyMem_Malloc(MAX_LINE + 1);
        if (self->buf == NULL || self->last_shape == NULL || self->last_digits == NULL || self->message == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    self->last_len = -1;
    if (self->no_args == NULL && (self->no_args = PyTuple_New(0)) == NULL) {
        return -1;
    }
    if (self->dict_name == NULL && (self->dict_name = PyUnicode_InternFromString("__dict__")) == NULL) {
        return -1;
    }
    return 0;
}

static int
Scanner_traverse(Scanner *self, visitproc visit, void *arg)
{
    Py_VISIT(self->front_spans);
    Py_VISIT(self->proto);
    Py_VISIT(self->event_type);
    Py_VISIT(self->json_proto);
    if (self->protos.index != NULL) {
        for (Py_ssize_t i = 0; i < self->protos.used; i++) {
            Py_VISIT(self->protos.entries[i].value);
        }
    }
    return 0;
}

static int
Scanner_clear(Scanner *self)
{
    Py_CLEAR(self->front_spans);
    Py_CLEAR(self->proto);
    Py_CLEAR(self->event_type);
    Py_CLEAR(self->json_proto);
    Py_CLEAR(self->no_args);
    Py_CLEAR(self->dict_name);
    table_clear(&self->fronts);
    table_clear(&self->protos);
    return 0;
}

static void
Scanner_dealloc(Scanner *self)
{
    PyObject_GC_UnTrack(self);
    Scanner_clear(self);
    PyMem_Free(self->fronts.index);
    PyMem_Free(self->fronts.entries);
    PyMem_Free(self->protos.index);
    PyMem_Free(self->protos.entries);
    PyMem_Free(self->buf);
    PyMem_Free(self->last_shape);
    PyMem_Free(self->last_digits);
    PyMem_Free(self->message);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

typedef struct {
    Py_ssize_t candidates, records, others, tallied;
} Counts;

/* Whether line can match records.CANDIDATE at all: each of its alternatives holds one of these. A line
 * that holds a literal of find_literal() (`audit`) but none of them (a kubelet line about `audit-pod`)
 * is noise on every path, and is not worth a call into Python. */
static int
could_be_candidate(const char *line, Py_ssize_t len)
{
    static const char *const needles[] = {"type=",       "SECCOMP auid=", "AUDIT1",      "\"MESSAGE\":",
                                          "suppressed",  "exceeded",      "audit_lost=", "overflow",
                                          "Suppressed ", "Missed "};
    for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++) {
        if (memmem(line, (size_t)len, needles[i], strlen(needles[i])) != NULL) {
            return 1;
        }
    }
    return 0;
}

/* One candidate line d[start:stop]: a record taken here (an event, or tallied), another auditd type
 * counted, or rest(). */
static int
candidate(Scanner *self, const char *d, Py_ssize_t start, Py_ssize_t stop, PyObject *out, PyObject *rest,
          TallyContext *tc, Counts *counts)
{
    const char *line = d + start;
    Py_ssize_t len = stop - start;
    counts->candidates++;
    if (len <= MAX_LINE && memchr(line, '\0', (size_t)len) == NULL) {
        if (self->auditd && is_other_auditd(line, len)) {
            counts->others++;
            return 0;
        }
        PyObject *event;
        int taken = quick(self, line, len, &event, tc);
        if (taken < 0) {
            return -1;
        }
        if (taken == 2) {
            counts->tallied++;
            return 0;
        }
        if (taken == 3) {
            counts->others++;
            return 0;
        }
        if (!could_be_candidate(line, len)) {
            counts->candidates--; /* noise that holds a literal (`audit-pod`): the general path's too */
            return 0;
        }
        if (event != NULL) {
            int appended = PyList_Append(out, event);
            Py_DECREF(event);
            counts->records++;
            return appended;
        }
    }
    PyObject *result = PyObject_CallFunction(rest, "nn", start, stop);
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

PyDoc_STRVAR(Scanner_scan_doc,
             "scan(data, out, rest[, tally, decide, live_after, max_stamp]) -> (candidates, records, others, tallied)\n\n"
             "Read the candidate lines of a chunk of whole lines: records of the everyday shape are appended\n"
             "to out as events, auditd lines of other types counted, every other candidate line handed to\n"
             "rest(start, stop). Lines without a candidate literal are not counted here.\n"
             "With a Tally, an everyday record stamped before live_after and not after max_stamp is counted\n"
             "into it under the slot decide(prototype dict) gave its prototype (asked once per prototype,\n"
             "until forget_slots()), never made an event; other such records go to rest().");

static PyObject *
Scanner_scan(Scanner *self, PyObject *args)
{
    PyObject *data, *out, *rest, *tally = Py_None, *decide = Py_None;
    double live_after = INFINITY, max_stamp = INFINITY;
    if (!PyArg_ParseTuple(args, "SO!O|OOdd:scan", &data, &PyList_Type, &out, &rest, &tally, &decide, &live_after,
                          &max_stamp)) {
        return NULL;
    }
    TallyContext context = {NULL, decide, live_after, max_stamp};
    TallyContext *tc = NULL;
    if (tally != Py_None) {
        if (!PyObject_TypeCheck(tally, &TallyType) || !PyCallable_Check(decide)) {
            PyErr_SetString(PyExc_TypeError, "tally must be a Tally and decide callable");
            return NULL;
        }
        context.tally = (Tally *)tally;
        tc = &context;
        Py_INCREF(tally); /* held while rest() and decide() run Python code */
        Py_INCREF(decide);
    }
    if (self->buf == NULL || self->front_spans == NULL || self->proto == NULL || self->event_type == NULL ||
        self->no_args == NULL || self->dict_name == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner not initialised");
        return NULL;
    }
    Py_INCREF(data); /* held while rest() runs Python code */
    const char *d = PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    Counts counts = {0, 0, 0, 0};
    Py_ssize_t pos = 0;
    Py_ssize_t hit;
    while (pos < n && (hit = find_literal(d, n, pos)) >= 0) {
        const char *newline = memrchr(d + pos, '\n', (size_t)(hit - pos));
        Py_ssize_t start = newline == NULL ? pos : newline - d + 1;
        const char *end = memchr(d + hit, '\n', (size_t)(n - hit));
        Py_ssize_t stop = end == NULL ? n : end - d;
        if (candidate(self, d, start, stop, out, rest, tc, &counts) < 0) {
            goto error;
        }
        pos = stop + 1;
    }
    Py_DECREF(data);
    if (tc != NULL) {
        Py_DECREF(tally);
        Py_DECREF(decide);
    }
    return Py_BuildValue("nnnn", counts.candidates, counts.records, counts.others, counts.tallied);
error:
    Py_DECREF(data);
    if (tc != NULL) {
        Py_DECREF(tally);
        Py_DECREF(decide);
    }
    return NULL;
}

PyDoc_STRVAR(Scanner_forget_slots_doc,
             "forget_slots()\n\nForget the slot of every prototype: the next record of each asks decide() again.");

static PyObject *
Scanner_forget_slots(Scanner *self, PyObject *unused)
{
    (void)unused;
    for (Py_ssize_t i = 0; self->protos.index != NULL && i < self->protos.used; i++) {
        self->protos.entries[i].slot = -1;
    }
    Py_RETURN_NONE;
}

/* Newlines in d[:n]: one memchr a line (vectorised in libc; lines are tens to hundreds of bytes). */
static Py_ssize_t
count_newlines(const char *d, Py_ssize_t n)
{
    Py_ssize_t count = 0;
    const char *p = d, *end = d + n;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        count++;
        p++;
    }
    return count;
}

PyDoc_STRVAR(count_lines_doc,
             "count_lines(data) -> int\n\n"
             "Lines in a chunk: its newlines, plus a last line without one (_fastpath.count_lines).");

static PyObject *
accel_count_lines(PyObject *module, PyObject *arg)
{
    (void)module;
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "count_lines needs bytes");
        return NULL;
    }
    const char *d = PyBytes_AS_STRING(arg);
    Py_ssize_t n = PyBytes_GET_SIZE(arg);
    return PyLong_FromSsize_t(count_newlines(d, n) + (n > 0 && d[n - 1] != '\n'));
}

PyDoc_STRVAR(tune_allocator_doc,
             "tune_allocator() -> bool\n\n"
             "glibc only (False elsewhere): serve blocks up to 1 MiB from the heap and keep up to 8 MiB of\n"
             "freed heap, instead of mapping each chunk anew and faulting its pages in one by one.");

static PyObject *
accel_tune_allocator(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    if (mallopt(M_MMAP_THRESHOLD, 1024 * 1024) && mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024)) {
        Py_RETURN_TRUE;
    }
#endif
    Py_RETURN_FALSE;
}

static PyMethodDef accel_functions[] = {
    {"count_lines", (PyCFunction)accel_count_lines, METH_O, count_lines_doc},
    {"tune_allocator", (PyCFunction)accel_tune_allocator, METH_NOARGS, tune_allocator_doc},
    {NULL, NULL, 0, NULL},
};

static PyObject *
Scanner_get_proto_clears(Scanner *self, void *closure)
{
    (void)closure;
    return PyLong_FromLongLong(self->protos.clears);
}

static PyGetSetDef Scanner_getset[] = {
    {"proto_clears", (getter)Scanner_get_proto_clears, NULL,
     "times the prototype cache was emptied for being full (the slots it held are gone)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef Scanner_methods[] = {
    {"scan", (PyCFunction)Scanner_scan, METH_VARARGS, Scanner_scan_doc},
    {"forget_slots", (PyCFunction)Scanner_forget_slots, METH_NOARGS, Scanner_forget_slots_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(Scanner_doc,
             "Scanner(front_spans, proto, event_type, auditd, pid_max, seed)\n\n"
             "The C hot loop of one FastPath; see seccomp_gen._fastpath.");

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "seccomp_gen._accel.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = Scanner_doc,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_traverse = (traverseproc)Scanner_traverse,
    .tp_clear = (inquiry)Scanner_clear,
    .tp_methods = Scanner_methods,
    .tp_getset = Scanner_getset,
};

static struct PyModuleDef accel_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "seccomp_gen._accel",
    .m_doc = "C accelerator of seccomp_gen._fastpath (optional; the pure-Python path is the reference).",
    .m_size = -1,
    .m_methods = accel_functions,
};

PyMODINIT_FUNC
PyInit__accel(void)
{
    if (PyType_Ready(&ScannerType) < 0 || PyType_Ready(&TallyType) < 0) {
        return NULL;
    }
    s_timestamp = PyUnicode_InternFromString("timestamp");
    s_serial = PyUnicode_InternFromString("serial");
    s_pid = PyUnicode_InternFromString("pid");
    s_ip = PyUnicode_InternFromString("ip");
    if (s_timestamp == NULL || s_serial == NULL || s_pid == NULL || s_ip == NULL) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&accel_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(module, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(module);
        return NULL;
    }
    Py_INCREF(&TallyType);
    if (PyModule_AddObject(module, "Tally", (PyObject *)&TallyType) < 0) {
        Py_DECREF(&TallyType);
        Py_DECREF(module);
        return NULL;
    }
    if (PyModule_AddIntConstant(module, "MAX_LINE", MAX_LINE) < 0 ||
        PyModule_AddIntConstant(module, "CACHE_MAX", CACHE_MAX) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
