/*
 * gen-model.c - check a model file (models/NAME.samodel) and write the C
 * and assembler sources that link it into the analyser.
 *
 *   gen-model FILE NAME CLASSES LANES OUT_C OUT_S
 *
 * The file must have the layout of src/analyzer/model_internal.h: magic,
 * format version, header size, the model NAME, the CLASSES (comma
 * separated, in the order the C code expects), LANES per row, sane
 * feature parameters, a table of exactly the declared size and a matching
 * FNV-1a 64 checksum.  Anything else stops the build with a message saying
 * what is wrong.  OUT_S pulls the file's bytes in with .incbin (no parsing
 * at run time); OUT_C describes it (sa_model_NAME_data).  Host C only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER 256
#define FORMAT 2				/* the newest read; 1 has no calibration slot */
#define CAL_SLOT 7
#define KNOWN_FLAGS 0xfffu	/* model_internal.h and language_internal.h */

static const char *file_name;

static void
die(const char *fmt, ...)
{
	va_list		ap;

	fprintf(stderr, "gen-model: %s: ", file_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ngen-model: refusing this model file; retrain it with "
			"tools/train_models.py or restore it from git\n");
	exit(1);
}

static uint32_t
u32(const unsigned char *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint64_t
u64(const unsigned char *p)
{
	return (uint64_t) u32(p) | (uint64_t) u32(p + 4) << 32;
}

static double
f64(const unsigned char *p)
{
	uint64_t	bits = u64(p);
	double		d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

/* A NUL-padded string field of n bytes, NUL-terminated within it. */
static const char *
field_str(const unsigned char *p, size_t n, const char *what)
{
	if (memchr(p, '\0', n) == NULL)
		die("%s field is not NUL-terminated", what);
	return (const char *) p;
}

int
main(int argc, char **argv)
{
	FILE	   *f;
	unsigned char *buf;
	size_t		len = 0,
				cap = 1 << 20;
	size_t		n;
	uint32_t	format,
				version,
				ncls,
				lanes,
				bits,
				flags,
				neg,
				cmin,
				cmax,
				table_bytes,
				wtype;
	uint64_t	sum,
				h = 0xcbf29ce484222325u;
	double		cal_a = 0.0,
				cal_c = 0.0;
	const char *name,
			   *classes;
	FILE	   *oc,
			   *os;

	if (argc != 7)
	{
		fprintf(stderr, "usage: gen-model FILE NAME CLASSES LANES OUT_C OUT_S\n");
		return 2;
	}
	file_name = argv[1];
	f = fopen(argv[1], "rb");
	if (f == NULL)
		die("cannot open: %s", strerror(errno));
	buf = malloc(cap);
	while (buf != NULL && (n = fread(buf + len, 1, cap - len, f)) > 0)
	{
		len += n;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	if (buf == NULL)
		die("out of memory");
	fclose(f);

	if (len < HEADER || memcmp(buf, "SAMODEL\0", 8) != 0)
		die("not a model file (bad magic or shorter than the %d-byte header)", HEADER);
	format = u32(buf + 8);
	if (format < 1 || format > FORMAT)
		die("format version %u, this build reads versions 1 to %d", format, FORMAT);
	if (u32(buf + 12) != HEADER)
		die("header size %u, expected %d", u32(buf + 12), HEADER);
	name = field_str(buf + 16, 16, "name");
	if (strcmp(name, argv[2]) != 0)
		die("model name \"%s\", expected \"%s\"", name, argv[2]);
	version = u32(buf + 32);
	ncls = u32(buf + 36);
	lanes = u32(buf + 40);
	bits = u32(buf + 44);
	flags = u32(buf + 48);
	neg = u32(buf + 52);
	cmin = u32(buf + 56);
	cmax = u32(buf + 60);
	table_bytes = u32(buf + 192);
	wtype = u32(buf + 196);
	classes = field_str(buf + 200, 48, "classes");
	if (strcmp(classes, argv[3]) != 0)
		die("classes \"%s\", this build expects \"%s\"", classes, argv[3]);
	if (lanes != (uint32_t) atoi(argv[4]) || ncls < 2 || ncls > lanes ||
		(lanes != 4 && lanes != 7 && lanes != 8))
		die("%u classes in %u lanes, this build expects %s lanes", ncls, lanes, argv[4]);
	if (bits < 8 || bits > 24)
		die("hash bits %u outside 8..24", bits);
	if (flags == 0 || (flags & ~KNOWN_FLAGS) != 0)
		die("feature flags 0x%x unknown to this build", flags);
	if (neg > 16 || ((flags & 0x08) && (cmin < 1 || cmax < cmin || cmax > 8)))
		die("feature parameters out of range (negation scope %u, n-grams %u..%u)", neg, cmin, cmax);
	if (wtype != 1)
		die("weight type %u, this build reads int8 (1)", wtype);
	if ((uint64_t) table_bytes != ((uint64_t) 1 << bits) * lanes)
		die("table size %u does not match 2^%u rows of %u lanes", table_bytes, bits, lanes);
	if (len != (size_t) HEADER + table_bytes)
		die("file is %zu bytes, the header declares %zu", len, (size_t) HEADER + table_bytes);
	for (uint32_t c = 0; c < ncls; c++)
	{
		double		s = f64(buf + 64 + 8 * c),
					b = f64(buf + 128 + 8 * c);

		if (!(s > 0 && s < 1e6) || !(b > -1e6 && b < 1e6))
			die("class %u: scale %g or bias %g not finite or out of range", c, s, b);
	}
	/* format 2: the eighth scale and bias of a model of <= 7 classes */
	if (format >= 2 && ncls <= CAL_SLOT)
	{
		cal_a = f64(buf + 64 + 8 * CAL_SLOT);
		cal_c = f64(buf + 128 + 8 * CAL_SLOT);
		if (!(cal_a >= 0 && cal_a < 100) || !(cal_c > -100 && cal_c < 100))
			die("top-label calibration a %g, c %g not finite or out of range", cal_a, cal_c);
	}
	for (size_t i = 0; i < len; i++)
	{
		if (i == 248)
			i = HEADER;
		if (i >= len)
			break;
		h = (h ^ buf[i]) * 0x100000001b3u;
	}
	sum = u64(buf + 248);
	if (sum != h)
		die("checksum mismatch (header %016llx, contents %016llx): the file is corrupt",
			(unsigned long long) sum, (unsigned long long) h);

	oc = fopen(argv[5], "w");
	os = fopen(argv[6], "w");
	if (oc == NULL || os == NULL)
		die("cannot write the outputs: %s", strerror(errno));
	fprintf(os, "/* GENERATED by tools/gen-model.c from %s; do not edit. */\n"
			"\t.section .rodata\n\t.balign 64\n"
			"\t.globl sa_modelfile_%s\n\t.type sa_modelfile_%s, @object\n"
			"sa_modelfile_%s:\n\t.incbin \"%s\"\n"
			"\t.section .note.GNU-stack,\"\",@progbits\n",
			argv[1], name, name, name, argv[1]);
	fprintf(oc, "/* GENERATED by tools/gen-model.c from %s; do not edit. */\n"
			"#include \"model_internal.h\"\n\n"
			"extern const unsigned char sa_modelfile_%s[];\n\n"
			"const sa_model_data sa_model_%s_data = {\n"
			"\t.name = \"%s\",\n\t.version = %u,\n\t.n_classes = %u,\n\t.lanes = %u,\n"
			"\t.bits = %u,\n\t.flags = 0x%x,\n\t.neg_scope = %u,\n"
			"\t.char_min = %u,\n\t.char_max = %u,\n",
			argv[1], name, name, name, version, ncls, lanes, bits, flags, neg, cmin, cmax);
	fprintf(oc, "\t.scale = {");
	for (int c = 0; c < 8; c++)
		fprintf(oc, "%s%a", c ? ", " : "", f64(buf + 64 + 8 * c));
	fprintf(oc, "},\n\t.bias = {");
	for (int c = 0; c < 8; c++)
		fprintf(oc, "%s%a", c ? ", " : "", f64(buf + 128 + 8 * c));
	fprintf(oc, "},\n\t.cal_a = %a,\n\t.cal_c = %a", cal_a, cal_c);
	fprintf(oc, ",\n\t.checksum = 0x%016llxu,\n"
			"\t.version_string = \"%s-%u-%08llx\",\n"
			"\t.file = sa_modelfile_%s,\n\t.file_len = %zu,\n"
			"\t.table = (const int8_t *) (sa_modelfile_%s + %d),\n};\n",
			(unsigned long long) h, name, version, (unsigned long long) (h >> 32),
			name, len, name, HEADER);
	if (fclose(oc) != 0 || fclose(os) != 0)
		die("cannot write the outputs");
	free(buf);
	return 0;
}
