/*
 * byom_rows: a score request body read once, in C, with its "rows" as typed cells.
 *
 * A 10,000-row request is 200,000 JSON values. Parsing them into Python objects, transposing and
 * converting them again costs more than the model's own predict; this module reads the body once
 * (on two cores when it is large), without the GIL, into three flat arrays per cell: a tag (what
 * the JSON value is), a number (int64 or float64, by tag) and, for strings, where the string is.
 * byom_scorer.fast_rows turns those into typed columns with numpy, exactly as the checked path
 * (orjson + byom_scorer.convert) would, and sends anything else the checked way.
 *
 *   parse(body, threads) -> None | (members, rows)
 *       None: not a JSON object this reader accepts (malformed JSON, a "rows" that is not an
 *       array of equally long arrays of scalars, an integer beyond int64, a number beyond the
 *       double range): the caller takes the checked path, which words the error.
 *       members: [(key_start, key_end, value_start, value_end)] for every member but "rows".
 *       rows: None when the object has no "rows", else (row_count, width, tags, numbers, spans,
 *       kinds): buffers of row_count*width uint8 tags, int64/float64 numbers and packed string
 *       spans (start << 24 | length, quotes included), row-major, and per column a uint16 with
 *       a bit set for each tag that occurs in it.
 *   strings(body, spans) -> list: the strings at packed spans (None for one with escapes).
 *   parse_float(text) -> float | None: one JSON number as parse() reads it (for tests).
 *
 * Numbers are correctly rounded, as float() and orjson round them: exact small cases in double,
 * up to 19 significant digits with decimal exponents up to 27 in long double (one rounding there;
 * the second, to double, can only go wrong on an exact midpoint, which is detected), and the
 * rest through strtod in the C locale (glibc's is correctly rounded).
 */
#define PY_SSIZE_T_CLEAN
#define _GNU_SOURCE
#include <Python.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 512
#define SPLIT_BYTES (256 * 1024) /* bodies from this size are read by two threads */
#define MAX_SPAN_LENGTH ((1 << 24) - 1)

enum {
    T_INT = 0,      /* JSON integer, numbers[] as int64 */
    T_FLOAT = 1,    /* JSON number with fraction or exponent, numbers[] as double */
    T_TRUE = 2,
    T_FALSE = 3,
    T_NULL = 4,
    T_STR = 5,      /* any other string (escapes included) */
    T_S_INT = 6,    /* "[+-]digits" within int64, numbers[] as int64 */
    T_S_FLOAT = 7,  /* other plain decimal text with a finite value, numbers[] as double */
    T_S_MISSING = 8, /* "", "na", "nan", "null", "none" in any case */
    T_S_TRUE = 9,   /* "true", "yes", "y", "t" in any case */
    T_S_FALSE = 10, /* "false", "no", "n", "f" in any case */
    T_S_ONE = 11,   /* exactly "1", numbers[] = 1 */
    T_S_ZERO = 12,  /* exactly "0", numbers[] = 0 */
};

static locale_t C_LOCALE;

typedef struct {
    const unsigned char *p;
    const unsigned char *end;
} Cursor;

static inline void skip_ws(Cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t')) c->p++;
}

static inline int is_digit(unsigned char ch) { return (unsigned char)(ch - '0') < 10; }

/* ---- numbers ---------------------------------------------------------------------------- */

static const double POW10_DOUBLE[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                      1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
#define LONG_DOUBLE_POWERS 28
static long double POW10_LONG[LONG_DOUBLE_POWERS]; /* 10^0 .. 10^27: exact with a 64-bit significand */

static inline uint64_t load8(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Eight ASCII digits at once (little-endian), as in simdjson and fast_float. */
static inline int eight_digits(uint64_t v) {
    return !(((v + 0x4646464646464646ULL) | (v - 0x3030303030303030ULL)) & 0x8080808080808080ULL);
}

static inline uint32_t eight_digits_value(uint64_t v) {
    v = (v & 0x0F0F0F0F0F0F0F0FULL) * 2561 >> 8;
    v = (v & 0x00FF00FF00FF00FFULL) * 6553601 >> 16;
    return (uint32_t)((v & 0x0000FFFF0000FFFFULL) * 42949672960001ULL >> 32);
}

/* Whether a long double lies exactly halfway between two adjacent doubles: only then can its
 * rounding to double differ from the correct rounding of the value it approximates. */
static inline int is_double_midpoint(long double r, double d) {
#if LDBL_MANT_DIG == 64 && (defined(__x86_64__) || defined(__i386__))
    (void)d;
    uint64_t significand;
    memcpy(&significand, &r, sizeof significand); /* x87 extended: the 64-bit significand first */
    return (significand & 0x7FF) == 0x400;         /* the 11 bits below a double's 53: 100 0000 0000 */
#else
    long double diff = r - (long double)d;
    long double up = (long double)nextafter(d, INFINITY) - (long double)d;
    long double down = (long double)d - (long double)nextafter(d, -INFINITY);
    return (diff > 0 && diff * 2 == up) || (diff < 0 && -diff * 2 == down);
#endif
}

typedef struct {
    uint64_t w;      /* the first 19 significant digits */
    int significant; /* how many significant digits there were */
    int exponent;    /* value = w * 10^exponent when significant <= 19 */
} Decimal;

/* Digits, an optional fraction and exponent, from p (after any sign). Returns the end, or NULL
 * when there is no digit or the exponent has none. Grammar checks beyond that are the caller's. */
static inline __attribute__((always_inline)) const unsigned char *read_decimal(const unsigned char *p, const unsigned char *end, Decimal *out,
                                         int *integer_digits, int *fraction_digits, int *has_exponent) {
    uint64_t w = 0;
    int significant = 0, exponent = 0;
    const unsigned char *start = p;
    while (p < end && *p == '0') p++;
    while (p + 8 <= end && significant + 8 <= 19 && eight_digits(load8(p))) {
        w = w * 100000000 + eight_digits_value(load8(p));
        significant += 8;
        p += 8;
    }
    for (; p < end && is_digit(*p); p++, significant++)
        if (significant < 19) w = w * 10 + (uint64_t)(*p - '0');
        else exponent++;
    *integer_digits = (int)(p - start);
    *fraction_digits = 0;
    *has_exponent = 0;
    if (p < end && *p == '.') {
        p++;
        const unsigned char *fraction = p;
        if (significant == 0)
            for (; p < end && *p == '0'; p++) exponent--;
        while (p + 8 <= end && significant + 8 <= 19 && eight_digits(load8(p))) {
            w = w * 100000000 + eight_digits_value(load8(p));
            significant += 8;
            exponent -= 8;
            p += 8;
        }
        for (; p < end && is_digit(*p); p++, significant++)
            if (significant < 19) {
                w = w * 10 + (uint64_t)(*p - '0');
                exponent--;
            }
        *fraction_digits = (int)(p - fraction);
    }
    if (*integer_digits + *fraction_digits == 0) return NULL;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        *has_exponent = 1;
        int sign = 1, e = 0;
        if (p < end && (*p == '+' || *p == '-')) {
            if (*p == '-') sign = -1;
            p++;
        }
        if (p >= end || !is_digit(*p)) return NULL;
        for (; p < end && is_digit(*p); p++)
            if (e < 100000) e = e * 10 + (*p - '0');
        exponent += sign * e;
    }
    out->w = w;
    out->significant = significant;
    out->exponent = exponent;
    return p;
}

/* The correctly rounded double of text [start, stop) (sign included) whose digits are in dec.
 * Returns 0 when the value is beyond the double range (orjson refuses it). */
static int decimal_to_double(const Decimal *dec, int negative, const unsigned char *start, const unsigned char *stop,
                             double *out) {
    double d;
    uint64_t w = dec->w;
    int exponent = dec->exponent;
    if (dec->significant == 0) {
        d = 0.0;
    } else if (dec->significant <= 19 && w < ((uint64_t)1 << 53) && exponent >= -22 && exponent <= 22) {
        d = exponent >= 0 ? (double)w * POW10_DOUBLE[exponent] : (double)w / POW10_DOUBLE[-exponent];
    } else if (LDBL_MANT_DIG >= 64 && dec->significant <= 19 && exponent >= -(LONG_DOUBLE_POWERS - 1) &&
               exponent <= LONG_DOUBLE_POWERS - 1) {
        long double r = exponent >= 0 ? (long double)w * POW10_LONG[exponent] : (long double)w / POW10_LONG[-exponent];
        d = (double)r;
        if (is_double_midpoint(r, d)) goto slow;
    } else {
        goto slow;
    }
    *out = negative ? -d : d;
    return 1;
slow: {
    char buffer[128];
    char *text = buffer;
    size_t n = (size_t)(stop - start);
    if (n + 1 > sizeof buffer) {
        text = malloc(n + 1);
        if (text == NULL) return 0;
    }
    memcpy(text, start, n);
    text[n] = '\0';
    char *text_end = NULL;
    double value = strtod_l(text, &text_end, C_LOCALE);
    int ok = text_end == text + n && isfinite(value);
    if (text != buffer) free(text);
    if (!ok) return 0;
    *out = value;
    return 1;
}
}

/* A JSON number at c->p: its cell (T_INT with int64, or T_FLOAT with double). 0 on a grammar
 * error, an integer beyond int64 or a float beyond the double range. */
static inline __attribute__((always_inline)) int read_json_number(Cursor *c, uint8_t *tag, uint64_t *number) {
    const unsigned char *start = c->p, *p = c->p;
    int negative = p < c->end && *p == '-';
    p += negative;
    if (p >= c->end || !is_digit(*p)) return 0;
    if (*p == '0' && p + 1 < c->end && is_digit(p[1])) return 0; /* no leading zeros in JSON */
    Decimal dec;
    int integer_digits, fraction_digits, has_exponent;
    const unsigned char *stop = read_decimal(p, c->end, &dec, &integer_digits, &fraction_digits, &has_exponent);
    if (stop == NULL || integer_digits == 0) return 0;
    int is_integer = stop == p + integer_digits;
    if (!is_integer && p[integer_digits] == '.' && fraction_digits == 0) return 0; /* "1." */
    c->p = stop;
    if (is_integer) {
        /* an integer: orjson gives int within 64 bits; beyond int64 is left to it */
        if (dec.significant > 19 || (dec.significant == 19 && dec.w > (uint64_t)INT64_MAX + negative)) return 0;
        int64_t value = negative ? (int64_t)(0 - dec.w) : (int64_t)dec.w;
        *tag = T_INT;
        memcpy(number, &value, 8);
        return 1;
    }
    double value;
    if (!decimal_to_double(&dec, negative, start, stop, &value)) return 0;
    *tag = T_FLOAT;
    memcpy(number, &value, 8);
    return 1;
}

/* ---- strings ---------------------------------------------------------------------------- */

/* One UTF-8 sequence at p (its first byte >= 0x80) as Python and orjson accept it: no overlong
 * forms, no surrogates, nothing beyond U+10FFFF. Returns its length, 0 when invalid. */
static int utf8_sequence(const unsigned char *p, const unsigned char *end) {
    unsigned char b = p[0];
    int n;
    unsigned char low = 0x80, high = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) n = 2;
    else if (b >= 0xE0 && b <= 0xEF) {
        n = 3;
        if (b == 0xE0) low = 0xA0;
        if (b == 0xED) high = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4;
        if (b == 0xF0) low = 0x90;
        if (b == 0xF4) high = 0x8F;
    } else return 0;
    if (end - p < n || p[1] < low || p[1] > high) return 0;
    for (int i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return n;
}

static int hex4(const unsigned char *p) {
    int value = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char ch = p[i];
        int digit = is_digit(ch) ? ch - '0' : (ch | 0x20) >= 'a' && (ch | 0x20) <= 'f' ? (ch | 0x20) - 'a' + 10 : -1;
        if (digit < 0) return -1;
        value = value * 16 + digit;
    }
    return value;
}

/* A JSON string at c->p (a quote), validated as orjson validates it (escapes, surrogate pairs,
 * UTF-8): 0 when invalid. *escaped tells whether it held any escape. */
static inline int scan_string(Cursor *c, int *escaped) {
    const unsigned char *p = c->p + 1, *end = c->end;
    *escaped = 0;
    for (;;) {
        while (p < end && *p != '"' && *p != '\\' && *p >= 0x20 && *p < 0x80) p++;
        if (p >= end || *p < 0x20) return 0;
        if (*p == '"') {
            c->p = p + 1;
            return 1;
        }
        if (*p >= 0x80) {
            int n = utf8_sequence(p, end);
            if (n == 0) return 0;
            p += n;
            continue;
        }
        *escaped = 1;
        if (p + 1 >= end) return 0;
        unsigned char e = p[1];
        if (e == 'u') {
            if (end - p < 6) return 0;
            int unit = hex4(p + 2);
            if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF)) return 0;
            p += 6;
            if (unit >= 0xD800 && unit <= 0xDBFF) { /* a high surrogate needs its low one */
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return 0;
                int low = hex4(p + 2);
                if (low < 0xDC00 || low > 0xDFFF) return 0;
                p += 6;
            }
        } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
            p += 2;
        } else {
            return 0;
        }
    }
}

static int lower_is(const unsigned char *s, size_t n, const char *word) {
    if (strlen(word) != n) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = s[i];
        if (ch >= 'A' && ch <= 'Z') ch = (unsigned char)(ch | 0x20);
        if (ch != (unsigned char)word[i]) return 0;
    }
    return 1;
}

static int any_of(const unsigned char *s, size_t n, const char *const *words) {
    for (; *words; words++)
        if (lower_is(s, n, *words)) return 1;
    return 0;
}

static const char *const MISSING_TEXT[] = {"", "na", "nan", "null", "none", NULL};
static const char *const TRUE_TEXT[] = {"true", "yes", "y", "t", NULL};
static const char *const FALSE_TEXT[] = {"false", "no", "n", "f", NULL};

/* What a string without escapes means to the column conversions (byom_scorer.convert). */
static uint8_t classify_text(const unsigned char *s, size_t n, uint64_t *number) {
    if (n == 1 && (*s == '0' || *s == '1')) {
        int64_t value = *s - '0';
        memcpy(number, &value, 8);
        return value ? T_S_ONE : T_S_ZERO;
    }
    if (n <= 5) {
        if (any_of(s, n, MISSING_TEXT)) return T_S_MISSING;
        if (any_of(s, n, TRUE_TEXT)) return T_S_TRUE;
        if (any_of(s, n, FALSE_TEXT)) return T_S_FALSE;
    }
    if (n == 0 || n > 64) return T_STR;
    const unsigned char *p = s, *end = s + n;
    int negative = 0;
    if (*p == '+' || *p == '-') negative = *p++ == '-';
    Decimal dec;
    int integer_digits, fraction_digits, has_exponent;
    const unsigned char *stop = read_decimal(p, end, &dec, &integer_digits, &fraction_digits, &has_exponent);
    if (stop != end) return T_STR;
    int has_point = integer_digits < (int)(end - p) && p[integer_digits] == '.';
    /* "-0" is -0.0 to float() but 0 to int(): the float reading keeps the sign */
    if (!has_point && !has_exponent && !(negative && dec.w == 0) && dec.significant <= 19 &&
        !(dec.significant == 19 && dec.w > (uint64_t)INT64_MAX + negative)) {
        int64_t value = negative ? (int64_t)(0 - dec.w) : (int64_t)dec.w;
        memcpy(number, &value, 8);
        return T_S_INT;
    }
    double value;
    if (!decimal_to_double(&dec, negative, s, end, &value)) return T_STR;
    memcpy(number, &value, 8);
    return T_S_FLOAT;
}

/* ---- memory ------------------------------------------------------------------------------ */

/* A few freed blocks kept for the next request: fresh pages fault in one by one (a quarter of the
 * time of a large parse, measured), recycled ones are already mapped. Bounded in count and size. */
#define POOL_SLOTS 8
#define POOL_MIN_BYTES ((size_t)64 << 10)
#define POOL_MAX_BYTES ((size_t)256 << 20)
static struct {
    void *data;
    size_t capacity;
} POOL[POOL_SLOTS];
static pthread_mutex_t POOL_LOCK = PTHREAD_MUTEX_INITIALIZER;

/* A block of at least `size` bytes; *capacity gets its real size. */
static void *pool_take(size_t size, size_t *capacity) {
    void *data = NULL;
    pthread_mutex_lock(&POOL_LOCK);
    int best = -1;
    for (int i = 0; i < POOL_SLOTS; i++)
        if (POOL[i].data && POOL[i].capacity >= size && (best < 0 || POOL[i].capacity < POOL[best].capacity)) best = i;
    if (best >= 0) {
        data = POOL[best].data;
        *capacity = POOL[best].capacity;
        POOL[best].data = NULL;
    }
    pthread_mutex_unlock(&POOL_LOCK);
    if (data == NULL) {
        data = malloc(size ? size : 1);
        *capacity = size;
    }
    return data;
}

static void pool_give(void *data, size_t capacity) {
    if (data == NULL) return;
    if (capacity >= POOL_MIN_BYTES && capacity <= POOL_MAX_BYTES) {
        pthread_mutex_lock(&POOL_LOCK);
        int slot = -1;
        for (int i = 0; i < POOL_SLOTS; i++)
            if (POOL[i].data == NULL) {
                slot = i;
                break;
            } else if (slot < 0 || POOL[i].capacity < POOL[slot].capacity) {
                slot = i; /* full: replace the smallest block if this one is larger */
            }
        if (POOL[slot].data == NULL || POOL[slot].capacity < capacity) {
            void *evicted = POOL[slot].data;
            POOL[slot].data = data;
            POOL[slot].capacity = capacity;
            data = evicted;
        }
        pthread_mutex_unlock(&POOL_LOCK);
    }
    free(data);
}

/* ---- the rows array ----------------------------------------------------------------------- */

typedef struct {
    uint8_t *tags;
    uint64_t *numbers;
    uint64_t *spans;
    size_t tags_bytes, numbers_bytes, spans_bytes; /* allocated */
    Py_ssize_t cells, capacity; /* in cells */
    Py_ssize_t rows, width;     /* width -1 until the first row */
} Cells;

static void cells_free(Cells *cells) {
    pool_give(cells->tags, cells->tags_bytes);
    pool_give(cells->numbers, cells->numbers_bytes);
    pool_give(cells->spans, cells->spans_bytes);
    cells->tags = NULL;
    cells->numbers = NULL;
    cells->spans = NULL;
    cells->cells = cells->capacity = 0;
}

/* Room for every cell `bytes` of JSON can hold (a cell takes at least two bytes: "1,"), so the
 * hot loop never reallocates; untouched pages of the allocation cost nothing. */
static int cells_allocate(Cells *cells, Py_ssize_t bytes) {
    Py_ssize_t capacity = bytes / 2 + 1;
    cells->tags = pool_take((size_t)capacity, &cells->tags_bytes);
    cells->numbers = pool_take((size_t)capacity * 8, &cells->numbers_bytes);
    cells->spans = pool_take((size_t)capacity * 8, &cells->spans_bytes);
    cells->cells = 0;
    cells->capacity = capacity;
    return cells->tags && cells->numbers && cells->spans;
}

/* One cell at c->p: its tag, number and (for strings) packed span. 0 when invalid. */
static inline __attribute__((always_inline)) int read_cell(Cursor *c, const unsigned char *base, uint8_t *tag_out,
                                                          uint64_t *number_out, uint64_t *span_out) {
    uint8_t tag;
    uint64_t number = 0;
    const unsigned char *p = c->p;
    if (p >= c->end) return 0;
    switch (*p) {
    case '"': {
        int escaped;
        if (!scan_string(c, &escaped)) return 0;
        size_t length = (size_t)(c->p - p);
        if (length > MAX_SPAN_LENGTH) return 0;
        tag = escaped ? T_STR : classify_text(p + 1, length - 2, &number);
        *span_out = ((uint64_t)(p - base) << 24) | length;
        break;
    }
    case 't':
        if (c->end - p < 4 || memcmp(p, "true", 4)) return 0;
        c->p += 4;
        tag = T_TRUE;
        break;
    case 'f':
        if (c->end - p < 5 || memcmp(p, "false", 5)) return 0;
        c->p += 5;
        tag = T_FALSE;
        break;
    case 'n':
        if (c->end - p < 4 || memcmp(p, "null", 4)) return 0;
        c->p += 4;
        tag = T_NULL;
        break;
    default:
        if (!read_json_number(c, &tag, &number)) return 0;
    }
    *tag_out = tag;
    *number_out = number;
    return 1;
}

typedef enum { ROWS_FAIL = 0, ROWS_DONE = 1, ROWS_AT_JOIN = 2 } RowsOutcome;

/* Rows from cursor->p, which is at a row's '[', to the ']' closing the rows array (consumed).
 * Stops with ROWS_AT_JOIN when a row would start exactly at `join` (another thread read on).
 * Works on local copies: stores through the uint8_t tags may alias anything in C, and would
 * otherwise make the compiler reload the cursor and counters after every cell. */
static RowsOutcome read_rows(Cursor *cursor, const unsigned char *base, Cells *cells, const unsigned char *join) {
    Cursor c = *cursor;
    uint8_t *const tags = cells->tags;
    uint64_t *const numbers = cells->numbers;
    uint64_t *const spans = cells->spans;
    const Py_ssize_t capacity = cells->capacity;
    Py_ssize_t n = cells->cells, rows = cells->rows, width = cells->width;
    RowsOutcome outcome = ROWS_FAIL;
    for (;;) {
        if (c.p == join) {
            outcome = ROWS_AT_JOIN;
            break;
        }
        if (c.p >= c.end || *c.p != '[') break;
        c.p++;
        skip_ws(&c);
        Py_ssize_t cells_in_row = 0;
        if (c.p < c.end && *c.p == ']') {
            c.p++;
        } else {
            for (;;) {
                uint8_t tag;
                uint64_t number, span = 0;
                if (n == capacity || !read_cell(&c, base, &tag, &number, &span)) goto out;
                tags[n] = tag;
                numbers[n] = number;
                spans[n] = span;
                n++;
                cells_in_row++;
                skip_ws(&c);
                if (c.p >= c.end) goto out;
                if (*c.p == ']') {
                    c.p++;
                    break;
                }
                if (*c.p != ',') goto out;
                c.p++;
                skip_ws(&c);
            }
        }
        if (width < 0) width = cells_in_row;
        else if (width != cells_in_row) break;
        rows++;
        skip_ws(&c);
        if (c.p >= c.end) break;
        if (*c.p == ']') {
            c.p++;
            outcome = ROWS_DONE;
            break;
        }
        if (*c.p != ',') break;
        c.p++;
        skip_ws(&c);
    }
out:
    *cursor = c;
    cells->cells = n;
    cells->rows = rows;
    cells->width = width;
    return outcome;
}

typedef struct {
    char pad_before[128]; /* its own cache lines: the other thread writes its cells all the time */
    Cursor cursor;
    const unsigned char *base;
    Cells cells;
    RowsOutcome outcome;
    char pad_after[128];
} Speculation;

static void *speculate(void *arg) {
    Speculation *s = arg;
    Cursor cursor = s->cursor;
    Cells cells = s->cells;
    s->outcome = read_rows(&cursor, s->base, &cells, NULL);
    s->cursor = cursor;
    s->cells = cells;
    return NULL;
}

/* A plausible row start in the second half of the body: '[' after "]," (whitespace allowed). */
static const unsigned char *guess_row_start(const unsigned char *base, const unsigned char *end) {
    const unsigned char *p = base + (end - base) / 2;
    while ((p = memchr(p, ']', (size_t)(end - p))) != NULL) {
        const unsigned char *q = p + 1;
        while (q < end && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t')) q++;
        if (q < end && *q == ',') {
            q++;
            while (q < end && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t')) q++;
            if (q < end && *q == '[' && q + 1 < end && q[1] != '[') return q;
        }
        p++;
    }
    return NULL;
}

/* ---- the document --------------------------------------------------------------------------- */

static int skip_value(Cursor *c, int depth) {
    int escaped;
    if (depth > MAX_DEPTH || c->p >= c->end) return 0;
    switch (*c->p) {
    case '"':
        return scan_string(c, &escaped);
    case 't':
        if (c->end - c->p < 4 || memcmp(c->p, "true", 4)) return 0;
        c->p += 4;
        return 1;
    case 'f':
        if (c->end - c->p < 5 || memcmp(c->p, "false", 5)) return 0;
        c->p += 5;
        return 1;
    case 'n':
        if (c->end - c->p < 4 || memcmp(c->p, "null", 4)) return 0;
        c->p += 4;
        return 1;
    case '[':
    case '{': {
        int object = *c->p == '{';
        unsigned char close = object ? '}' : ']';
        c->p++;
        skip_ws(c);
        if (c->p < c->end && *c->p == close) {
            c->p++;
            return 1;
        }
        for (;;) {
            if (object) {
                if (c->p >= c->end || *c->p != '"' || !scan_string(c, &escaped)) return 0;
                skip_ws(c);
                if (c->p >= c->end || *c->p != ':') return 0;
                c->p++;
                skip_ws(c);
            }
            if (!skip_value(c, depth + 1)) return 0;
            skip_ws(c);
            if (c->p >= c->end) return 0;
            if (*c->p == close) {
                c->p++;
                return 1;
            }
            if (*c->p != ',') return 0;
            c->p++;
            skip_ws(c);
        }
    }
    default: {
        uint8_t tag;
        uint64_t number;
        return read_json_number(c, &tag, &number);
    }
    }
}

typedef struct {
    Py_ssize_t key_start, key_end, value_start, value_end;
} Span;

typedef struct {
    Span *members;
    Py_ssize_t count, capacity;
    int has_rows;
    Cells rows;
    uint16_t *kinds; /* per column, a bit per tag that occurs in it */
} Document;

/* Which tags occur in each column: most columns hold one kind, and need no per-cell masks. */
static int column_kinds(Document *doc) {
    Cells *cells = &doc->rows;
    Py_ssize_t width = cells->width > 0 ? cells->width : 0;
    doc->kinds = calloc((size_t)width + 1, sizeof(uint16_t));
    if (doc->kinds == NULL) return 0;
    const uint8_t *tag = cells->tags;
    for (Py_ssize_t row = 0; row < cells->rows; row++)
        for (Py_ssize_t j = 0; j < width; j++) doc->kinds[j] |= (uint16_t)(1u << *tag++);
    return 1;
}

static int add_member(Document *doc, Span span) {
    if (doc->count == doc->capacity) {
        Py_ssize_t capacity = doc->capacity ? doc->capacity * 2 : 8;
        Span *members = realloc(doc->members, (size_t)capacity * sizeof(Span));
        if (members == NULL) return 0;
        doc->members = members;
        doc->capacity = capacity;
    }
    doc->members[doc->count++] = span;
    return 1;
}

/* Appends `more`'s cells to `cells` (same width; `cells` has room for them by construction). */
static int cells_append(Cells *cells, const Cells *more) {
    if (more->rows == 0) return 1;
    if (cells->width >= 0 && cells->width != more->width) return 0;
    if (cells->cells + more->cells > cells->capacity) return 0;
    memcpy(cells->tags + cells->cells, more->tags, (size_t)more->cells);
    memcpy(cells->numbers + cells->cells, more->numbers, (size_t)more->cells * 8);
    memcpy(cells->spans + cells->cells, more->spans, (size_t)more->cells * 8);
    cells->cells += more->cells;
    cells->rows += more->rows;
    cells->width = more->width;
    return 1;
}

/* The rows array at c->p, into doc->rows (replacing an earlier "rows": the last one counts).
 * A large array is read by two threads: the other one starts at a guessed row in the second
 * half; its rows count only if this thread then arrives at exactly that row's start. */
static int read_rows_value(Cursor *c, const unsigned char *base, Document *doc, int threads) {
    cells_free(&doc->rows);
    doc->rows.rows = 0;
    doc->rows.width = -1;
    doc->has_rows = 1;
    if (c->p >= c->end || *c->p != '[') return 0;
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        doc->rows.width = 0;
        return 1;
    }
    if (!cells_allocate(&doc->rows, c->end - c->p)) return 0;
    Speculation *other = NULL;
    pthread_t thread;
    int started = 0;
    const unsigned char *guess = NULL;
    if (threads > 1 && c->end - c->p >= SPLIT_BYTES) {
        guess = guess_row_start(c->p, c->end);
        if (guess != NULL && (other = calloc(1, sizeof *other)) != NULL) {
            other->cursor.p = guess;
            other->cursor.end = c->end;
            other->base = base;
            other->cells.width = -1;
            other->outcome = ROWS_FAIL;
            started = cells_allocate(&other->cells, c->end - guess) &&
                      pthread_create(&thread, NULL, speculate, other) == 0;
        }
    }
    Cursor cursor = *c;
    Cells cells = doc->rows;
    RowsOutcome outcome = read_rows(&cursor, base, &cells, started ? guess : NULL);
    if (started) {
        pthread_join(thread, NULL);
        if (outcome == ROWS_AT_JOIN) {
            if (other->outcome == ROWS_DONE && cells_append(&cells, &other->cells)) {
                outcome = ROWS_DONE;
                cursor.p = other->cursor.p;
            } else {
                outcome = ROWS_FAIL;
            }
        }
    }
    if (other != NULL) {
        cells_free(&other->cells);
        free(other);
    }
    *c = cursor;
    doc->rows = cells;
    if (doc->rows.width < 0) doc->rows.width = 0;
    return outcome == ROWS_DONE;
}

static int read_document(const unsigned char *base, Py_ssize_t length, Document *doc, int threads) {
    Cursor c = {base, base + length};
    skip_ws(&c);
    if (c.p >= c.end || *c.p != '{') return 0;
    c.p++;
    skip_ws(&c);
    if (c.p < c.end && *c.p == '}') {
        c.p++;
    } else {
        for (;;) {
            int escaped;
            const unsigned char *key = c.p;
            if (c.p >= c.end || *c.p != '"' || !scan_string(&c, &escaped)) return 0;
            const unsigned char *key_end = c.p;
            skip_ws(&c);
            if (c.p >= c.end || *c.p != ':') return 0;
            c.p++;
            skip_ws(&c);
            const unsigned char *value = c.p;
            if (key_end - key == 6 && memcmp(key, "\"rows\"", 6) == 0) {
                if (!read_rows_value(&c, base, doc, threads)) return 0;
            } else {
                if (!skip_value(&c, 1)) return 0;
                Span span = {key - base, key_end - base, value - base, c.p - base};
                if (!add_member(doc, span)) return 0;
            }
            skip_ws(&c);
            if (c.p >= c.end) return 0;
            if (*c.p == '}') {
                c.p++;
                break;
            }
            if (*c.p != ',') return 0;
            c.p++;
            skip_ws(&c);
        }
    }
    skip_ws(&c);
    return c.p == c.end;
}

/* A malloc'd array handed to Python without a copy: numpy.frombuffer reads (and may write) it. */
typedef struct {
    PyObject_HEAD
    void *data;
    Py_ssize_t size;
    size_t allocated;
} Owned;

static void owned_dealloc(Owned *self) {
    pool_give(self->data, self->allocated);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int owned_getbuffer(Owned *self, Py_buffer *view, int flags) {
    return PyBuffer_FillInfo(view, (PyObject *)self, self->data ? self->data : (void *)"", self->size, 0, flags);
}

static PyBufferProcs OWNED_BUFFER = {.bf_getbuffer = (getbufferproc)owned_getbuffer};

static PyTypeObject OWNED_TYPE = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "byom_rows.Owned",
    .tp_basicsize = sizeof(Owned),
    .tp_dealloc = (destructor)owned_dealloc,
    .tp_as_buffer = &OWNED_BUFFER,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Memory the parser filled, owned by this object.",
};

/* Takes ownership of *data (NULL afterwards), also when it fails. */
static PyObject *owned(void **data, Py_ssize_t size, size_t allocated) {
    Owned *self = PyObject_New(Owned, &OWNED_TYPE);
    if (self == NULL) {
        pool_give(*data, allocated);
        *data = NULL;
        return NULL;
    }
    self->data = *data;
    self->size = size;
    self->allocated = allocated;
    *data = NULL;
    return (PyObject *)self;
}

static PyObject *parse(PyObject *self, PyObject *args) {
    Py_buffer view;
    int threads = 1;
    if (!PyArg_ParseTuple(args, "y*|i", &view, &threads)) return NULL;
    Document doc = {0};
    doc.rows.width = -1;
    int ok;
    Py_BEGIN_ALLOW_THREADS
    ok = read_document(view.buf, view.len, &doc, threads) && (!doc.has_rows || column_kinds(&doc));
    Py_END_ALLOW_THREADS
    PyObject *result = NULL;
    if (!ok) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    PyObject *members = PyList_New(doc.count);
    if (members == NULL) goto done;
    for (Py_ssize_t i = 0; i < doc.count; i++) {
        Span s = doc.members[i];
        PyObject *span = Py_BuildValue("(nnnn)", s.key_start, s.key_end, s.value_start, s.value_end);
        if (span == NULL) {
            Py_DECREF(members);
            goto done;
        }
        PyList_SET_ITEM(members, i, span);
    }
    PyObject *rows;
    if (!doc.has_rows) {
        rows = Py_NewRef(Py_None);
    } else {
        Cells *cells = &doc.rows;
        PyObject *tags = owned((void **)&cells->tags, cells->cells, cells->tags_bytes);
        PyObject *numbers = owned((void **)&cells->numbers, cells->cells * 8, cells->numbers_bytes);
        PyObject *spans = owned((void **)&cells->spans, cells->cells * 8, cells->spans_bytes);
        PyObject *kinds = owned((void **)&doc.kinds, cells->width * 2, 0);
        rows = tags && numbers && spans && kinds
                   ? Py_BuildValue("(nnOOOO)", cells->rows, cells->width, tags, numbers, spans, kinds)
                   : NULL;
        Py_XDECREF(tags);
        Py_XDECREF(numbers);
        Py_XDECREF(spans);
        Py_XDECREF(kinds);
    }
    if (rows == NULL) {
        Py_DECREF(members);
        goto done;
    }
    result = Py_BuildValue("(NN)", members, rows);
done:
    free(doc.members);
    free(doc.kinds);
    cells_free(&doc.rows);
    PyBuffer_Release(&view);
    return result;
}

/* strings(body, spans): the str of each packed span; None where the string has escapes. */
static PyObject *strings(PyObject *self, PyObject *args) {
    Py_buffer body, spans;
    if (!PyArg_ParseTuple(args, "y*y*", &body, &spans)) return NULL;
    Py_ssize_t count = spans.len / 8;
    PyObject *out = PyList_New(count);
    if (out == NULL) goto done;
    const uint64_t *packed = spans.buf;
    for (Py_ssize_t i = 0; i < count; i++) {
        uint64_t span;
        memcpy(&span, packed + i, 8);
        Py_ssize_t start = (Py_ssize_t)(span >> 24), length = (Py_ssize_t)(span & MAX_SPAN_LENGTH);
        if (start < 0 || length < 2 || start + length > body.len) {
            PyErr_SetString(PyExc_ValueError, "a span outside the body");
            Py_CLEAR(out);
            goto done;
        }
        const char *text = (const char *)body.buf + start + 1;
        PyObject *item;
        if (memchr(text, '\\', (size_t)(length - 2)) != NULL) {
            item = Py_NewRef(Py_None);
        } else {
            item = PyUnicode_DecodeUTF8(text, length - 2, "strict");
            if (item == NULL) {
                Py_CLEAR(out);
                goto done;
            }
        }
        PyList_SET_ITEM(out, i, item);
    }
done:
    PyBuffer_Release(&body);
    PyBuffer_Release(&spans);
    return out;
}

static PyObject *parse_float(PyObject *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    Cursor c = {view.buf, (const unsigned char *)view.buf + view.len};
    uint8_t tag;
    uint64_t number;
    int ok = read_json_number(&c, &tag, &number) && c.p == c.end;
    PyBuffer_Release(&view);
    if (!ok) Py_RETURN_NONE;
    if (tag == T_INT) {
        int64_t value;
        memcpy(&value, &number, 8);
        return PyLong_FromLongLong(value);
    }
    double value;
    memcpy(&value, &number, 8);
    return PyFloat_FromDouble(value);
}

static PyMethodDef METHODS[] = {
    {"parse", parse, METH_VARARGS, "parse(body, threads=1): (members, rows) or None."},
    {"strings", strings, METH_VARARGS, "strings(body, spans): the strings at packed spans."},
    {"parse_float", parse_float, METH_O, "One JSON number as parse() reads it, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "byom_rows", "Score request bodies to typed cells.", -1,
                                    METHODS};

PyMODINIT_FUNC PyInit_byom_rows(void) {
    long double power = 1.0L;
    for (int i = 0; i < LONG_DOUBLE_POWERS; i++) {
        POW10_LONG[i] = power;
        power *= 10.0L;
    }
    C_LOCALE = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (C_LOCALE == (locale_t)0) return PyErr_NoMemory();
    if (PyType_Ready(&OWNED_TYPE) < 0) return NULL;
    PyObject *module = PyModule_Create(&MODULE);
    if (module == NULL) return NULL;
#define TAG(name) PyModule_AddIntConstant(module, #name, name)
    if (TAG(T_INT) || TAG(T_FLOAT) || TAG(T_TRUE) || TAG(T_FALSE) || TAG(T_NULL) || TAG(T_STR) || TAG(T_S_INT) ||
        TAG(T_S_FLOAT) || TAG(T_S_MISSING) || TAG(T_S_TRUE) || TAG(T_S_FALSE) || TAG(T_S_ONE) || TAG(T_S_ZERO) ||
        PyModule_AddIntConstant(module, "SPLIT_BYTES", SPLIT_BYTES)) {
        Py_DECREF(module);
        return NULL;
    }
#undef TAG
    return module;
}
